"""Serving: publish tonight's limits to the serving store and look them up instantly."""

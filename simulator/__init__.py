"""Simulated worlds that feed the landing zone."""

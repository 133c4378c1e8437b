"""Adapters that turn real public data into the landing formats."""

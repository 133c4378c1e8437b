"""Helicopter: pre-approved credit limits for small businesses, computed nightly on a Delta lakehouse."""

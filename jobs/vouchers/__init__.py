"""Vouchers: read the business documents owners hand over, verify them, and keep what they say as tables."""

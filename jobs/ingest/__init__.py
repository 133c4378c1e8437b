"""Ingestion: landing files -> bronze (raw, exactly once per file) -> silver (typed, deduplicated, gated)."""

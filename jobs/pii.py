"""Personal data leaves bronze only as tokens: a keyed hash (HMAC-SHA256) of the value.

The same value always gives the same token, so silver and gold can still join and count on it; without the key
nobody can reverse a token or recompute one from a guessed value (an ID number or a phone has few enough possible
values to be guessed, which is why a plain hash would not do). The key comes from settings (`PII_TOKEN_KEY`).
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from pathlib import Path

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from jobs.errors import PiiKeyError
from jobs.settings import Settings

log = logging.getLogger(__name__)
SHA256_BLOCK = 64


def hmac_sha256(value: Column, key: bytes) -> Column:
    """HMAC-SHA256 of a string column as 64 hex digits (RFC 2104, computed by Spark on the executors); null stays
    null. Equal to Python's `hmac.new(key, value.encode(), "sha256").hexdigest()`."""
    if len(key) > SHA256_BLOCK:
        key = hashlib.sha256(key).digest()
    key = key.ljust(SHA256_BLOCK, b"\0")
    inner_pad, outer_pad = bytes(b ^ 0x36 for b in key), bytes(b ^ 0x5C for b in key)
    inner = F.unhex(F.sha2(F.concat(F.lit(inner_pad), F.encode(value, "UTF-8")), 256))
    return F.sha2(F.concat(F.lit(outer_pad), inner), 256)


def tokenise(df: DataFrame, columns: list[str], key: bytes) -> DataFrame:
    """Replace each of `columns` by its token; a blank value becomes null (nothing to protect, nothing to join)."""
    return df.withColumns({c: F.when(F.trim(F.col(c)) != "", hmac_sha256(F.trim(F.col(c)), key)) for c in columns})


def tokenise_line(df: DataFrame, column: str, positions: list[int], key: bytes) -> DataFrame:
    """A raw CSV line kept for quarantine (a row too broken to parse) with its fields at `positions` (where the
    contract's personal columns sit) replaced by their tokens, so a broken row carries no personal data either."""

    def masked(value: Column, i: Column) -> Column:
        return F.when(i.isin(positions) & (F.trim(value) != ""), hmac_sha256(F.trim(value), key)).otherwise(value)

    return df.withColumn(column, F.array_join(F.transform(F.split(F.col(column), ",", -1), masked), ","))


def token_key(settings: Settings) -> bytes:
    """The tokenising key: PII_TOKEN_KEY, or on a local lakehouse without one a random key kept beside it (so tokens
    stay stable from night to night); a lakehouse on object storage must be given the key."""
    if settings.pii_token_key:
        return settings.pii_token_key.encode()
    if "://" in settings.lakehouse_root:
        raise PiiKeyError("PII_TOKEN_KEY is not set: personal data cannot be tokenised (set it from your secret store)")
    path = Path(settings.lakehouse_root) / "_secrets" / "pii_token.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        path.touch(mode=0o600)
        path.write_text(secrets.token_hex(32))
        log.warning("PII_TOKEN_KEY is not set: generated a key for this local lakehouse at %s", path)
    return path.read_text().strip().encode()

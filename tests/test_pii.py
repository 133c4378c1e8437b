"""Personal data leaves bronze only as HMAC-SHA256 tokens, under a key from settings; ID numbers are judged by their
scheme before that."""

from __future__ import annotations

import hashlib
import hmac
import stat

import pytest

from jobs.errors import PiiKeyError
from jobs.ingest.identity import judged_ids
from jobs.pii import token_key, tokenise, tokenise_line
from jobs.settings import load_settings

VALUES = ["Wang Wei", "11010519491231002X", "13800138000", "王伟", " padded "]


@pytest.mark.parametrize("key", [b"k", b"a key of exactly sixty-four bytes, the block size of SHA-256!!!!", b"x" * 100])
def test_tokens_are_the_standard_hmac_sha256_of_the_value(spark, key):
    df = spark.createDataFrame([(v,) for v in [*VALUES, "", "  ", None]], "v string")
    got = [r.v for r in tokenise(df, ["v"], key).collect()]
    expected = [hmac.new(key, v.strip().encode(), hashlib.sha256).hexdigest() for v in VALUES]
    assert got == [*expected, None, None, None]  # a blank value has nothing to protect: null
    assert hashlib.sha256(VALUES[0].encode()).hexdigest() not in got  # not a plain, guessable hash


def test_a_raw_line_too_broken_to_parse_keeps_no_personal_field(spark):
    key = b"k"
    lines = ["T1,E1,ts,1.00,CNY,qr,payer-7", "T2,E1,ts,1.00,CNY,qr,,success", None]
    df = spark.createDataFrame([(v,) for v in lines], "line string")
    got = [r.line for r in tokenise_line(df, "line", [6], key).collect()]
    token = hmac.new(key, b"payer-7", hashlib.sha256).hexdigest()
    assert got == [f"T1,E1,ts,1.00,CNY,qr,{token}", "T2,E1,ts,1.00,CNY,qr,,success", None]


def test_the_key_comes_from_settings(tmp_path):
    settings = load_settings({"LAKEHOUSE_ROOT": str(tmp_path), "PII_TOKEN_KEY": "from-the-secret-store"})
    assert token_key(settings) == b"from-the-secret-store"
    assert not (tmp_path / "_secrets").exists()


def test_a_local_lakehouse_without_a_key_keeps_a_private_random_one(tmp_path):
    settings = load_settings({"LAKEHOUSE_ROOT": str(tmp_path)})
    first = token_key(settings)
    assert len(first) == 64 and token_key(settings) == first  # stable from night to night
    key_file = tmp_path / "_secrets" / "pii_token.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_a_lakehouse_on_object_storage_must_be_given_the_key():
    with pytest.raises(PiiKeyError, match="PII_TOKEN_KEY is not set"):
        token_key(load_settings({"LAKEHOUSE_ROOT": "s3a://bank/helicopter"}))


def test_owner_id_numbers_are_normalised_and_judged_by_their_scheme_in_clear_text(spark):
    rows = [
        ("ok", "cn-ric", "110105 19491231 002x"),  # spaces and case do not matter
        ("check", "CN-RIC", "110105194912310021"),  # the check character of these 17 digits is X
        ("short", "CN-RIC", "1101051949123100"),
        ("nino", "GB-NINO", "AB 12-34-56 C"),
        ("bad_nino", "GB-NINO", "QQ123456C"),  # QQ is never issued
        ("other", "OTHER", "tax-9981-77"),
        ("unknown", "XX-ID", "123456"),
        ("no_scheme", "", "123456"),
        ("no_number", "CN-RIC", " "),
    ]
    df = spark.createDataFrame(rows, "k string, owner_id_scheme string, owner_id_number string")
    got = {r.k: (r.owner_id_scheme, r.owner_id_number, r._id_problem) for r in judged_ids(df).collect()}
    assert got == {
        "ok": ("CN-RIC", "11010519491231002X", None),
        "check": ("CN-RIC", "110105194912310021", "owner_id_number fails the CN-RIC check"),
        "short": ("CN-RIC", "1101051949123100", "owner_id_number does not match CN-RIC"),
        "nino": ("GB-NINO", "AB123456C", None),
        "bad_nino": ("GB-NINO", "QQ123456C", "owner_id_number does not match GB-NINO"),
        "other": ("OTHER", "TAX998177", None),
        "unknown": ("XX-ID", "123456", "unknown owner_id_scheme XX-ID"),
        "no_scheme": (None, "123456", "owner_id_number without owner_id_scheme"),
        "no_number": ("CN-RIC", None, None),
    }

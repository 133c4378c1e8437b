"""The voucher taxonomy (`schemas/vouchers/taxonomy.yaml`): document types, their fields, labels and rules."""

from __future__ import annotations

import pathlib
from functools import cache

import yaml

TAXONOMY_PATH = pathlib.Path(__file__).resolve().parents[2] / "schemas" / "vouchers" / "taxonomy.yaml"


@cache
def load_taxonomy(path: pathlib.Path = TAXONOMY_PATH) -> dict:
    """The voucher taxonomy: formats and, per type, segments, fields, rules and applicable tampering."""
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def field_specs(voucher_type: str) -> list[dict]:
    """The taxonomy's field specs (name, type, required, labels, own) of a type."""
    return load_taxonomy()["types"][voucher_type]["fields"]


def headline_field(voucher_type: str) -> str | None:
    """The field holding the type's main amount, or None."""
    return load_taxonomy()["types"][voucher_type]["headline"]


def key_fields(voucher_type: str) -> dict[str, str]:
    """The reader's key fields the type prints under a name of its own ({total: amount_due})."""
    return load_taxonomy()["types"][voucher_type].get("key_fields", {})


def judged_over_its_period(voucher_type: str) -> bool:
    """Whether the type's amounts are judged against the sales of the period it reports (`over: period`)."""
    return any(r.get("over") == "period" for r in load_taxonomy()["types"][voucher_type]["rules"])

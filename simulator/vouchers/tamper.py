"""Tampering, and who does it: worse entities tamper more, and subtly: an amount edited while the total is not, a
date moved, another entity's document reused, a document scaled out of line with the business. What was changed is
recorded as drawn (the fields and their values before and after), never by asking a verifier."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from simulator.population import sigmoid
from simulator.vouchers.drawers import Doc, money, uniform
from simulator.vouchers.names import Holder
from simulator.vouchers.taxonomy import add_years, load_taxonomy

TAMPER_KINDS = ("amount_edited", "date_moved", "out_of_line", "reused")

OUT_OF_LINE_FACTOR = (3.2, 4.0)


def draw_tampering(plan: pd.DataFrame, people: list[Holder], rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Tamper kind per document (None when clean) and the row a reused copy copies (-1 otherwise).

    Worse entities tamper more; the kind is drawn among those the type allows; a reused copy takes an earlier
    document of the same type from another entity (none available: the document stays clean).
    """
    types = load_taxonomy()["types"]
    quality = np.array([people[i].quality for i in plan["holder"]])
    tampered = rng.random(len(plan)) < sigmoid(-3.2 - 0.9 * quality)
    pick = rng.random(len(plan))
    kinds = np.full(len(plan), None, dtype=object)
    source = np.full(len(plan), -1, dtype=np.int64)
    seen: dict[str, list[int]] = {}
    holder, vtype = plan["holder"].to_numpy(), plan["voucher_type"].to_numpy()
    for i in range(len(plan)):
        allowed = [k for k in TAMPER_KINDS if k in types[vtype[i]]["tamper"]]
        earlier = seen.setdefault(vtype[i], [])
        if tampered[i]:
            kind = allowed[int(pick[i] * len(allowed))]
            if kind == "reused":
                j = earlier[int(rng.integers(0, len(earlier)))] if earlier else -1
                if j < 0 or holder[j] == holder[i]:
                    kind = None
                source[i] = j if kind else -1
            kinds[i] = kind
        earlier.append(i)
    return kinds, source


def own_value(field: str, h: Holder) -> str:
    return {"legal_representative": h.owner, "address": h.address}.get(field, h.name)


def reuse(source: dict, voucher_type: str, h: Holder) -> dict:
    """Another entity's document with only the fields that name its holder swapped for `h`'s."""
    own = [f["name"] for f in load_taxonomy()["types"][voucher_type]["fields"] if f.get("own")]
    return source | {name: own_value(name, h) for name in own if name in source}


def move_date(fields: dict, strategy: str, doc: Doc, rng: np.random.Generator) -> dict:
    """A date edited so one date rule breaks, the rest of the document untouched."""
    days = dt.timedelta(days=int(rng.integers(3, 46)))
    if strategy == "issue_after_submission":
        return fields | {"issue_date": doc.submitted + days}
    if strategy == "period_shift":
        shift = doc.submitted - fields["period_start"] + dt.timedelta(days=int(rng.integers(30, 181)))
        return fields | {"period_start": fields["period_start"] + shift, "period_end": fields["period_end"] + shift}
    if strategy == "registration_backdated":
        return fields | {
            "registered_date": fields["registered_date"] - dt.timedelta(days=int(rng.integers(365, 5 * 365)))
        }
    if strategy == "expiry_extended":
        return fields | {
            "expiry_date": add_years(fields["issue_date"], int(rng.integers(8, 11))) - dt.timedelta(days=1)
        }
    raise ValueError(f"unknown date strategy {strategy!r}")


def edit_amount(fields: dict, field: str, rng: np.random.Generator) -> dict:
    """One amount inflated by 10-60 % while the amounts it adds up with are left as they were."""
    return fields | {field: money(fields[field] * uniform(rng, 1.1, 1.6) + 1)}

"""The limit policy: from a PD and a business's capacity to a pre-approved limit, in rules a risk committee reads.

The rules live in `limit_policy.yaml`, versioned: a monthly capacity by segment (the largest of the segment's
sources: sales, purchases from core brands, verified voucher revenue, ...), months of that capacity offered by PD band,
hard rules (too new a business, a loan past due), the minimum, the cap and the rounding.
Reason codes: the policy's own reasons first (why declined, or capped), then the features that raised PD most.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from jobs.errors import ContractError
from jobs.quality import suite_json

POLICY_FILE = Path(__file__).with_name("limit_policy.yaml")
COUNTERPARTY_SEGMENT = "brand"  # core firms of supply chains: in the trade graph, never scored
CAPS = {"CAPPED_AT_MAX_LIMIT", "CAPPED_AS_NEW_BUSINESS"}  # reasons told with an approved limit


def registry_segments() -> set[str]:
    """The segments a registry row may have: the value set of the silver.entities gate."""
    for e in suite_json("silver.entities")["expectations"]:
        if e["type"] == "expect_column_values_to_be_in_set" and e["kwargs"]["column"] == "segment":
            return set(e["kwargs"]["value_set"])
    raise ContractError("expectations/silver/entities.json has no value set for segment")


@dataclass(frozen=True)
class Policy:
    version: str
    currency: str
    capacity: dict[str, dict[str, str]]  # segment -> {source name: expression of a monthly amount (DataFrame.eval)}
    pd_bands: list[dict]  # [{max_pd, months}], ascending max_pd
    min_limit: float
    max_limit: float
    round_to: float
    hard_rules: dict

    @property
    def pd_cutoff(self) -> float:
        return self.pd_bands[-1]["max_pd"]


def load_policy(path: Path = POLICY_FILE) -> Policy:
    doc = yaml.safe_load(Path(path).read_text())
    policy = Policy(**doc)
    cutoffs = [band["max_pd"] for band in policy.pd_bands]
    if not cutoffs or cutoffs != sorted(cutoffs):
        raise ContractError(f"{path}: pd_bands must be non-empty and ordered by max_pd, got {cutoffs}")
    borrowing = registry_segments() - {COUNTERPARTY_SEGMENT}
    if set(policy.capacity) != borrowing:
        raise ContractError(
            f"{path}: capacity must size exactly the borrowing segments of the registry's gate "
            f"(expectations/silver/entities.json); unsized: {sorted(borrowing - set(policy.capacity))}, "
            f"unknown: {sorted(set(policy.capacity) - borrowing)}"
        )
    return policy


def monthly_capacity(frame: pd.DataFrame, policy: Policy) -> pd.Series:
    """The largest of the business's segment's capacity sources (a source it lacks counts as 0)."""
    capacity = pd.Series(0.0, index=frame.index)
    for segment, sources in policy.capacity.items():
        rows = frame["segment"] == segment
        if rows.any():
            amounts = [frame[rows].eval(expr).astype("float64").fillna(0.0) for expr in sources.values()]
            capacity[rows] = np.maximum.reduce([np.zeros(rows.sum()), *amounts])
    return capacity


def months_offered(pd_: pd.Series, policy: Policy) -> pd.Series:
    """Months of capacity offered: those of the first band whose max_pd the PD does not exceed."""
    months = pd.Series(0.0, index=pd_.index)
    for band in reversed(policy.pd_bands):  # the first band that holds is the last assigned
        months[pd_ <= band["max_pd"]] = float(band["months"])
    return months


def apply_policy(scored: pd.DataFrame, policy: Policy | None = None) -> pd.DataFrame:
    """(entity_id, segment, pd, drivers, days_registered, overdue, the capacity sources' columns) -> monthly_capacity,
    limit_amount, decision, reason_codes, currency, policy_version. Pandas, so that the night (`mapInPandas`) and one
    business on demand run the same rules."""
    policy = policy or load_policy()
    rules = policy.hard_rules
    capacity = monthly_capacity(scored, policy)
    offer = capacity * months_offered(scored["pd"], policy)
    young = scored["days_registered"] < rules["min_days_registered"]
    # a young business whose verified documents declare its revenue gets a first limit, capped lower
    proven = young & (scored["declared_monthly_revenue"].astype("float64") > 0) & ("new_business_max_limit" in rules)
    cap = pd.Series(float(policy.max_limit), index=scored.index).where(~proven, rules.get("new_business_max_limit"))
    rounded = np.floor(np.minimum(cap, offer) / policy.round_to) * policy.round_to
    eligible = (scored["pd"] <= policy.pd_cutoff) & (capacity > 0)
    checks = [  # (reason, where it holds), in the order the reasons are told
        ("PD_ABOVE_CUTOFF", scored["pd"] > policy.pd_cutoff),
        ("ACTIVE_OVERDUE", scored["overdue"].astype(bool) & bool(rules["decline_active_overdue"])),
        ("TOO_NEW", young & ~proven),
        ("NO_CAPACITY", capacity <= 0),
        ("BELOW_MIN_LIMIT", eligible & (rounded < policy.min_limit)),
        ("CAPPED_AT_MAX_LIMIT", eligible & ~proven & (offer > cap)),
        ("CAPPED_AS_NEW_BUSINESS", eligible & proven & (offer > cap)),
    ]
    reasons = [[code for code, holds in checks if holds.iloc[i]] for i in range(len(scored))]
    approved = pd.Series([set(r) <= CAPS for r in reasons], index=scored.index, dtype=bool)
    return scored.assign(
        monthly_capacity=capacity,
        reason_codes=[r + list(d) for r, d in zip(reasons, scored["drivers"], strict=True)],
        decision=np.where(approved, "approved", "declined"),
        limit_amount=rounded.where(approved, 0.0),
        currency=policy.currency,
        policy_version=policy.version,
    )

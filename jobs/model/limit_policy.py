"""The limit policy: from a PD and a business's capacity to a pre-approved limit, in rules a risk committee reads.

The rules live in `limit_policy.yaml`, versioned: a monthly capacity by segment (the largest of the segment's
sources: sales, purchases from core brands, verified voucher revenue, ...), months of that capacity offered by PD band,
hard rules (too new a business, a loan past due), the minimum, the cap and the rounding.
Reason codes: the policy's own reasons first (why declined, or capped), then the features that raised PD most.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from jobs.errors import ContractError
from jobs.quality import suite_json

POLICY_FILE = Path(__file__).with_name("limit_policy.yaml")
COUNTERPARTY_SEGMENT = "brand"  # core firms of supply chains: in the trade graph, never scored


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
    capacity: dict[str, dict[str, str]]  # segment -> {source name: Spark SQL expression of a monthly amount}
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


def monthly_capacity(policy: Policy) -> Column:
    """The largest of the business's segment's capacity sources (a source it lacks counts as 0)."""
    capacity = F  # F.when starts the chain of cases, Column.when adds to it
    for segment, sources in policy.capacity.items():
        amounts = [F.coalesce(F.expr(expr).cast("double"), F.lit(0.0)) for expr in sources.values()]
        capacity = capacity.when(F.col("segment") == segment, F.greatest(F.lit(0.0), *amounts))
    return capacity.otherwise(F.lit(0.0))


def months_offered(policy: Policy) -> Column:
    """Months of capacity offered: those of the first band whose max_pd the PD does not exceed."""
    months = F  # as in monthly_capacity
    for band in policy.pd_bands:
        months = months.when(F.col("pd") <= band["max_pd"], F.lit(float(band["months"])))
    return months.otherwise(F.lit(0.0))


def apply_policy(scored: DataFrame, policy: Policy | None = None) -> DataFrame:
    """(entity_id, segment, pd, drivers, days_registered, overdue, the capacity sources' columns) -> monthly_capacity,
    limit_amount, decision, reason_codes, currency, policy_version."""
    policy = policy or load_policy()
    rules = policy.hard_rules
    offer = F.col("monthly_capacity") * months_offered(policy)
    rounded = F.floor(F.least(F.lit(float(policy.max_limit)), offer) / policy.round_to) * policy.round_to
    eligible = (F.col("pd") <= policy.pd_cutoff) & (F.col("monthly_capacity") > 0)
    policy_reasons = F.array_compact(
        F.array(
            F.when(F.col("pd") > policy.pd_cutoff, F.lit("PD_ABOVE_CUTOFF")),
            F.when(F.lit(rules["decline_active_overdue"]) & F.col("overdue"), F.lit("ACTIVE_OVERDUE")),
            F.when(F.col("days_registered") < rules["min_days_registered"], F.lit("TOO_NEW")),
            F.when(F.col("monthly_capacity") <= 0, F.lit("NO_CAPACITY")),
            F.when(eligible & (rounded < policy.min_limit), F.lit("BELOW_MIN_LIMIT")),
            F.when(eligible & (offer > policy.max_limit), F.lit("CAPPED_AT_MAX_LIMIT")),
        )
    )
    declined = F.array_remove(policy_reasons, "CAPPED_AT_MAX_LIMIT")
    approved = F.size(declined) == 0
    return (
        scored.withColumn("monthly_capacity", monthly_capacity(policy))
        .withColumn("reason_codes", F.concat(policy_reasons, F.col("drivers")))
        .withColumn("decision", F.when(approved, "approved").otherwise("declined"))
        .withColumn("limit_amount", F.when(approved, rounded).otherwise(0).cast("decimal(18,2)"))
        .withColumn("currency", F.lit(policy.currency))
        .withColumn("policy_version", F.lit(policy.version))
    )

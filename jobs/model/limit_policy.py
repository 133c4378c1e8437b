"""The limit policy: from a PD and the sales it rests on to a pre-approved limit, in rules a risk committee reads.

- Decline when PD is above PD_CUTOFF, or when the business sold nothing in 90 days.
- Otherwise offer LIMIT_MULTIPLE months of average sales (over 90 days), scaled down linearly as PD nears the
  cutoff, capped at MAX_LIMIT, rounded down to ROUND_TO; an offer below MIN_LIMIT is declined.
- Reason codes: the policy's own reasons first, then the features that raised this business's PD most.
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

POLICY_VERSION = "limit-policy-1"
CURRENCY = "CNY"
PD_CUTOFF = 0.15
LIMIT_MULTIPLE = 1.5
MIN_LIMIT = 1_000
MAX_LIMIT = 300_000
ROUND_TO = 100


def apply_policy(scored: DataFrame) -> DataFrame:
    """(entity_id, segment, pd, gmv_90d, drivers) -> limit_amount, decision, reason_codes, currency, policy_version."""
    monthly_sales = F.coalesce(F.col("gmv_90d"), F.lit(0.0)) / 3
    offer = F.least(F.lit(float(MAX_LIMIT)), monthly_sales * LIMIT_MULTIPLE * (1 - F.col("pd") / PD_CUTOFF))
    rounded = F.floor(offer / ROUND_TO) * ROUND_TO
    policy_reasons = F.array_compact(
        F.array(
            F.when(F.col("pd") > PD_CUTOFF, F.lit("PD_ABOVE_CUTOFF")),
            F.when(monthly_sales <= 0, F.lit("NO_SALES_90D")),
            F.when((F.col("pd") <= PD_CUTOFF) & (monthly_sales > 0) & (rounded < MIN_LIMIT), F.lit("BELOW_MIN_LIMIT")),
        )
    )
    approved = F.size(policy_reasons) == 0
    return (
        scored.withColumn("reason_codes", F.concat(policy_reasons, F.col("drivers")))
        .withColumn("decision", F.when(approved, "approved").otherwise("declined"))
        .withColumn("limit_amount", F.when(approved, rounded).otherwise(0).cast("decimal(18,2)"))
        .withColumn("currency", F.lit(CURRENCY))
        .withColumn("policy_version", F.lit(POLICY_VERSION))
    )

"""gold.feat_voucher: what the documents an entity handed over say about it, as of each snapshot date.

A snapshot sees only the vouchers submitted on or before its as-of date that had arrived by it. Counts, the
consistency score and the licence age use every such document; the monthly amounts declared (rent, payroll, revenue)
use the verified documents of the DECLARED_DAYS before it, their amounts converted to the reporting currency at the
rate of their issue date (a document without a currency is taken to be in it; one in a currency without a rate
declares no amount).
"""

from __future__ import annotations

import datetime as dt

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from jobs import tables
from jobs.documents.taxonomy import load_taxonomy
from jobs.documents.verify import SUSPICIOUS, UNREADABLE, VERIFIED
from jobs.ingest.currency import daily_rates, with_fx_rate
from jobs.settings import Settings
from jobs.snapshots import of_dates, pair, write

DECLARED_DAYS = 365
RENT_PER_MONTH = {"shop_lease": 1.0, "land_lease": 1 / 12}  # headline amount -> per month
REVENUE_PER_MONTH = {"platform_settlement": 1.0, "bank_statement": 1.0, "tax_return": 1 / 3}


def seen_by(vouchers: DataFrame, snapshots: DataFrame) -> DataFrame:
    """Pair each snapshot with the vouchers it may see; `age` = days from submission to it."""
    seen = (F.col("submitted_date") <= F.col("as_of_date")) & (F.col("arrived_date") <= F.col("as_of_date"))
    return pair(vouchers, snapshots, seen).withColumn("age", F.datediff("as_of_date", "submitted_date"))


def per_month(scale: dict[str, float]):
    """The headline amount per month of a verified recent document of one of `scale`'s types, else null."""
    factor = F.coalesce(*[F.when(F.col("voucher_type") == t, F.lit(f)) for t, f in scale.items()])
    recent = (F.col("status") == VERIFIED) & (F.col("age") < DECLARED_DAYS)
    return F.when(recent, F.col("amount") * factor)


def counts(seen: DataFrame) -> DataFrame:
    """Per (entity_id, as_of_date): verified documents per type, documents per status, days since the last one."""
    verified = F.col("status") == VERIFIED
    per_type = [
        F.count(F.when(verified & (F.col("voucher_type") == t), 1)).cast("double").alias(f"verified_{t}")
        for t in load_taxonomy()["types"]
    ]
    return seen.groupBy("entity_id", "as_of_date").agg(
        *per_type,
        F.count("*").cast("double").alias("documents"),
        F.count(F.when(verified, 1)).cast("double").alias("_verified"),
        F.count(F.when(F.col("status") == SUSPICIOUS, 1)).cast("double").alias("suspicious_documents"),
        F.count(F.when(F.col("status") == UNREADABLE, 1)).cast("double").alias("unreadable_documents"),
        F.min("age").cast("double").alias("days_since_last_document"),
        F.max_by(
            F.when(verified & (F.col("voucher_type") == "business_licence"), F.col("registered_date")),
            F.when(verified & (F.col("voucher_type") == "business_licence"), F.col("submitted_date")),
        ).alias("_registered_date"),
    )


def declared_amounts(seen: DataFrame) -> DataFrame:
    """Per (entity_id, as_of_date): rent (mean per lease kind, added over kinds), payroll and revenue per month."""
    rent_kinds = (
        seen.withColumn("rent", per_month(RENT_PER_MONTH))
        .groupBy("entity_id", "as_of_date", "voucher_type")
        .agg(F.avg("rent").alias("rent"))
        .groupBy("entity_id", "as_of_date")
        .agg(F.sum("rent").alias("declared_monthly_rent"))
    )
    others = seen.groupBy("entity_id", "as_of_date").agg(
        F.avg(per_month({"payroll": 1.0})).alias("declared_monthly_payroll"),
        F.avg(per_month(REVENUE_PER_MONTH)).alias("declared_monthly_revenue"),
    )
    return rent_kinds.join(others, ["entity_id", "as_of_date"])


def derived(features: DataFrame) -> DataFrame:
    readable = F.col("_verified") + F.col("suspicious_documents")
    return features.withColumns(
        {
            "consistency_score": F.when(readable > 0, F.col("_verified") / readable),
            "licence_age_days": F.datediff("as_of_date", "_registered_date").cast("double"),
            "computed_at": F.current_timestamp(),
        }
    ).drop("_verified", "_registered_date")


def in_reporting(vouchers: DataFrame, rates: DataFrame, reporting: str) -> DataFrame:
    """silver.vouchers rows with `amount` in the reporting currency, at the rate of the issue date (else of the
    submission date); null where the document's currency has no rate."""
    dated = vouchers.withColumns(
        {"currency": F.coalesce("currency", F.lit(reporting)), "_day": F.coalesce("issue_date", "submitted_date")}
    )
    rated = with_fx_rate(dated, rates, reporting, "_day")
    return rated.withColumn("amount", F.col("amount") * F.col("fx_rate").cast("double")).drop("_day", "fx_rate")


def voucher_features(vouchers: DataFrame, snapshots: DataFrame) -> DataFrame:
    """silver.vouchers rows x snapshots (`jobs.snapshots`) -> gold.feat_voucher rows."""
    registered = F.get_json_object("fields", "$.registered_date.value").cast("date")
    seen = seen_by(vouchers.withColumn("registered_date", registered), snapshots)
    return counts(seen).join(declared_amounts(seen), ["entity_id", "as_of_date"]).transform(derived)


def snapshots(spark, settings: Settings, wanted: DataFrame) -> int:
    """Compute and write the `wanted` snapshots (`jobs.snapshots`); returns rows written."""
    reporting = settings.reporting_currency
    rates = daily_rates(tables.read(spark, settings, "silver.fx_rates"), reporting, settings.fx_max_age_days)
    vouchers = in_reporting(tables.read(spark, settings, "silver.vouchers"), rates, reporting)
    return write(spark, settings, "gold.feat_voucher", voucher_features(vouchers, wanted), wanted)


def run(spark, settings: Settings, as_of: dt.date) -> int:
    """The night's snapshot: every business as of `as_of`."""
    return snapshots(spark, settings, of_dates(spark, [as_of]))

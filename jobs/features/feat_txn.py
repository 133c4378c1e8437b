"""gold.feat_txn: merchant payment-flow features over rolling windows of silver.txn_daily.

One transform serves scoring (one as-of date) and training (many): each snapshot sees only the days at or before
its as-of date, within the 365 days before it.
"""

from __future__ import annotations

import datetime as dt

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from jobs import tables
from jobs.ingest.source import in_list
from jobs.settings import Settings

LOOKBACK_DAYS = 365


def days_in_window(daily: DataFrame, snapshots: DataFrame) -> DataFrame:
    """Pair each snapshot (as_of_date) with the daily rows of the LOOKBACK_DAYS up to it; `age` = days before it."""
    in_window = (F.col("txn_date") <= F.col("as_of_date")) & (
        F.col("txn_date") > F.date_sub(F.col("as_of_date"), LOOKBACK_DAYS)
    )
    return daily.join(F.broadcast(snapshots), in_window).withColumn(
        "age", F.datediff(F.col("as_of_date"), F.col("txn_date"))
    )


def window_sums(days: DataFrame) -> DataFrame:
    """Per (entity_id, as_of_date): the sums the features divide and compare."""

    def total(column: str, max_age: int, min_age: int = 0):
        inside = (F.col("age") >= min_age) & (F.col("age") < max_age)
        return F.coalesce(F.sum(F.when(inside, F.col(column))), F.lit(0)).cast("double")

    selling = F.col("orders") > 0
    return days.groupBy("entity_id", "as_of_date").agg(
        total("gmv", 30).alias("gmv_30d"),
        total("gmv", 60, 30).alias("gmv_prev_30d"),
        total("gmv", 90).alias("gmv_90d"),
        total("orders", 90).alias("orders_90d"),
        total("refunds", 90).alias("refunds_90d"),
        total("chargebacks", 90).alias("chargebacks_90d"),
        total("night_orders", 90).alias("night_orders_90d"),
        total("distinct_payers", 90).alias("distinct_payers_90d"),
        F.count(F.when(selling & (F.col("age") < 90), 1)).cast("double").alias("active_days_90d"),
        F.min(F.when(selling, F.col("age"))).cast("double").alias("days_since_last_sale"),
        F.max(F.when(selling, F.col("age"))).cast("double").alias("history_days"),
    )


def ratios(sums: DataFrame) -> DataFrame:
    """The features that are ratios of window sums; null where the denominator is zero."""

    def ratio(num, den):
        return F.when(den > 0, num / den)

    payments = F.col("orders_90d") + F.col("refunds_90d") + F.col("chargebacks_90d")
    return (
        sums.withColumn("avg_ticket_90d", ratio(F.col("gmv_90d"), F.col("orders_90d")))
        .withColumn("refund_rate_90d", ratio(F.col("refunds_90d"), payments))
        .withColumn("chargeback_rate_90d", ratio(F.col("chargebacks_90d"), payments))
        .withColumn("night_share_90d", ratio(F.col("night_orders_90d"), F.col("orders_90d")))
        .withColumn("growth_30d", ratio(F.col("gmv_30d"), F.col("gmv_prev_30d")) - 1)
        .withColumn("computed_at", F.current_timestamp())
    )


def txn_features(daily: DataFrame, snapshots: DataFrame) -> DataFrame:
    """silver.txn_daily rows x snapshot dates -> gold.feat_txn rows."""
    return days_in_window(daily, snapshots).transform(window_sums).transform(ratios)


def run(spark, settings: Settings, as_of_dates: list[dt.date]) -> int:
    """Compute and write the snapshots for `as_of_dates` (each replaces its own partition); returns rows written."""
    dates = sorted(set(as_of_dates))
    snapshots = spark.createDataFrame([(d,) for d in dates], "as_of_date date")
    daily = tables.read(spark, settings, "silver.txn_daily").where(
        (F.col("txn_date") <= F.lit(dates[-1])) & (F.col("txn_date") > F.date_sub(F.lit(dates[0]), LOOKBACK_DAYS))
    )
    features = txn_features(daily, snapshots)
    tables.replace_where(
        spark, settings, "gold.feat_txn", features, in_list("as_of_date", [d.isoformat() for d in dates])
    )
    return (
        tables.read(spark, settings, "gold.feat_txn")
        .where(in_list("as_of_date", [d.isoformat() for d in dates]))
        .count()
    )

"""gold.feat_txn: merchant payment-flow features over rolling windows of silver.txn_daily.

One transform serves scoring (one as-of date) and training or backfill (many): each snapshot sees only the payments
dated at or before its as-of date that had arrived by it, within the LOOKBACK_DAYS before it. Every feature is an
aggregate of daily delivery rows, so a snapshot reads at most LOOKBACK_DAYS of daily aggregates, however long the
history, in one pass with one shuffle.
"""

from __future__ import annotations

import datetime as dt

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from jobs import tables
from jobs.settings import Settings
from jobs.snapshots import dates_of, of_dates, pair, write

WINDOWS = (7, 30, 90, 180, 365)
SEASON_DAYS = 30  # the seasonal index compares these days with the same days a year earlier
LOOKBACK_DAYS = 365 + SEASON_DAYS
TREND_DAYS = 90  # volatility, trend, payer concentration, night and channel shares
YEAR_DAYS = WINDOWS[-1]  # the trend over the history up to a year, and the night share over the year, as well


def seen_by(daily: DataFrame, snapshots: DataFrame) -> DataFrame:
    """Pair each snapshot with the daily rows it may see; `age` = days before it (0 = the day itself)."""
    seen = (
        (F.col("txn_date") <= F.col("as_of_date"))
        & (F.col("txn_date") > F.date_sub(F.col("as_of_date"), LOOKBACK_DAYS))
        & (F.col("arrived_date") <= F.col("as_of_date"))
    )
    return pair(daily, snapshots, seen).withColumn("age", F.datediff("as_of_date", "txn_date"))


def window_sums(seen: DataFrame) -> DataFrame:
    """Per (entity_id, as_of_date): the sums the features divide and compare, straight from the deliveries seen (a
    day's non-additive values through its deliveries' increments, see silver.txn_daily)."""

    def within(max_age: int, min_age: int = 0):
        return (F.col("age") >= min_age) & (F.col("age") < max_age)

    def total(value, max_age: int, min_age: int = 0):
        return F.coalesce(F.sum(F.when(within(max_age, min_age), value)), F.lit(0)).cast("double")

    selling = F.col("orders") > 0
    gmv = F.col("gmv")  # decimal: sums are exact, so a snapshot is the same bits in any partitioning (cluster or not)
    sums = []
    for w in WINDOWS:
        sums += [
            total(gmv, w).alias(f"gmv_{w}d"),
            total(F.col("orders"), w).alias(f"orders_{w}d"),
            total(F.col("refunds"), w).alias(f"refunds_{w}d"),
            total(F.col("chargebacks"), w).alias(f"chargebacks_{w}d"),
            total(F.col("day_active_increment"), w).alias(f"active_days_{w}d"),
            total(F.col("day_payers_increment"), w).alias(f"payer_days_{w}d"),
        ]
    # each delivery's payers go into one band's sketch (ages 0-6, 7-29, ...): a window's distinct payers are then the
    # union of its bands, so every daily sketch is merged once, not once per window
    bands = [
        F.theta_union_agg(F.when(within(w, shorter), F.col("payers"))).alias(f"payers_band_{w}d")
        for shorter, w in zip((0, *WINDOWS), WINDOWS)
    ]
    return seen.groupBy("entity_id", "as_of_date").agg(
        *sums,
        *bands,
        total(gmv, 60, 30).alias("gmv_prev_30d"),
        total(gmv, 180, 90).alias("gmv_prev_90d"),
        total(gmv, LOOKBACK_DAYS, 365).alias("gmv_year_ago_30d"),
        total(F.col("day_gmv_squared_increment"), TREND_DAYS).alias("gmv_squares_90d"),
        total(gmv * F.col("age"), TREND_DAYS).alias("gmv_age_90d"),
        total(gmv * F.col("age"), YEAR_DAYS).alias("gmv_age_365d"),
        total(F.col("night_orders"), TREND_DAYS).alias("night_orders_90d"),
        total(F.col("night_orders"), YEAR_DAYS).alias("night_orders_365d"),
        total(F.col("qr_orders"), TREND_DAYS).alias("qr_orders_90d"),
        F.min(F.when(selling, F.col("age"))).cast("double").alias("days_since_last_sale"),
        F.max(F.when(selling, F.col("age"))).cast("double").alias("history_days"),
    )


def distinct_payers(sums: DataFrame) -> DataFrame:
    """Distinct payers of each window: the union of the window's payer bands, shortest first."""
    union, columns = None, {}
    for w in WINDOWS:
        band = F.col(f"payers_band_{w}d")
        union = band if union is None else F.theta_union(union, band)
        columns[f"distinct_payers_{w}d"] = F.theta_sketch_estimate(union).cast("double")
    return sums.withColumns(columns).drop(*[f"payers_band_{w}d" for w in WINDOWS])


def payer_concentration(seen: DataFrame) -> DataFrame:
    """Per (entity_id, as_of_date): Herfindahl index and top payer's share of the TREND_DAYS' sales with a payer."""
    per_payer = (
        seen.where(F.col("age") < TREND_DAYS)
        .select("entity_id", "as_of_date", F.explode("payer_sales").alias("p"))
        .groupBy("entity_id", "as_of_date", "p.payer_key")
        .agg(F.sum("p.gmv").alias("gmv"))  # decimal, exact in any order
    )
    total = F.sum("gmv").cast("double")
    return per_payer.groupBy("entity_id", "as_of_date").agg(
        F.when(total > 0, F.sum(F.col("gmv") * F.col("gmv")).cast("double") / (total * total)).alias("payer_hhi_90d"),
        F.when(total > 0, F.max("gmv").cast("double") / total).alias("top_payer_share_90d"),
    )


def ratio(num, den):
    return F.when(den > 0, num / den)


def trend(gmv_age, gmv, days):
    """Least-squares slope of daily sales y on t = -age over the `days` days up to as_of_date (sums of y * age and of
    y over them, or over a longer window that has no sales before those days), divided by the mean daily sales: the
    share of the mean gained per day. slope = (sum t*y - mean(t) * sum y) / sum (t - mean t)^2"""
    slope = (-gmv_age + (days - 1) / 2 * gmv) / (days * (days * days - 1) / 12)
    return ratio(slope, gmv / days)


def derived(sums: DataFrame) -> DataFrame:
    """The features that divide, compare or fit window sums; null where they are undefined."""
    c = F.col
    columns = {}
    for w in WINDOWS:
        payments = c(f"orders_{w}d") + c(f"refunds_{w}d") + c(f"chargebacks_{w}d")
        columns |= {
            f"avg_ticket_{w}d": ratio(c(f"gmv_{w}d"), c(f"orders_{w}d")),
            f"repeat_payer_share_{w}d": 1 - ratio(c(f"distinct_payers_{w}d"), c(f"payer_days_{w}d")),
            f"refund_rate_{w}d": ratio(c(f"refunds_{w}d"), payments),
            f"chargeback_rate_{w}d": ratio(c(f"chargebacks_{w}d"), payments),
        }
    n = TREND_DAYS
    mean = c("gmv_90d") / n
    variance = F.greatest(c("gmv_squares_90d") / n - mean * mean, F.lit(0.0))
    # the year's trend runs from the first sale, so that a young business's days before it do not read as growth
    history = F.least(c("history_days") + 1, F.lit(YEAR_DAYS)).cast("double")
    seasonal_index = ratio(c("gmv_year_ago_30d"), c("gmv_365d") * SEASON_DAYS / 365)
    columns |= {
        "growth_30d": ratio(c("gmv_30d"), c("gmv_prev_30d")) - 1,
        "growth_90d": ratio(c("gmv_90d"), c("gmv_prev_90d")) - 1,
        "volatility_90d": ratio(F.sqrt(variance), mean),
        "trend_90d": trend(c("gmv_age_90d"), c("gmv_90d"), n),
        "trend_365d": F.when(history >= TREND_DAYS, trend(c("gmv_age_365d"), c("gmv_365d"), history)),
        "level_sa_30d": ratio(c("gmv_30d"), seasonal_index),
        "night_share_90d": ratio(c("night_orders_90d"), c("orders_90d")),
        "night_share_365d": ratio(c("night_orders_365d"), c("orders_365d")),
        "qr_share_90d": ratio(c("qr_orders_90d"), c("orders_90d")),
        "computed_at": F.current_timestamp(),
    }
    return sums.withColumns(columns)


def days_before(daily: DataFrame, dates: list[dt.date], days: int) -> DataFrame:
    """The daily rows that `days`-long windows ending on `dates` can see, as literal bounds: Delta prunes the months
    (partitions) and files outside them before reading, so a snapshot costs its window, not the history."""
    first = min(dates) - dt.timedelta(days=days - 1)
    return daily.where(
        F.col("txn_month").between(F.lit(first.replace(day=1)), F.lit(max(dates)))
        & F.col("txn_date").between(F.lit(first), F.lit(max(dates)))
    )


def txn_features(daily: DataFrame, snapshots: DataFrame) -> DataFrame:
    """silver.txn_daily rows x snapshots (`jobs.snapshots`) -> gold.feat_txn rows. Sales per payer, the bulk
    of a daily row, are read for the TREND_DAYS only."""
    dates = dates_of(snapshots)
    seen = seen_by(days_before(daily, dates, LOOKBACK_DAYS).drop("payer_sales"), snapshots)
    concentration = payer_concentration(seen_by(days_before(daily, dates, TREND_DAYS), snapshots))
    return (
        window_sums(seen)
        .transform(distinct_payers)
        .join(concentration, ["entity_id", "as_of_date"], "left")
        .transform(derived)
    )


def snapshots(spark, settings: Settings, wanted: DataFrame) -> int:
    """Compute and write the `wanted` snapshots (`jobs.snapshots`); returns rows written."""
    features = txn_features(tables.read(spark, settings, "silver.txn_daily"), wanted)
    return write(spark, settings, "gold.feat_txn", features, wanted)


def run(spark, settings: Settings, as_of: dt.date) -> int:
    """The night's snapshot: every business as of `as_of`."""
    return snapshots(spark, settings, of_dates(spark, [as_of]))

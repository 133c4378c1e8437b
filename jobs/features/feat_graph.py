"""gold.feat_graph: supply-chain graph features per business, so that every N of a 1+N chain becomes a 1.

A snapshot as of D sees the trade records dated at or before D that had arrived by D, classified by the rule of
`trade_edges` as it stood on D (a pair is "recurring" only once its third month is seen). Only trade counts: orders,
their payments and recurring transfers; volumes count purchases (orders and recurring transfers) so that a paid
order is counted once. Graph-wide features (reach, PageRank, component size) are computed on the graph of trade
relationships of the graph window before D (GRAPH_WINDOW_DAYS, a setting), as are the supplier mix, exposure and
payment habits. How a buyer pays its orders (days to the first payment, orders paid in parts) and how its orders
move (volatility, trend) are read from its orders and the payments that reference them.
"""

from __future__ import annotations

import datetime as dt

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from jobs import tables
from jobs.features import graph_algorithms
from jobs.ingest.outcomes import delinquent_as_of
from jobs.settings import Settings
from jobs.silver.trade_edges import classify, daily_edges, seen_as_of
from jobs.snapshots import of_dates, write

WINDOWS = (90, 365)
STABILITY_MONTHS = 12
SETTLE_DAYS = 45  # an order is judged on its payment once it is this old: past usual terms of 30 days
SNAPSHOT = ["as_of_date", "entity_id"]  # a row of the table: a business as of a date


def trade_sides(daily: DataFrame) -> DataFrame:
    """Each daily trade edge seen from both ends: (as_of_date, entity_id, counterparty_id, direction 'out' for the payer
    and 'in' for the payee, trade_date, trade_month, age in days before as_of_date, purchase_amount)."""
    trade = daily.where("is_trade").withColumn("age", F.datediff("as_of_date", "trade_date"))
    amount = F.col("purchase_amount").cast("double").alias("purchase_amount")
    common = ["as_of_date", "trade_date", "trade_month", "age", amount]
    paying = trade.select(F.col("payer_id").alias("entity_id"), F.col("payee_id").alias("counterparty_id"), *common)
    paid = trade.select(F.col("payee_id").alias("entity_id"), F.col("payer_id").alias("counterparty_id"), *common)
    return paying.withColumn("direction", F.lit("out")).unionByName(paid.withColumn("direction", F.lit("in")))


def whole_months(later, earlier):
    """Whole calendar months from `earlier` to `later` (2011-01-10 -> 2011-12-09 is 10)."""
    months = (F.year(later) - F.year(earlier)) * 12 + F.month(later) - F.month(earlier)
    return months - F.when(F.dayofmonth(later) < F.dayofmonth(earlier), 1).otherwise(0)


def degrees_and_volumes(sides: DataFrame) -> DataFrame:
    """Per entity: distinct counterparties and purchase volume each way for each window, and tenure."""

    def within(direction: str, days: int):
        return (F.col("direction") == direction) & (F.col("age") < days)

    sums = []
    for w in WINDOWS:
        for direction in ("in", "out"):
            sums += [
                F.count_distinct(F.when(within(direction, w), F.col("counterparty_id"))).alias(
                    f"{direction}_degree_{w}d"
                ),
                F.coalesce(F.sum(F.when(within(direction, w), F.col("purchase_amount"))), F.lit(0.0)).alias(
                    f"{direction}_volume_{w}d"
                ),
            ]
    return (
        sides.groupBy(*SNAPSHOT)
        .agg(*sums, F.min("trade_date").alias("first_trade_date"))
        .select("*", whole_months(F.col("as_of_date"), F.col("first_trade_date")).alias("tenure_months"))
    )


def supplier_mix(sides: DataFrame, segments: DataFrame, window_days: int) -> DataFrame:
    """Per buyer, over the `window_days`: HHI of purchase volume across suppliers, the share bought from core brands,
    and the months of the last STABILITY_MONTHS (calendar months, as_of_date's included) with trade with the main
    supplier (the one with the largest purchase volume)."""
    recent_month = F.col("trade_month") > F.add_months(F.trunc("as_of_date", "month"), -STABILITY_MONTHS)
    per_supplier = (
        sides.where((F.col("direction") == "out") & (F.col("age") < window_days))
        .groupBy(*SNAPSHOT, "counterparty_id")
        .agg(
            F.sum("purchase_amount").alias("volume"),
            F.count_distinct(F.when(recent_month, F.col("trade_month"))).alias("months"),
        )
        .join(segments.select(F.col("entity_id").alias("counterparty_id"), "segment"), "counterparty_id", "left")
    )
    rank = F.row_number().over(Window.partitionBy(*SNAPSHOT).orderBy(F.desc("volume"), "counterparty_id"))
    total = F.sum("volume")
    return (
        per_supplier.withColumn("is_main", (rank == 1) & (F.col("volume") > 0))
        .groupBy(*SNAPSHOT)
        .agg(
            F.when(total > 0, F.sum(F.col("volume") * F.col("volume")) / (total * total)).alias("supplier_hhi"),
            F.when(total > 0, F.sum(F.when(F.col("segment") == "brand", F.col("volume")).otherwise(0.0)) / total).alias(
                "core_brand_share"
            ),
            F.max(F.when(F.col("is_main"), F.col("months"))).alias("main_supplier_months_12m"),
        )
    )


def relationships(sides: DataFrame, window_days: int) -> DataFrame:
    """(as_of_date, src, dst): buyer -> seller pairs with trade in the `window_days` to each snapshot."""
    out = sides.where((F.col("direction") == "out") & (F.col("age") < window_days))
    return out.select("as_of_date", F.col("entity_id").alias("src"), F.col("counterparty_id").alias("dst")).distinct()


def two_hop_reach(links: DataFrame, name: str) -> DataFrame:
    """(as_of_date, entity_id, name): distinct others reached from each src in one or two steps along `links`
    (as_of_date, src, dst)."""
    second = links.select("as_of_date", F.col("src").alias("dst"), F.col("dst").alias("beyond"))
    reached = links.select("as_of_date", "src", "dst").unionByName(
        links.join(second, ["as_of_date", "dst"]).select("as_of_date", "src", F.col("beyond").alias("dst"))
    )
    return (
        reached.where(F.col("src") != F.col("dst"))
        .groupBy("as_of_date", F.col("src").alias("entity_id"))
        .agg(F.count_distinct("dst").alias(name))
    )


def graph_positions(links: DataFrame) -> DataFrame:
    """Per entity in each snapshot's graph: upstream and downstream reach, PageRank and the size of its component."""
    reversed_links = links.select("as_of_date", F.col("dst").alias("src"), F.col("src").alias("dst"))
    by = ["as_of_date"]
    ranks = graph_algorithms.pagerank(links, by=by)
    sizes = graph_algorithms.component_sizes(graph_algorithms.connected_components(links, by=by), by=by)
    return (
        ranks.withColumnRenamed("id", "entity_id")
        .join(sizes.withColumnRenamed("id", "entity_id"), SNAPSHOT)
        .join(two_hop_reach(links, "upstream_2hop"), SNAPSHOT, "left")
        .join(two_hop_reach(reversed_links, "downstream_2hop"), SNAPSHOT, "left")
        .fillna(0, ["upstream_2hop", "downstream_2hop"])
    )


def exposure(sides: DataFrame, delinquent: DataFrame, window_days: int) -> DataFrame:
    """Per entity: the share of its purchase volume, bought and sold, in the `window_days` with counterparties that are
    delinquent (`delinquent`: as_of_date, entity_id)."""
    flagged = delinquent.select("as_of_date", F.col("entity_id").alias("counterparty_id"), F.lit(True).alias("late"))
    recent = sides.where(F.col("age") < window_days).join(flagged, ["as_of_date", "counterparty_id"], "left")
    total = F.sum("purchase_amount")
    at_risk = F.sum(F.when(F.col("late"), F.col("purchase_amount")).otherwise(0.0))
    return recent.groupBy(*SNAPSHOT).agg(F.when(total > 0, at_risk / total).alias("exposure"))


def order_payments(records: DataFrame, window_days: int) -> DataFrame:
    """Per buyer, over its orders of the `window_days` (`records` seen as of each snapshot): mean days from an order to
    its first payment (counting to as_of_date while unpaid) and the share of paid orders whose first payment fell short
    of the order (paid in parts), both on orders at least SETTLE_DAYS old; the volatility of log order value from one
    order to the next (their differences' standard deviation over the square root of 2) and its trend (least-squares
    slope per 365 days)."""
    seen = records.withColumn("age", F.datediff("as_of_date", "trade_date"))
    orders = seen.where((F.col("record_type") == "order") & (F.col("age") < window_days)).select(
        "as_of_date",
        F.col("payer_id").alias("entity_id"),
        F.col("record_id").alias("reference"),
        "record_ts",
        "age",
        F.col("amount").cast("double").alias("amount"),
    )
    first_payments = (
        seen.where((F.col("record_type") == "transfer") & (F.col("reference") != ""))
        .groupBy("as_of_date", "reference")
        .agg(F.max("age").alias("_paid_age"), F.min_by("amount", "record_ts").cast("double").alias("_first_amount"))
    )
    settled = F.col("age") >= SETTLE_DAYS
    days_to_pay = F.col("age") - F.coalesce("_paid_age", F.lit(0))
    part_paid = F.when(settled & F.col("_first_amount").isNotNull(), F.col("_first_amount") < F.col("amount") - 0.005)
    log_value = F.log("amount")
    step = log_value - F.lag(log_value).over(Window.partitionBy(*SNAPSHOT).orderBy("record_ts", "reference"))
    return (
        orders.join(first_payments, ["as_of_date", "reference"], "left")
        .withColumn("_step", step)
        .groupBy(*SNAPSHOT)
        .agg(
            F.avg(F.when(settled, days_to_pay)).alias("order_days_to_pay"),
            F.avg(part_paid.cast("double")).alias("order_part_paid_share"),
            (F.stddev_samp("_step") / F.sqrt(F.lit(2.0))).alias("order_value_volatility"),
            (F.regr_slope(log_value, -F.col("age")) * 365).alias("order_value_growth"),
        )
    )


def graph_features(
    records: DataFrame, entities: DataFrame, loan_events: DataFrame, dates: DataFrame, window_days: int
) -> DataFrame:
    """silver.trade_records, silver.entities, silver.loan_events -> gold.feat_graph rows as of each of `dates` (a frame
    of `as_of_date`), the graph-wide features over the `window_days` to it. Every date is computed in the same
    Spark jobs, each from what it saw."""
    seen = seen_as_of(records, dates)
    daily = seen.transform(classify).transform(daily_edges)
    sides = trade_sides(daily).localCheckpoint()  # read by every aggregation below
    links = relationships(sides, window_days).localCheckpoint()
    return (
        degrees_and_volumes(sides)
        .join(supplier_mix(sides, entities, window_days), SNAPSHOT, "left")
        .join(graph_positions(links), SNAPSHOT, "left")
        .join(exposure(sides, delinquent_as_of(loan_events, dates), window_days), SNAPSHOT, "left")
        .join(order_payments(seen, window_days), SNAPSHOT, "left")
        .withColumns({"graph_window_days": F.lit(window_days), "computed_at": F.current_timestamp()})
    )


def snapshots(spark, settings: Settings, as_of_dates: list[dt.date]) -> int:
    """Compute and write the snapshots as of `as_of_dates` (each replaces its own date); returns rows written."""
    dates = of_dates(spark, as_of_dates)
    last = max(as_of_dates)
    records = tables.read(spark, settings, "silver.trade_records").where(F.col("trade_month") <= F.lit(last))
    features = graph_features(
        records,
        tables.read(spark, settings, "silver.entities"),
        tables.read(spark, settings, "silver.loan_events"),
        dates,
        settings.graph_window_days,
    )
    return write(spark, settings, "gold.feat_graph", features, dates)


def run(spark, settings: Settings, as_of: dt.date) -> int:
    """The night's snapshot: `snapshots` as of `as_of` alone."""
    return snapshots(spark, settings, [as_of])

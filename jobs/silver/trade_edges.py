"""silver.trade_edges: who pays whom each month, trade told apart from transfers that are not trade.

The rule reads only the shape of the records, never their memo text. A record is

    order               an order (record_type order): the payer buys from the payee;
    order_payment       a transfer whose reference is a known order's record_id, or a transfer from a payer that has
                        ordered from the same payee (a payment of orders that lacks its reference);
    recurring_transfer  any other transfer in a (payer, payee) pair that has transfers in RECURRING_MONTHS or more
                        distinct months (regular payments for goods, with no order visible);
    other               the rest: one-off and irregular transfers (rent, loans, deposits): not trade.

The rule sees the records that had arrived by the as-of date only, so a pair becomes "recurring" on the day its third
month of transfers is seen, never earlier. Purchases (PURCHASE_KINDS) count each purchase once: an order payment
settles an order already counted.
"""

from __future__ import annotations

import datetime as dt

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from jobs import tables
from jobs.errors import QualityGateError
from jobs.quality import validate
from jobs.settings import Settings
from jobs.snapshots import of_dates, pair

RECURRING_MONTHS = 3
TRADE_KINDS = ("order", "order_payment", "recurring_transfer")
PURCHASE_KINDS = ("order", "recurring_transfer")


def seen_by(day) -> Column:
    """Whether a record is seen on `day` (a date or a column): dated at or before it and arrived by it."""
    return (F.col("trade_date") <= day) & (F.col("arrived_date") <= day)


def seen_as_of(records: DataFrame, dates: DataFrame) -> DataFrame:
    """The records each snapshot of `dates` (a frame of `as_of_date`) sees (`seen_by`), each with its `as_of_date`."""
    return pair(records, dates, seen_by(F.col("as_of_date")))


def classify(records: DataFrame) -> DataFrame:
    """Add `kind` (order, order_payment, recurring_transfer or other) and `is_trade` to each record, as the records seen
    on its `as_of_date` tell (`seen_as_of`)."""
    orders = records.where(F.col("record_type") == "order")
    order_ids = orders.select("as_of_date", F.col("record_id").alias("reference"), F.lit(True).alias("_pays_order"))
    pair = ["as_of_date", "payer_id", "payee_id"]
    ordering_pairs = orders.select(*pair).distinct().withColumn("_pair_orders", F.lit(True))
    transfer_months = (
        records.where(F.col("record_type") == "transfer")
        .groupBy(*pair)
        .agg(F.countDistinct("trade_month").alias("_pair_months"))
    )
    flag = lambda name: F.coalesce(F.col(name), F.lit(False))  # noqa: E731
    kind = (
        F.when(F.col("record_type") == "order", "order")
        .when(flag("_pays_order") | flag("_pair_orders"), "order_payment")
        .when(F.coalesce(F.col("_pair_months"), F.lit(0)) >= RECURRING_MONTHS, "recurring_transfer")
        .otherwise("other")
    )
    return (
        records.join(order_ids.distinct(), ["as_of_date", "reference"], "left")
        .join(ordering_pairs, pair, "left")
        .join(transfer_months, pair, "left")
        .withColumn("kind", kind)
        .withColumn("is_trade", F.col("kind") != "other")
        .drop("_pays_order", "_pair_orders", "_pair_months")
    )


def daily_edges(classified: DataFrame) -> DataFrame:
    """One row per (payer_id, payee_id, trade_date, kind): amount, records; `purchase_amount` is the amount when the
    kind counts as a purchase (0 otherwise)."""
    purchase = F.when(F.col("kind").isin(*PURCHASE_KINDS), F.col("amount")).otherwise(F.lit(0))
    edge = ["as_of_date", "payer_id", "payee_id", "trade_date", "trade_month", "kind", "is_trade"]
    return classified.groupBy(*edge).agg(
        F.sum("amount").alias("amount"),
        F.sum(purchase).alias("purchase_amount"),
        F.count(F.lit(1)).alias("records"),
        F.max("currency").alias("currency"),
    )


def monthly_edges(daily: DataFrame) -> DataFrame:
    """Daily edges -> silver.trade_edges rows: one per (payer_id, payee_id, month, kind)."""
    edge = ["as_of_date", "payer_id", "payee_id", F.col("trade_month").alias("month"), "kind", "is_trade"]
    return daily.groupBy(*edge).agg(
        F.sum("amount").alias("amount"),
        F.sum("records").alias("records"),
        F.min("trade_date").alias("first_date"),
        F.max("trade_date").alias("last_date"),
        F.max("currency").alias("currency"),
    )


def trade_edges(records: DataFrame, as_of: dt.date) -> DataFrame:
    """silver.trade_records -> silver.trade_edges as seen on `as_of`."""
    dates = of_dates(records.sparkSession, [as_of])
    return seen_as_of(records, dates).transform(classify).transform(daily_edges).transform(monthly_edges)


PAIR = ["payer_id", "payee_id"]


def pairs_changed(records: DataFrame, edges: DataFrame, written, last: dt.date, as_of: dt.date) -> DataFrame:
    """The (payer_id, payee_id) pairs whose edges seen on `as_of` may differ from `edges`, the table as seen on `last`
    (an earlier date) and written at `written`: the pairs of the records seen since (dated or arrived after `last`, or
    loaded after `written`: a late file, a correction), those of the transfers that reference such an order (their
    kind may now be order_payment), and those whose records seen by `last` no longer number what `edges` counted (a
    record corrected into another pair has left its old one)."""
    since = records.where(seen_by(as_of) & (~seen_by(last) | (F.col("_ingested_at") > F.lit(written))))
    orders = since.where(F.col("record_type") == "order").select(F.col("record_id").alias("reference"))
    paying = records.where(seen_by(as_of) & (F.col("record_type") == "transfer")).join(orders, "reference", "left_semi")
    counted = edges.groupBy(*PAIR).agg(F.sum("records").alias("_counted"))
    present = records.where(seen_by(last)).groupBy(*PAIR).agg(F.count(F.lit(1)).alias("_present"))
    left = counted.join(present, PAIR, "full").where(~F.col("_counted").eqNullSafe(F.col("_present")))
    return since.select(*PAIR).unionByName(paying.select(*PAIR)).unionByName(left.select(*PAIR)).distinct()


def records_of(records: DataFrame, pairs: DataFrame) -> DataFrame:
    """What classifying the records of `pairs` needs: their records, and the orders their transfers reference,
    wherever those are."""
    own = records.join(F.broadcast(pairs), PAIR, "left_semi")
    referenced = own.select(F.col("reference").alias("record_id")).where("record_id != ''").distinct()
    orders = records.where(F.col("record_type") == "order").join(referenced, "record_id", "left_semi")
    return own.unionByName(orders).dropDuplicates(["record_id"])


def gated(edges: DataFrame) -> DataFrame:
    """The edges, materialised, once they pass their quality gate (any failure stops: the table is derived)."""
    edges = edges.localCheckpoint()
    gate = validate(edges, "silver.trade_edges")
    if gate.failed:
        raise QualityGateError(f"silver.trade_edges failed its quality gate: {'; '.join(gate.failed)}")
    return edges


def run(spark, settings: Settings, as_of: dt.date) -> int:
    """Bring silver.trade_edges to the records seen by `as_of`; returns the rows written. After an earlier date's run,
    only the pairs whose edges can have changed (`pairs_changed`) are computed again, whole, and replace theirs in one
    commit; nothing new, no commit. On an empty table, or as of a date before the table's, every pair is (one commit
    replaces the table)."""
    records = tables.read(spark, settings, "silver.trade_records")
    table = tables.read(spark, settings, "silver.trade_edges")
    last = table.agg(F.max("as_of_date")).first()[0]
    if last is None or as_of < last:
        edges = gated(trade_edges(records, as_of))
        tables.replace_where(spark, settings, "silver.trade_edges", edges, "true")
        return edges.count()
    written = tables.last_written(spark, settings, "silver.trade_edges")
    pairs = pairs_changed(records, table, written, last, as_of).localCheckpoint()
    if pairs.isEmpty():
        return 0
    edges = gated(trade_edges(records_of(records, pairs), as_of).join(F.broadcast(pairs), PAIR, "left_semi"))
    tables.sync(spark, settings, "silver.trade_edges", edges, pairs)
    return edges.count()

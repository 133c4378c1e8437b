"""Transactions: typing to silver.transactions, and the incremental entity x day aggregates silver.txn_daily."""

from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from jobs import tables
from jobs.ingest.source import Source, blank, month_partitions, reject_reasons
from jobs.settings import Settings

ISO_WITH_OFFSET = "yyyy-MM-dd'T'HH:mm:ssXXX"


def typed_transactions(bronze: DataFrame) -> DataFrame:
    """Bronze text rows -> silver.transactions columns, with `_reject_reason` where a field cannot be typed.
    The business date and hour are the merchant's local ones, read from the timestamp before its offset."""
    ts = F.try_to_timestamp(F.col("ts"), F.lit(ISO_WITH_OFFSET))
    typed = (
        bronze.withColumn("txn_ts", ts)
        .withColumn("txn_date", F.when(ts.isNotNull(), F.to_date(F.substring("ts", 1, 10))))
        .withColumn("local_hour", F.when(ts.isNotNull(), F.substring("ts", 12, 2).cast("int")))
        .withColumn("txn_month", F.trunc("txn_date", "month"))
        .withColumn("amount", F.expr("try_cast(amount AS DECIMAL(18,2))"))
        .withColumn("arrived_date", F.col("_dt"))
    )
    return reject_reasons(
        typed,
        {
            "malformed line": F.col("_corrupt_record").isNotNull(),
            "missing txn_id": blank("txn_id"),
            "missing entity_id": blank("entity_id"),
            "unparseable ts": F.col("txn_ts").isNull(),
            "unparseable amount": F.col("amount").isNull(),
        },
    )


def daily_aggregates(transactions: DataFrame) -> DataFrame:
    """silver.transactions rows -> one row per (entity_id, txn_date, arrived_date) in the silver.txn_daily contract.

    Two aggregations, per payer and then per day, on one shuffle: grouped on the day's keys and then a subset of them,
    and windowed on a subset again, every step keeps the partitioning by (entity_id, txn_date) that the caller's join
    on the touched entity-days brings. A payer is its token's 64-bit hash from here on (see the contract)."""
    success = F.col("status") == "success"
    night = (F.col("local_hour") >= 22) | (F.col("local_hour") < 6)
    day = ["entity_id", "txn_date", "arrived_date"]
    per_payer = (
        transactions.withColumn("payer_key", F.when(F.col("payer_token").isNotNull(), F.xxhash64("payer_token")))
        .groupBy(*day, "payer_key")
        .agg(
            F.first("txn_month").alias("txn_month"),
            F.coalesce(F.sum(F.when(success, F.col("amount"))), F.lit(0)).alias("gmv"),
            F.count(F.when(success, 1)).alias("orders"),
            F.count(F.when(F.col("status") == "refund", 1)).alias("refunds"),
            F.count(F.when(F.col("status") == "chargeback", 1)).alias("chargebacks"),
            F.count(F.when(success & night, 1)).alias("night_orders"),
            F.count(F.when(success & (F.col("channel") == "qr"), 1)).alias("qr_orders"),
        )
    )
    paying = (F.col("orders") > 0) & F.col("payer_key").isNotNull()
    sales = F.array_sort(F.collect_list(F.when(paying, F.struct("payer_key", "gmv"))))
    sums = ("gmv", "orders", "refunds", "chargebacks", "night_orders", "qr_orders")
    return (
        per_payer.groupBy(*day)
        .agg(
            F.first("txn_month").alias("txn_month"),
            *[F.sum(c).alias(c) for c in sums],
            F.when(F.size(sales) > 0, sales).alias("payer_sales"),
            F.theta_sketch_agg(F.when(paying, F.col("payer_key"))).alias("payers"),
        )
        .withColumn("gmv", F.col("gmv").cast("decimal(18,2)"))
        .transform(day_increments)
        .withColumn("updated_at", F.current_timestamp())
    )


def day_increments(deliveries: DataFrame) -> DataFrame:
    """What each delivery adds to its business day's non-additive values (active or not, distinct payers, squared
    sales), its day's earlier deliveries taken as known. The deliveries a snapshot may see are a day's first ones in
    arrival order, so the sum of their increments is the day's value as it stood: a window's daily values add up
    without grouping the deliveries by day first. Needs every delivery of the entity-days it is given."""
    day = Window.partitionBy("entity_id", "txn_date").orderBy("arrived_date")

    def increment(value, of_total):
        so_far = F.sum(value).over(day)
        return of_total(so_far) - of_total(so_far - F.col(value))

    payers_so_far = F.coalesce(F.theta_sketch_estimate(F.theta_union_agg("payers").over(day)), F.lit(0))
    return (
        deliveries.withColumn("day_active_increment", increment("orders", lambda n: (n > 0).cast("int")))
        .withColumn("day_gmv_squared_increment", increment("gmv", lambda g: g * g))
        .withColumn("_payers_so_far", payers_so_far)
        .withColumn("day_payers_increment", F.col("_payers_so_far") - F.lag("_payers_so_far", 1, 0).over(day))
        .drop("_payers_so_far")
    )


months_of = month_partitions("txn_month")


def refresh_daily(spark, settings: Settings, accepted: DataFrame) -> None:
    """Recompute silver.txn_daily for exactly the entity-days the batch touched, from silver.transactions; a payment
    re-delivered on a later day moves from its old delivery row to the new one."""
    touched = accepted.select("entity_id", "txn_date", "txn_month").distinct()
    prune = months_of(touched)
    if prune is None:
        return
    scope = touched.drop("txn_month")
    current = tables.read(spark, settings, "silver.transactions").where(prune)
    recomputed = daily_aggregates(current.join(scope, ["entity_id", "txn_date"], "left_semi"))
    tables.sync(spark, settings, "silver.txn_daily", recomputed, scope, prune)


SOURCE = Source(
    name="transactions",
    silver="silver.transactions",
    typed=typed_transactions,
    prune=months_of,
    after_merge=refresh_daily,
    converts_on="txn_date",
    entity_columns=("entity_id",),
)

"""gold.feature_vector: what the PD model sees, one column set per data family: every borrower as of each night, and
each borrower that took a loan as of the day it did (training's snapshots, `backfill`).

Each family (the contract's `families`: name -> feature table) is joined point in time: the family's latest snapshot
dated at or before the as-of date and at most MAX_AGE_DAYS older. A business the family knows nothing about keeps
nulls there and `has_<family>` = 0, so the model can tell "no trade seen" from "little trade".
"""

from __future__ import annotations

import datetime as dt

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from jobs import tables
from jobs.catalog import contract
from jobs.settings import Settings
from jobs.snapshots import dates_of, missing, of_dates, pair, write

TABLE = "gold.feature_vector"
MAX_AGE_DAYS = 31  # a month: the graph is snapshotted at month ends for training


def families() -> dict[str, str]:
    """Data family name -> its feature table, from the contract."""
    return contract(TABLE).extra["families"]


def borrowers(entities: DataFrame, snapshots: DataFrame) -> DataFrame:
    """Every borrower (not the brands) registered by each snapshot's date, or the chosen ones (`jobs.features.
    snapshots`): (entity_id, as_of_date, segment, days_registered)."""
    known = entities.where(F.col("segment") != "brand").select("entity_id", "segment", "registered_date")
    return (
        pair(known, snapshots, F.col("registered_date") <= F.col("as_of_date"))
        .withColumn("days_registered", F.datediff("as_of_date", "registered_date").cast("double"))
        .drop("registered_date")
    )


def latest_snapshots(family: DataFrame, snapshots: DataFrame, max_age_days: int = MAX_AGE_DAYS) -> DataFrame:
    """(as_of_date, family_date): the family's latest snapshot at or before each date, no more than max_age_days
    older; dates without one are left out."""
    dates = family.select(F.col("as_of_date").alias("family_date")).distinct()
    fresh = (F.col("family_date") <= F.col("as_of_date")) & (
        F.col("family_date") >= F.date_sub("as_of_date", max_age_days)
    )
    latest = F.max("family_date").alias("family_date")
    return snapshots.join(F.broadcast(dates), fresh).groupBy("as_of_date").agg(latest)


def with_family(vectors: DataFrame, name: str, family: DataFrame, snapshots: DataFrame) -> DataFrame:
    """Join one family's features (the feature columns of its contract) and its `has_<name>` indicator."""
    columns = [c.name for c in contract(families()[name]).features]
    rows = family.select("entity_id", F.col("as_of_date").alias("family_date"), *columns).withColumn(
        f"has_{name}", F.lit(1)
    )
    return (
        vectors.join(F.broadcast(latest_snapshots(family, snapshots)), "as_of_date", "left")
        .join(rows, ["entity_id", "family_date"], "left")
        .drop("family_date")
        .fillna(0, subset=[f"has_{name}"])
    )


def feature_vectors(entities: DataFrame, family_tables: dict[str, DataFrame], snapshots: DataFrame) -> DataFrame:
    """silver.entities and each family's feature table x snapshots -> gold.feature_vector rows."""
    vectors = borrowers(entities, snapshots)
    dates = snapshots.select("as_of_date").distinct()
    for name, family in family_tables.items():
        vectors = with_family(vectors, name, family, dates)
    return vectors.withColumn("computed_at", F.current_timestamp())


def month_end(day: dt.date) -> dt.date:
    """`day` when it ends its month, else the last day of the month before."""
    return day if (day + dt.timedelta(days=1)).day == 1 else day.replace(day=1) - dt.timedelta(days=1)


def snapshot_dates(spark, settings: Settings, fqn: str) -> set[dt.date]:
    return {r.as_of_date for r in tables.read(spark, settings, fqn).select("as_of_date").distinct().collect()}


def backfill(spark, settings: Settings, wanted: DataFrame) -> int:
    """Vectors for the (entity_id, as_of_date) pairs of `wanted` (training loans) that have none yet; returns how many
    pairs that was. The family snapshots they need are computed first: the payments' and the documents' for those
    pairs alone, the graph's and the farm's for every business at month ends. A row that exists, a family's or a
    vector's, is never recomputed from data that arrived later."""
    from jobs.features import feat_farm, feat_graph, feat_txn, feat_voucher

    todo = missing(spark, settings, TABLE, wanted).localCheckpoint()
    dates = dates_of(todo)
    if not dates:
        return 0
    for family, fqn in ((feat_txn, "gold.feat_txn"), (feat_voucher, "gold.feat_voucher")):
        gap = missing(spark, settings, fqn, todo).localCheckpoint()
        if not gap.isEmpty():
            family.snapshots(spark, settings, gap)
    month_ends = {month_end(d) for d in dates}
    if graph_missing := sorted(month_ends - snapshot_dates(spark, settings, "gold.feat_graph")):
        feat_graph.snapshots(spark, settings, graph_missing)
    if farm_missing := sorted(month_ends - snapshot_dates(spark, settings, "gold.feat_farm")):
        feat_farm.snapshots(spark, settings, farm_missing)
    snapshots(spark, settings, todo)
    return todo.count()


def snapshots(spark, settings: Settings, wanted: DataFrame) -> int:
    """Assemble and write the `wanted` vectors (`jobs.snapshots`); returns rows written."""
    dates = dates_of(wanted)
    window = (F.col("as_of_date") >= F.lit(dates[0] - dt.timedelta(days=MAX_AGE_DAYS))) & (
        F.col("as_of_date") <= F.lit(dates[-1])
    )
    family_tables = {name: tables.read(spark, settings, fqn).where(window) for name, fqn in families().items()}
    vectors = feature_vectors(tables.read(spark, settings, "silver.entities"), family_tables, wanted)
    return write(spark, settings, TABLE, vectors, wanted)


def run(spark, settings: Settings, as_of: dt.date) -> int:
    """The night's vectors: every borrower as of `as_of`."""
    return snapshots(spark, settings, of_dates(spark, [as_of]))

"""Snapshots: what a feature table is computed for, every business as of some dates or chosen businesses each as of
its own date.

A night snapshots every business as of its date: a frame of `as_of_date`. Training snapshots the businesses that took
a loan, each as of the day it did: a frame of (`entity_id`, `as_of_date`). A history of loans asks for a few
businesses on each of many days, and every business on every one of those days would cost as many times more as
there are businesses per loan.
"""

from __future__ import annotations

import datetime as dt

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from jobs import tables
from jobs.settings import Settings
from jobs.tables import in_list


def of_dates(spark, dates) -> DataFrame:
    """Every business as of each of `dates`."""
    return spark.createDataFrame([(d,) for d in sorted(set(dates))], "as_of_date date")


def dates_of(snapshots: DataFrame) -> list[dt.date]:
    return sorted(r.as_of_date for r in snapshots.select("as_of_date").distinct().collect())


def chosen(snapshots: DataFrame) -> bool:
    """Whether the snapshots are of chosen businesses (else of every business)."""
    return "entity_id" in snapshots.columns


def pair(rows: DataFrame, snapshots: DataFrame, seen: Column) -> DataFrame:
    """Each snapshot with the rows (of `entity_id`s) it may see, `seen` a condition on the rows and `as_of_date`: for
    a chosen business, only its own rows."""
    if chosen(snapshots):
        snapshots = snapshots.withColumnRenamed("entity_id", "_snapshot_entity")
        seen = (F.col("entity_id") == F.col("_snapshot_entity")) & seen
    return rows.join(F.broadcast(snapshots), seen).drop("_snapshot_entity")


def missing(spark, settings: Settings, fqn: str, wanted: DataFrame) -> DataFrame:
    """The (`entity_id`, `as_of_date`) pairs of `wanted` that the table `fqn` has no row for."""
    have = tables.read(spark, settings, fqn).select("entity_id", "as_of_date")
    return wanted.join(have, ["entity_id", "as_of_date"], "left_anti")


def write(spark, settings: Settings, fqn: str, features: DataFrame, snapshots: DataFrame) -> int:
    """Replace the snapshots' rows of `fqn` with `features`: a date's partition, or a chosen business's rows of it (the
    other businesses' rows that date are kept). Returns the rows written."""
    where = in_list("as_of_date", [d.isoformat() for d in dates_of(snapshots)])
    if chosen(snapshots):
        tables.replace_rows_of(spark, settings, fqn, features, snapshots, where)
    else:  # whole dates: nothing of them is kept, so nothing is read back
        tables.replace_where(spark, settings, fqn, features, where)
    written = tables.read(spark, settings, fqn).where(where)
    return written.join(F.broadcast(snapshots), snapshots.columns, "left_semi").count()

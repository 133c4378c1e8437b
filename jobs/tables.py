"""Reading and writing the lakehouse's Delta tables, idempotently.

Every write conforms the data to the table's contract first, and every write is idempotent: a rerun replaces the
rows it wrote before (`replace_where`, e.g. a date's partition or a batch's files) or MERGEs on the natural key.
"""

from __future__ import annotations

from jobs.catalog import conform, ensure_table
from jobs.settings import Settings


def read(spark, settings: Settings, fqn: str):
    c = ensure_table(spark, settings, fqn)
    return spark.read.format("delta").load(c.path(settings))


def replace_where(spark, settings: Settings, fqn: str, df, predicate: str) -> None:
    """Atomically replace the rows matching `predicate` (e.g. "as_of_date = '2026-11-24'") with `df`."""
    c = ensure_table(spark, settings, fqn)
    (conform(df, fqn).write.format("delta").mode("overwrite").option("replaceWhere", predicate).save(c.path(settings)))


def merge(spark, settings: Settings, fqn: str, df, prune: str | None = None) -> None:
    """Upsert `df` on the contract's keys: matching rows are updated, new ones inserted. `df` must be unique on keys.

    `prune`, a predicate on the target (e.g. on its partition column), bounds the files the MERGE reads."""
    from delta.tables import DeltaTable

    c = ensure_table(spark, settings, fqn)
    on = " AND ".join([f"t.`{k}` = s.`{k}`" for k in c.keys] + ([f"t.{prune}"] if prune else []))
    (
        DeltaTable.forPath(spark, c.path(settings))
        .alias("t")
        .merge(conform(df, fqn).alias("s"), on)
        .whenMatchedUpdateAll()
        .whenNotMatchedInsertAll()
        .execute()
    )


def sync(spark, settings: Settings, fqn: str, rows, scope, prune: str | None = None) -> None:
    """Make the table's rows that fall in `scope` (a frame of values for some of its columns) exactly `rows`, in one
    commit: matches are updated, new rows inserted, and rows in scope that `rows` no longer has are deleted."""
    from delta.tables import DeltaTable
    from pyspark.sql import functions as F

    c = ensure_table(spark, settings, fqn)
    current = read(spark, settings, fqn).where(prune or "true").join(scope, scope.columns, "left_semi")
    gone = current.join(rows.select(*c.keys), list(c.keys), "left_anti").withColumn("_gone", F.lit(True))
    source = conform(rows, fqn).withColumn("_gone", F.lit(False)).unionByName(gone, allowMissingColumns=True)
    on = " AND ".join([f"t.`{k}` = s.`{k}`" for k in c.keys] + ([f"t.{prune}"] if prune else []))
    values = {f"`{n}`": f"s.`{n}`" for n in c.column_names}
    (
        DeltaTable.forPath(spark, c.path(settings))
        .alias("t")
        .merge(source.alias("s"), on)
        .whenMatchedDelete("s._gone")
        .whenMatchedUpdate(set=values)
        .whenNotMatchedInsert("NOT s._gone", values=values)
        .execute()
    )

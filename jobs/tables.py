"""Reading and writing the lakehouse's Delta tables, idempotently.

Every write conforms the data to the table's contract first, and every write is idempotent: a rerun replaces the
rows it wrote before (`replace_where`, e.g. a date's partition; `replace_rows_of`, e.g. a batch's files) or MERGEs
on the natural key.
"""

from __future__ import annotations

import logging
import random
import time

from jobs.catalog import conform, ensure_table
from jobs.errors import ConcurrentWriteError
from jobs.settings import Settings

log = logging.getLogger(__name__)
COMMIT_ATTEMPTS = 8  # with backoff doubling from about 1 s: up to about 2 min of waiting on a busy table
REPLACE_WHERE_CHECK = "spark.databricks.delta.replaceWhere.constraintCheck.enabled"


def committed(fqn: str, write, attempts: int = COMMIT_ATTEMPTS):
    """Run `write` (one Delta commit) until it commits. A commit that loses a conflict to a concurrent writer (Delta's
    optimistic concurrency) wrote nothing visible, so it is rerun on the new table version after a jittered pause;
    after `attempts` it fails with a message saying so."""
    from delta import exceptions as conflict

    conflicts = tuple(getattr(conflict, name) for name in conflict.__all__)
    for attempt in range(1, attempts + 1):
        try:
            return write()
        except conflicts as e:
            if attempt == attempts:
                raise ConcurrentWriteError(
                    f"{fqn}: a concurrent writer committed first {attempts} times in a row ({type(e).__name__}); "
                    "run again when the other job is done"
                ) from e
            pause = random.uniform(0.5, 1.5) * 2 ** (attempt - 1)
            log.warning("%s: %s, retry %d of %d in %.1f s", fqn, type(e).__name__, attempt, attempts - 1, pause)
            time.sleep(pause)


def in_list(column: str, values) -> str:
    """A SQL predicate: `column` is one of `values` (quoted as strings; keep the list short, see `replace_rows_of`)."""
    quoted = ", ".join("'" + str(v).replace("'", "''") + "'" for v in sorted(set(values)))
    return f"`{column}` IN ({quoted})"


def read(spark, settings: Settings, fqn: str):
    c = ensure_table(spark, settings, fqn)
    return spark.read.format("delta").load(c.path(settings))


def last_written(spark, settings: Settings, fqn: str):
    """When the table's latest commit was made (a timestamp of the Spark session)."""
    from delta.tables import DeltaTable

    c = ensure_table(spark, settings, fqn)
    return DeltaTable.forPath(spark, c.path(settings)).history(1).first()["timestamp"]


def replace_where(spark, settings: Settings, fqn: str, df, predicate: str, checked: bool = True) -> None:
    """Atomically replace the rows matching `predicate` (e.g. "as_of_date = '2026-11-24'") with `df`.

    Delta first checks that every row of `df` matches `predicate`. It evaluates the predicate as written, row by row,
    so an IN list of n values costs n comparisons a row (no hash set): a batch's rows against its own file names grow
    with the square of the batch. `checked=False` skips the check, for rows that match by construction."""
    c = ensure_table(spark, settings, fqn)
    writer = conform(df, fqn).write.format("delta").mode("overwrite").option("replaceWhere", predicate)

    def write():
        spark.conf.set(REPLACE_WHERE_CHECK, str(checked).lower())
        try:
            writer.save(c.path(settings))
        finally:
            spark.conf.unset(REPLACE_WHERE_CHECK)  # back to Delta's default: checked

    committed(fqn, write)


def replace_rows_of(spark, settings: Settings, fqn: str, rows, of, within: str = "true") -> None:
    """Replace the table's rows that match a row of `of` (a frame of some of its columns, e.g. a batch's files) with
    `rows`, in one commit: the rows in `within` (a predicate on the partitions, bounding what is rewritten) that match
    none are written again as they were. A replaceWhere on an IN list of `of` instead would carry the list in the
    commit (22 MB at 208,000 files: more than Delta's reader of its log takes) and test each row against it."""
    from pyspark.sql import functions as F

    kept = read(spark, settings, fqn).where(within).join(F.broadcast(of), of.columns, "left_anti")
    replace_where(spark, settings, fqn, conform(rows, fqn).unionByName(kept), within, checked=False)


def _merge_on_keys(spark, settings: Settings, fqn: str, source, prune: str | None):
    """A Delta MERGE of `source` (alias s) into the table (alias t) on the contract's keys, bounded by `prune`."""
    from delta.tables import DeltaTable

    c = ensure_table(spark, settings, fqn)
    on = " AND ".join([f"t.`{k}` = s.`{k}`" for k in c.keys] + ([f"t.{prune}"] if prune else []))
    return DeltaTable.forPath(spark, c.path(settings)).alias("t").merge(source.alias("s"), on)


def merge(spark, settings: Settings, fqn: str, df, prune: str | None = None) -> None:
    """Upsert `df` on the contract's keys: matching rows are updated, new ones inserted. `df` must be unique on keys.

    `prune`, a predicate on the target (e.g. on its partition column), bounds the files the MERGE reads."""
    source = conform(df, fqn)
    committed(
        fqn,
        lambda: (
            _merge_on_keys(spark, settings, fqn, source, prune)
            .whenMatchedUpdateAll()
            .whenNotMatchedInsertAll()
            .execute()
        ),
    )


def insert_new(spark, settings: Settings, fqn: str, df) -> None:
    """Insert the rows of `df` whose keys the table lacks; a row whose key it holds is left as it is. For tables whose
    rows are written once (a ledger): cheaper than `merge`, which rewrites the files of the keys it matches."""
    source = conform(df, fqn)
    committed(fqn, lambda: _merge_on_keys(spark, settings, fqn, source, None).whenNotMatchedInsertAll().execute())


def sync(spark, settings: Settings, fqn: str, rows, scope, prune: str | None = None) -> None:
    """Make the table's rows that fall in `scope` (a frame of values for some of its columns) exactly `rows`, in one
    commit: matches are updated, new rows inserted, and rows in scope that `rows` no longer has are deleted."""
    from pyspark.sql import functions as F

    c = ensure_table(spark, settings, fqn)
    current = read(spark, settings, fqn).where(prune or "true").join(scope, scope.columns, "left_semi")
    gone = current.join(rows.select(*c.keys), list(c.keys), "left_anti").withColumn("_gone", F.lit(True))
    source = conform(rows, fqn).withColumn("_gone", F.lit(False)).unionByName(gone, allowMissingColumns=True)
    values = {f"`{n}`": f"s.`{n}`" for n in c.column_names}
    committed(
        fqn,
        lambda: (
            _merge_on_keys(spark, settings, fqn, source, prune)
            .whenMatchedDelete("s._gone")
            .whenMatchedUpdate(set=values)
            .whenNotMatchedInsert("NOT s._gone", values=values)
            .execute()
        ),
    )

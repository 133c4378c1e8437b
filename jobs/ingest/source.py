"""One ingest flow for every landing source: landing -> bronze -> silver, with quarantine and reconciliation.

CSV sources are read by Spark's CSV reader in the landing contract; sources delivered as other files (GeoJSON,
GeoTIFF, PDF with sidecars) bring their own `Source.read`, which turns the batch's files into bronze rows.

Each step is idempotent, and the ledger is written last, so a run that dies anywhere is simply run again:
bronze rows of the batch's files are replaced (not appended twice), silver is MERGEd on its keys, quarantine rows
of the batch's files are replaced, and only then, once every source of the run is loaded, are the batches recorded and
their files marked as loaded (one commit each for the whole run: `record_batches`). A batch quarantined above
INGEST_MAX_QUARANTINED_SHARE is recorded with its top reasons and refused before that last step, so it fails loudly,
and again on every rerun, until its files are fixed.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from jobs import tables
from jobs.catalog import contract
from jobs.errors import ReconciliationError
from jobs.ingest.currency import daily_rates, in_reporting_currency
from jobs.ingest.landing import LandingFile, csv_rules, discover, has_landed, problem, unloaded, unreachable
from jobs.pii import token_key, tokenise, tokenise_line
from jobs.quality import validate
from jobs.settings import Settings
from jobs.tables import in_list

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Source:
    """How one landing source becomes its silver table."""

    name: str  # landing source, also bronze.<name> and quarantine.<name>
    silver: str  # silver table fqn
    typed: Callable[[DataFrame], DataFrame]  # bronze rows -> silver columns + `_reject_reason` (null when typed)
    prune: Callable[[DataFrame], str | None] = lambda batch: None  # target predicate that bounds the MERGE
    after_merge: Callable[..., None] | None = None  # (spark, settings, accepted rows) -> None
    entity_columns: tuple[str, ...] = ()  # columns that must name an entity of silver.entities
    # the business-date column at whose day's rate `amount` in `currency` converts to the reporting currency; None:
    # the source carries no money
    converts_on: str | None = None
    # bronze rows -> the same with their personal fields judged (and normalised) in clear text, before tokenising
    before_tokens: Callable[[DataFrame], DataFrame] | None = None
    # (spark, batch files, run_id, max file bytes) -> bronze rows, each with `_file_problem` (why its file is
    # rejected whole, or null); None: CSV in the landing contract
    read: Callable[..., DataFrame] | None = None

    @property
    def bronze(self) -> str:
        return f"bronze.{self.name}"

    @property
    def quarantine(self) -> str:
        return f"quarantine.{self.name}"


@dataclass(frozen=True)
class BatchCounts:
    source: str
    files: int
    bronze_rows: int
    accepted: int
    duplicates: int
    quarantined: int  # rows
    rejected_files: int  # files quarantined whole (unreadable as the contract says); they add no rows
    # the most frequent quarantine reasons: (reason, rows or files rejected whole, "file line n" of one of them)
    top_reasons: tuple[tuple[str, int, str], ...] = ()

    @property
    def reconciles(self) -> bool:
        return self.bronze_rows == self.accepted + self.duplicates + self.quarantined

    @property
    def quarantined_share(self) -> float:
        """The share of the batch's rows quarantined; 1 when every file it took was rejected whole."""
        if self.bronze_rows:
            return self.quarantined / self.bronze_rows
        return 1.0 if self.rejected_files and self.rejected_files == self.files else 0.0

    def too_much_quarantined(self, max_share: float) -> str | None:
        """Why the batch is refused (the share and the top reason with an example), or None."""
        if self.quarantined_share <= max_share or not self.top_reasons:
            return None
        reason, rows, example = self.top_reasons[0]
        return (
            f"{self.source}: {self.quarantined_share:.0%} of the batch quarantined ({self.quarantined:,} of "
            f"{self.bronze_rows:,} rows, {self.rejected_files} of {self.files} files whole); top reason: {reason} "
            f"({rows:,}, e.g. {example})"
        )


@dataclass(frozen=True)
class LoadedBatch:
    """A source's batch, loaded into bronze, silver and quarantine, before it is recorded (`record_batches`)."""

    counts: BatchCounts
    files: list[tuple[LandingFile, str, int]]  # each file: its status for the ledger, the rows it put in bronze


TOP_REASONS = 3


def quarantine_summary(quarantine: DataFrame) -> tuple[int, tuple[tuple[str, int, str], ...]]:
    """A batch's quarantine rows -> (rows quarantined, not counting files rejected whole; its top reasons, each with
    its count and the file and line of its first row)."""
    found = (
        quarantine.groupBy("stage", "reason")
        .agg(F.count("*").alias("rows"), F.min(F.struct("_source_file", "_row_number")).alias("first"))
        .collect()
    )
    rows = sum(r.rows for r in found if r.stage != "file")
    ranked = sorted(found, key=lambda r: (-r.rows, r.reason))[:TOP_REASONS]
    where = [
        r.first._source_file + (f" line {r.first._row_number}" if r.stage != "file" else " (whole file)")
        for r in ranked
    ]
    return rows, tuple((r.reason, r.rows, w) for r, w in zip(ranked, where, strict=True))


def reject_reasons(df: DataFrame, checks: dict[str, object]) -> DataFrame:
    """Add `_reject_reason`: the names of the failed checks (each a boolean Column that is true on failure),
    joined by '; ', or null when every check passes."""
    failed = [F.when(F.coalesce(cond, F.lit(True)), F.lit(reason)) for reason, cond in checks.items()]
    joined = F.concat_ws("; ", *failed)
    return df.withColumn("_reject_reason", F.when(joined != "", joined))


def reject_unknown_entities(typed: DataFrame, registry: DataFrame, columns: tuple[str, ...]) -> DataFrame:
    """Add `unknown <column>` to the reject reason of rows whose entity id the registry does not hold (a blank id
    is the typing's concern)."""
    known = registry.select(F.col("entity_id").alias("_known_id")).distinct()
    for column in columns:
        typed = typed.join(F.broadcast(known), F.col(column) == F.col("_known_id"), "left")
        unknown = F.when(F.col("_known_id").isNull() & ~blank(column), F.lit(f"unknown {column}"))
        reason = F.concat_ws("; ", "_reject_reason", unknown)
        typed = typed.withColumn("_reject_reason", F.when(reason != "", reason)).drop("_known_id")
    return typed


def blank(column: str):
    return F.col(column).isNull() | (F.trim(F.col(column)) == "")


def latest_per_key(df: DataFrame, keys: list[str]) -> DataFrame:
    """Keep one row per key: the last delivered (by day, file, line)."""
    order = [F.col(c).desc() for c in ["_dt", "_source_file", "_row_number"]]
    w = Window.partitionBy(*keys).orderBy(*order)
    return df.withColumn("_rank", F.row_number().over(w)).where("_rank = 1").drop("_rank")


def with_raw_record(bronze: DataFrame, landing_columns: list[str]) -> DataFrame:
    """Add `_raw`: the row as landed (its bronze fields and where it came from), as JSON, kept for quarantine."""
    record_columns = [*landing_columns, "_dt", "_source_file", "_row_number", "_corrupt_record"]
    return bronze.withColumn("_raw", F.to_json(F.struct(*record_columns)))


ROW_IDENTITY = ["_source_file", "_file_checksum", "_row_number"]


def with_raw_of(gate_rejected: DataFrame, typed: DataFrame) -> DataFrame:
    """The rows the gate rejected (with its `reason`), each with its raw record from `typed` (found by file and line).
    They are few, and already on the driver once: the gate collects them."""
    failed = gate_rejected.select(*ROW_IDENTITY, F.col("reason").alias("_reject_reason"))
    return typed.select(*ROW_IDENTITY, "_raw").join(F.broadcast(failed), ROW_IDENTITY)


def quarantine_rows(rows: DataFrame, stage: str, run_id: str) -> DataFrame:
    """Rejected rows in the quarantine contract: the raw record, the reason, where it came from."""
    return rows.select(
        F.col("_raw").alias("record"),
        F.col("_reject_reason").alias("reason"),
        F.lit(stage).alias("stage"),
        "_source_file",
        "_file_checksum",
        "_row_number",
        F.lit(run_id).alias("run_id"),
        F.current_timestamp().alias("quarantined_at"),
    )


def quarantine_files(spark, files: list[LandingFile], reasons: dict[str, str], run_id: str) -> DataFrame:
    """One quarantine row per file rejected whole (stage `file`, line 0): the file's name and size, and the reason."""
    rows = [
        (json.dumps({"file": f.name, "size_bytes": f.size_bytes}), reasons[f.name], f.name, f.checksum) for f in files
    ]
    schema = "record string, reason string, _source_file string, _file_checksum string"
    return spark.createDataFrame(rows, schema).select(
        "record",
        "reason",
        F.lit("file").alias("stage"),
        "_source_file",
        "_file_checksum",
        F.lit(0).cast("long").alias("_row_number"),
        F.lit(run_id).alias("run_id"),
        F.current_timestamp().alias("quarantined_at"),
    )


def read_landing(spark, files: list[LandingFile], source: str, run_id: str) -> DataFrame:
    """The files' rows as text in the landing contract, with lineage; malformed lines keep their raw text."""
    landing, rules = contract(f"landing.{source}"), csv_rules(source)
    schema = landing.struct_type().add("_corrupt_record", "string")
    for f in schema.fields:
        f.nullable = True
    hadoop_path = spark.sparkContext._jvm.org.apache.hadoop.fs.Path
    by_path = spark.createDataFrame(  # keyed the way Spark names a file in _metadata: a URI path, spaces escaped
        [(hadoop_path(f.path).toUri().toString(), f.name, f.checksum, f.dt) for f in files],
        "_path string, _source_file string, _file_checksum string, _dt date",
    )
    raw = (
        spark.read.schema(schema)
        .options(header=True, mode="PERMISSIVE", columnNameOfCorruptRecord="_corrupt_record")
        .options(encoding=rules.encoding, sep=rules.separator, quote=rules.quote, escape=rules.quote)
        .option("enforceSchema", False)  # headers are checked first (`problem`); never read by position
        .csv([f.path for f in files])
        .withColumn("_path", F.regexp_replace(F.col("_metadata.file_path"), "^file:/+", "/"))
        .withColumn("_order", F.monotonically_increasing_id())
    )
    in_file = Window.partitionBy("_path").orderBy("_order")
    return (
        raw.join(F.broadcast(by_path), "_path")
        .withColumn("_row_number", F.row_number().over(in_file).cast("long"))
        .withColumn("_run_id", F.lit(run_id))
        .withColumn("_ingested_at", F.current_timestamp())
        .withColumn("_file_problem", F.lit(None).cast("string"))  # CSV files are judged before they are read
    )


def read_batch(spark, source: Source, files: list[LandingFile], landing_root: str, run_id: str, max_bytes: int):
    """The batch's landed rows (with `_file_problem`; None when no file can be read) and the files rejected whole,
    each with its one-line reason. CSV files are judged on the driver before Spark reads them (encoding, header);
    other readers judge each file as they read it, on the executors, so their rows are kept (persisted) meanwhile."""
    if source.read is None:
        rules = csv_rules(source.name)
        rejected = {f.name: reason for f in files if (reason := problem(f, rules, landing_root, max_bytes))}
    else:
        rejected = {f.name: reason for f in files if (reason := unreachable(f, landing_root, max_bytes))}
    readable = [f for f in files if f.name not in rejected]
    if not readable:
        return None, rejected
    if source.read is None:
        return read_landing(spark, readable, source.name, run_id), rejected
    landed = source.read(spark, readable, run_id, max_bytes).persist()
    found = landed.where("_file_problem IS NOT NULL").select("_source_file", "_file_problem").distinct().collect()
    return landed, rejected | {r._source_file: r._file_problem for r in found}


def of_files(df: DataFrame, files: list[LandingFile]) -> DataFrame:
    """The rows of `df` (a bronze table) that came from `files`: their `_dt` partitions, then a broadcast semi-join
    on (name, checksum). Not an IN list of the names: Parquet gets that as a filter it serializes again for every
    file it opens, so a batch of many files (a PDF each) costs batch size x files read."""
    if not files:
        return df.where("false")
    days = df.where(in_list("_dt", [f.dt.isoformat() for f in files]))
    return days.join(F.broadcast(file_keys(df.sparkSession, files)), ["_source_file", "_file_checksum"], "left_semi")


def file_keys(spark, files: list[LandingFile]) -> DataFrame:
    """The files as a frame of their lineage columns (`_source_file`, `_file_checksum`)."""
    return spark.createDataFrame([(f.name, f.checksum) for f in files], "_source_file string, _file_checksum string")


def month_partitions(column: str) -> Callable[[DataFrame], str | None]:
    """A `Source.prune`: the MERGE bound is the months (partitions in `column`) the batch touches."""

    def months_of(batch: DataFrame) -> str | None:
        months = [r[0] for r in batch.select(column).distinct().collect()]
        return in_list(column, [m.isoformat() for m in months]) if months else None

    return months_of


def loaded_files(spark, settings: Settings, sources: list[str]) -> dict[str, list]:
    """The ledger's rows of each of `sources` (files loaded before), read in one Spark job."""
    rows = (
        tables.read(spark, settings, "bronze.file_ledger")
        .where(F.col("source").isin(sources))
        .select("source", "file_name", "checksum", "size_bytes", "modified_ns", "ingested_at")
        .collect()
    )
    return {name: [r for r in rows if r.source == name] for name in sources}


def ingest(
    spark,
    settings: Settings,
    landing_root: str,
    source: Source,
    run_id: str,
    through: dt.date | None = None,
    ledger: list | None = None,
) -> LoadedBatch:
    """Load every landing file of `source` (in `dt=` folders up to `through`, when given) not yet in the ledger
    (`ledger`: its rows, when the caller has read them for several sources at once) into bronze, silver and
    quarantine; returns the batch, its reconciliation checked, for `record_batches` to record."""
    if not has_landed(landing_root, source.name):  # no file ever landed for it: no Spark job
        log.info("%s: no landing folder", source.name)
        return LoadedBatch(BatchCounts(source.name, 0, 0, 0, 0, 0, 0), [])
    if ledger is None:
        ledger = loaded_files(spark, settings, [source.name])[source.name]
    oldest_first = sorted(ledger, key=lambda r: r.ingested_at)  # a name loaded twice: its last load wins below
    known = {r.file_name: (r.size_bytes, r.modified_ns, r.checksum) for r in oldest_first}
    todo = unloaded(discover(landing_root, source.name, known, through), {(r.file_name, r.checksum) for r in ledger})
    if not todo:
        log.info("%s: no new landing files", source.name)
        return LoadedBatch(BatchCounts(source.name, 0, 0, 0, 0, 0, 0), [])
    landed, rejected = read_batch(
        spark, source, [f for f, _ in todo], landing_root, run_id, settings.landing_max_file_bytes
    )
    for name, reason in rejected.items():
        log.warning("%s: %s goes to quarantine whole: %s", source.name, name, reason)
    for f, status in todo:
        if status == "redelivered_changed":
            log.warning(
                "%s: %s was delivered again with other content; loading it as a correction", source.name, f.name
            )
    files = [f for f, _ in todo if f.name not in rejected]
    # bronze: replace this batch's rows (a rerun after a crash writes them once), rewriting the days it touches
    if files:
        days = in_list("_dt", [f.dt.isoformat() for f in files])
        landed_rows = landed.where("_file_problem IS NULL")
        tables.replace_rows_of(spark, settings, source.bronze, landed_rows, file_keys(spark, files), days)
    if landed is not None:
        landed.unpersist()
    bronze = of_files(tables.read(spark, settings, source.bronze), files)
    if source.before_tokens:
        bronze = source.before_tokens(bronze)
    personal = [c.name for c in contract(f"landing.{source.name}").columns if c.pii]
    if personal:  # from here on, personal data is tokens only: in silver, in quarantine, in logs
        key = token_key(settings)
        bronze = tokenise(bronze, personal, key)
        if "_corrupt_record" in bronze.columns:  # a line too broken to parse keeps its raw text: mask it too
            header = contract(f"landing.{source.name}").column_names
            bronze = tokenise_line(bronze, "_corrupt_record", [header.index(c) for c in personal], key)

    landed_columns = [c for c in contract(source.bronze).column_names if not c.startswith("_")]
    typed = source.typed(with_raw_record(bronze, landed_columns))
    if source.entity_columns:
        registry = tables.read(spark, settings, "silver.entities")
        typed = reject_unknown_entities(typed, registry, source.entity_columns)
    if source.converts_on:
        rates = daily_rates(
            tables.read(spark, settings, "silver.fx_rates"), settings.reporting_currency, settings.fx_max_age_days
        )
        typed = in_reporting_currency(
            typed, rates, settings.reporting_currency, settings.fx_max_age_days, source.converts_on
        )
    typed = typed.persist()
    typed_rows = typed.agg(
        F.count_if(F.col("_reject_reason").isNull()).alias("valid"), F.count("*").alias("all")
    ).first()
    parse_rejects = quarantine_rows(typed.where("_reject_reason IS NOT NULL"), "parse", run_id)
    valid = typed.where("_reject_reason IS NULL")
    keys = list(contract(source.silver).keys)
    winners = latest_per_key(valid.drop("_raw"), keys).persist()  # the raw records stay in `typed` alone
    winner_rows = winners.count()  # materialised here, so the gate below is timed on its own
    rejects = parse_rejects.unionByName(
        quarantine_files(spark, [f for f, _ in todo if f.name in rejected], rejected, run_id)
    )
    rejected_rows = typed_rows["all"] - typed_rows["valid"] + len(rejected)  # parsing's, and files rejected whole
    if winner_rows == 0:  # header-only files, or every row rejected: nothing to gate or merge
        accepted_rows = 0
    else:
        gate = validate(winners, source.silver)
        rejects = rejects.unionByName(quarantine_rows(with_raw_of(gate.rejected, valid), "gate", run_id))
        rejected_rows += gate.rejected_rows
        accepted = gate.passed  # the winners but a few: its reads are as cheap as a copy's, without the copy
        accepted_rows = winner_rows - gate.rejected_rows
        tables.merge(spark, settings, source.silver, accepted, prune=source.prune(accepted))
        if source.after_merge:
            source.after_merge(spark, settings, accepted)
    batch_files = F.broadcast(file_keys(spark, [f for f, _ in todo]).select("_source_file"))

    def quarantine_of_batch():  # its files' rows, a corrected file's earlier ones too: the table as it is now
        return tables.read(spark, settings, source.quarantine).join(batch_files, "_source_file", "left_semi")

    quarantined, top_reasons = 0, ()
    if rejected_rows or not quarantine_of_batch().isEmpty():  # else nothing to replace: no commit
        tables.replace_rows_of(spark, settings, source.quarantine, rejects, batch_files)
        quarantined, top_reasons = quarantine_summary(quarantine_of_batch())

    per_file = {
        (r["_source_file"], r["_file_checksum"]): r["count"]
        for r in bronze.groupBy("_source_file", "_file_checksum").count().collect()
    }
    counts = BatchCounts(
        source=source.name,
        files=len(todo),
        bronze_rows=sum(per_file.values()),
        accepted=accepted_rows,
        duplicates=typed_rows["valid"] - winner_rows,
        quarantined=quarantined,
        rejected_files=len(rejected),
        top_reasons=top_reasons,
    )
    for df in (typed, winners):
        df.unpersist()
    if not counts.reconciles:
        raise ReconciliationError(f"{source.name}: batch does not reconcile: {counts}")
    log.info("%s: %s", source.name, counts)
    for_ledger = [
        (f, "rejected" if f.name in rejected else status, per_file.get((f.name, f.checksum), 0)) for f, status in todo
    ]
    return LoadedBatch(counts, for_ledger)


def record_batches(spark, settings: Settings, run_id: str, batches: list[LoadedBatch]) -> list[str]:
    """Write the batches' reconciliations to silver.ingest_batches, then mark the files of those not refused as loaded
    in the ledger: one commit each for every source of the run. Returns why each refused batch was refused (a batch
    quarantined above INGEST_MAX_QUARANTINED_SHARE stays out of the ledger, so reruns fail alike until its files
    change)."""
    batches = [b for b in batches if b.counts.files]
    if not batches:
        return []
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    reconciliations = [
        (
            run_id,
            c.source,
            c.files,
            c.bronze_rows,
            c.accepted,
            c.duplicates,
            c.quarantined,
            c.rejected_files,
            [{"reason": r, "rows": n, "example": e} for r, n, e in c.top_reasons],
            now,
        )
        for c in (b.counts for b in batches)
    ]
    schema = contract("silver.ingest_batches").struct_type()
    tables.merge(spark, settings, "silver.ingest_batches", spark.createDataFrame(reconciliations, schema))
    limit = settings.max_quarantined_share
    refused = {b.counts.source: why for b in batches if (why := b.counts.too_much_quarantined(limit))}
    loaded = [
        (b.counts.source, f.name, f.checksum, f.size_bytes, f.modified_ns, rows, status, run_id, now)
        for b in batches
        if b.counts.source not in refused
        for f, status, rows in b.files
    ]
    if loaded:  # a file (name, checksum) is loaded once
        ledger = spark.createDataFrame(loaded, contract("bronze.file_ledger").struct_type())
        tables.insert_new(spark, settings, "bronze.file_ledger", ledger)
    return list(refused.values())

"""Landing sources delivered as files, not CSV lines: each document and its sidecars form one unit, read on the
executors into bronze rows.

A unit is the files of one folder that share a stem (`S1.tif` + `S1.json`; `V1.pdf` + `V1.json` + `V1.ocr.json`).
The driver only groups file names; opening and checking the files happens in `mapInPandas` over the list of units,
so a large batch is read in parallel. A unit is loaded by the batch that delivers any of its files: its rows carry
the lineage of its main file when that is in the batch, else of the first new sidecar (a corrected sidecar alone
loads its unit again, reading the main file from disk). A unit that cannot be read as its contract says yields one
row whose `_file_problem` says why, and its file goes to quarantine whole.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import LongType, StringType, StructField, StructType

from jobs.catalog import contract
from jobs.errors import FileProblem
from jobs.ingest.landing import LandingFile, too_large

UNIT_SCHEMA = (
    "unit string, folder string, _source_file string, _file_checksum string, _dt string, main_checksum string,"
    " problem string, parts array<string>"
)
LINEAGE_READ = ("_source_file", "_file_checksum", "_dt", "_row_number", "_corrupt_record", "_file_problem")


def stem_and_suffix(name: str, suffixes: tuple[str, ...]) -> tuple[str, str | None]:
    """(`V1`, `.ocr.json`) for `V1.ocr.json` when `.ocr.json` is one of `suffixes` (longest match wins); (name, None)
    for a file of no known kind."""
    for suffix in sorted(suffixes, key=len, reverse=True):
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)], suffix
    return name, None


def group_units(files: list[LandingFile], mains: tuple[str, ...], sidecars: tuple[str, ...] = ()) -> list[dict]:
    """The batch's files as units (rows of UNIT_SCHEMA): one per (folder, stem), carrying the lineage of its main
    file (a suffix of `mains`) when that is in the batch, else of its first sidecar; a file of another kind is a
    unit of its own, rejected as unexpected."""
    units: dict[tuple[str, str], dict] = {}
    expected = f"{' or '.join(mains)}{' with ' + ', '.join(sidecars) if sidecars else ''}"
    for f in sorted(files, key=lambda f: f.name):
        folder, name = f.path.rsplit("/", 1)
        stem, suffix = stem_and_suffix(name, (*mains, *sidecars))
        key = (folder, stem if suffix else name)
        unit = units.get(key)
        if unit is None or suffix in mains:
            unit = units[key] = {
                "unit": key[1],
                "folder": folder,
                "_source_file": f.name,
                "_file_checksum": f.checksum,
                "_dt": f.dt.isoformat(),
                "main_checksum": f.checksum if suffix in mains else None,
                "problem": None if suffix else f"unexpected file: expected {expected} files",
                "parts": [key[1] + s for s in (*mains, *sidecars)] if suffix else [name],  # the files a reader opens
            }
    return list(units.values())


def read_sidecar(path: Path, missing: str) -> tuple[str, dict]:
    """The sidecar's text and its JSON object; FileProblem when it is missing (reason `<missing>: ...`) or not a
    JSON object (`bad sidecar: ...`, `bad OCR sidecar: ...` for an OCR sidecar)."""
    if not path.exists():
        raise FileProblem(f"{missing}: its sidecar {path.name} is missing")
    kind = "bad OCR sidecar" if path.name.endswith(".ocr.json") else "bad sidecar"
    try:
        text = path.read_text(encoding="utf-8")
        doc = json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise FileProblem(f"{kind}: {path.name} is not valid JSON ({e})") from None
    if not isinstance(doc, dict):
        raise FileProblem(f"{kind}: {path.name} is not a JSON object")
    return text, doc


def oversized_part(unit: dict, max_bytes: int) -> str | None:
    """Why the unit must not be read: one of its files, in the batch or delivered before, is over the limit."""
    for part in unit["parts"]:
        path = Path(unit["folder"]) / part
        if path.exists() and (reason := too_large(path.stat().st_size, max_bytes)):
            return f"its file {part} is {reason}"
    return None


def read_units(
    spark, units: list[dict], read_unit: Callable[[dict], list[dict]], bronze: str, run_id: str, max_bytes: int
) -> DataFrame:
    """The units' bronze rows, read on the executors: `read_unit(unit)` returns the unit's rows (the bronze
    contract's own columns, and `_corrupt_record` where a part cannot be read as a row) or raises FileProblem. A unit
    with a file over `max_bytes` is not opened."""
    fields = [f for f in contract(bronze).struct_type().fields if not f.name.startswith("_")]
    out = StructType(
        [StructField(f.name, f.dataType, True) for f in fields]
        + [StructField(c, LongType() if c == "_row_number" else StringType(), True) for c in LINEAGE_READ]
    )
    names = out.fieldNames()

    def read_partition(batches: Iterator) -> Iterator:
        import pandas as pd

        for batch in batches:
            rows = []
            for unit in batch.to_dict("records"):
                lineage = {k: unit[k] for k in ("_source_file", "_file_checksum", "_dt")}
                try:
                    if problem := unit["problem"] or oversized_part(unit, max_bytes):
                        raise FileProblem(problem)
                    found = read_unit(unit)
                except FileProblem as e:
                    rows.append({**lineage, "_row_number": 0, "_file_problem": str(e)})
                    continue
                rows += [{**row, **lineage, "_row_number": i} for i, row in enumerate(found, start=1)]
            # object columns: None stays None (not NaN), so Arrow types every column by the schema
            yield pd.DataFrame({n: pd.Series([r.get(n) for r in rows], dtype=object) for n in names})

    parts = max(1, min(len(units), spark.sparkContext.defaultParallelism * 2))
    return (
        spark.createDataFrame(units, UNIT_SCHEMA)
        .repartition(parts)
        .mapInPandas(read_partition, out)
        .withColumn("_dt", F.to_date("_dt"))
        .withColumn("_run_id", F.lit(run_id))
        .withColumn("_ingested_at", F.current_timestamp())
    )

"""`python -m bench.vouchers`: voucher ingest throughput, documents a second.

A simulated world of `--entities` businesses over a year (bad rate 2%: truncated and encrypted PDFs and broken
sidecars among the documents): its entities are ingested untimed, then every voucher file in one batch, timed:
landing -> bronze.vouchers -> silver.voucher_documents, the PDFs opened and checked on the executors. The driver's
discovery of the files (listing and SHA-256) and the GX gate are timed on their own. The ingest runs in its own
process; repeats start from an empty lakehouse. A digest of the loaded rows (bronze, silver, and every quarantine
reason) shows that two runs on the same world, before and after a change, load the same thing. `--world DIR` reuses
(or keeps) the simulated world. Writes bench/results/vouchers.{json,md}.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from bench.common import in_own_process, machine, machine_line, record

DAYS = 365
BAD_RATE = 0.02
RUN_COLUMNS = ("_run_id", "_ingested_at", "run_id", "quarantined_at")  # differ from run to run


def digest(spark, settings, landing: Path) -> str:
    """SHA-256 of what the batch loaded: the voucher tables' rows, run ids and times left out, landing paths made
    relative, in a fixed order."""
    from jobs import tables

    text = []
    for table in ("bronze.vouchers", "silver.voucher_documents", "quarantine.vouchers"):
        df = tables.read(spark, settings, table)
        rows = df.select(*[c for c in df.columns if c not in RUN_COLUMNS]).toPandas()
        lines = sorted(rows.astype(str).agg("|".join, axis=1).str.replace(str(landing.resolve()), "<landing>"))
        text += [table, *lines]
    return hashlib.sha256("\n".join(text).encode()).hexdigest()


def one_world(world: Path, repeats: int) -> dict:
    """In this process: `repeats` first loads of the world's vouchers, each into an empty lakehouse."""
    from jobs import pipeline, tables
    from jobs.ingest import source
    from jobs.settings import load_settings
    from jobs.spark_session import get_spark

    phases: dict[str, float] = {}

    def timed(name, fn):
        def call(*args, **kwargs):
            start = time.perf_counter()
            result = fn(*args, **kwargs)
            phases[name] = phases.get(name, 0.0) + time.perf_counter() - start
            return result

        return call

    source.discover = timed("discover", source.discover)
    source.validate = timed("gate", source.validate)
    landing = world / "landing"
    runs = []
    for _ in range(repeats):
        os.environ["LAKEHOUSE_ROOT"] = tempfile.mkdtemp(prefix="helicopter-bench-vouchers-")
        pipeline.ingest(str(landing), ["entities"])
        phases.clear()
        start = time.perf_counter()
        (counts,) = pipeline.ingest(str(landing), ["vouchers"])
        runs.append({"seconds": time.perf_counter() - start, **phases, **counts})
        settings = load_settings()
        spark = get_spark(settings)
        reasons = tables.read(spark, settings, "quarantine.vouchers").groupBy("reason").count().collect()
        runs[-1]["reasons"] = sorted({r.reason.split(":", 1)[0] for r in reasons})
        runs[-1]["digest"] = digest(spark, settings, landing)
        shutil.rmtree(os.environ["LAKEHOUSE_ROOT"], ignore_errors=True)
    last = runs[-1]
    median = {k: statistics.median(r[k] for r in runs) for k in ("seconds", "discover", "gate")}
    return {
        "vouchers": last["bronze_rows"] + last["rejected_files"],
        "files": last["files"],
        "accepted": last["accepted"],
        "duplicates": last["duplicates"],
        "quarantined": last["quarantined"],
        "rejected_files": last["rejected_files"],
        "reasons": last["reasons"],
        "digest": last["digest"],
        "same_rows_every_run": len({r["digest"] for r in runs}) == 1,
        "repeats": repeats,
        **median,
        "documents_per_second": (last["bronze_rows"] + last["rejected_files"]) / median["seconds"],
        "runs": runs,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--entities", type=int, default=1_000)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--world", type=Path, help="a simulated world's folder: reused when it exists, else kept there")
    p.add_argument("--name", default="vouchers", help="results under bench/results/<name>.{json,md}")
    p.add_argument("--one-world", type=Path, help=argparse.SUPPRESS)  # a world's folder: run in this process
    a = p.parse_args()
    if a.one_world:
        print(json.dumps(one_world(a.one_world, a.repeats)))
        return
    from simulator.world import WorldSpec, simulate

    world = a.world or Path(tempfile.mkdtemp(prefix="helicopter-bench-vouchers-world-"))
    if not (world / "landing").is_dir():
        simulate(WorldSpec(a.entities, DAYS, dt.date(2025, 5, 1), seed=7, bad_rate=BAD_RATE), world)
    measured = in_own_process("bench.vouchers", "--one-world", str(world), "--repeats", str(a.repeats))
    result = {
        "recorded": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "entities": a.entities,
        "days": DAYS,
        "bad_rate": BAD_RATE,
        **measured,
    }
    if a.world is None:
        shutil.rmtree(world, ignore_errors=True)
    record(a.name, result, markdown(result))


def markdown(r: dict) -> str:
    m = r["machine"]
    return "\n".join(
        [
            "# Voucher ingest: documents per second",
            "",
            f"{machine_line(m)}. Recorded {r['recorded']}.",
            "",
            f"Every voucher of a simulated world ({r['entities']:,} businesses x {r['days']} days, bad rate "
            f"{r['bad_rate']:.0%}) in one batch: landing -> bronze.vouchers -> silver.voucher_documents, into an empty "
            "lakehouse whose entities are loaded. Median of the repeats; discovery is the driver's listing and "
            "SHA-256 of the landing files, the gate GX's suite on the batch.",
            "",
            "| vouchers | files | silver + duplicates + quarantined rows, files rejected | repeats | ingest s "
            "| documents/s | discovery s | gate s |",
            "|---:|---:|---|---:|---:|---:|---:|---:|",
            f"| {r['vouchers']:,} | {r['files']:,} | {r['accepted']:,} + {r['duplicates']:,} + {r['quarantined']:,}, "
            f"{r['rejected_files']:,} | {r['repeats']} | {r['seconds']:.1f} | {r['documents_per_second']:,.0f} | "
            f"{r['discover']:.1f} | {r['gate']:.1f} |",
            "",
            f"Each repeat: {', '.join(format(run['seconds'], '.1f') for run in r['runs'])} s. Quarantine reasons: "
            f"{', '.join(r['reasons'])}. Digest of the loaded rows: `{r['digest'][:16]}` "
            f"({'the same' if r['same_rows_every_run'] else 'NOT the same'} in every repeat)."
            + (f" Code: {r['code']}." if r.get("code") else ""),
            "",
        ]
    )


if __name__ == "__main__":
    main()

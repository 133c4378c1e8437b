"""`python -m bench.ingest`: payment ingest throughput, and the share of it spent in the quality gates.

For each size, a simulated world of one year whose merchants make about that many payments (bad rate 0.2%): its
entities are ingested untimed, then every transactions file of the year in one batch, timed: landing -> bronze ->
silver and `silver.txn_daily`, with the GX gate on the batch (`quality.validate`, timed on its own). The anchor, timed
in the same process after each repeat: plain Spark reading the same files (the landing contract's columns, its CSV
rules) and appending them to a Delta table, nothing else. Each size runs in its own process and lakehouse; repeats
start from an empty lakehouse. Writes bench/results/ingest.{json,md}.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from bench.common import in_own_process, machine, machine_line, record

DAYS = 365
PAYMENTS_PER_ENTITY_DAY = 2.4  # the simulator's average, bad rows and re-sent rows included


def plain_append(landing: Path) -> float:
    """Seconds for the anchor: Spark reads the source's CSV files as its landing contract's text columns, with its CSV
    rules, and appends them to a new Delta table. No lineage, typing, dedup, gate, quarantine or daily aggregates."""
    from jobs.catalog import contract
    from jobs.ingest.landing import csv_rules
    from jobs.spark_session import get_spark

    spark, rules = get_spark(), csv_rules("transactions")
    files = sorted(str(p) for p in (landing / "transactions").glob("dt=*/*.csv"))
    target = tempfile.mkdtemp(prefix="helicopter-bench-ingest-anchor-")
    start = time.perf_counter()
    (
        spark.read.schema(contract("landing.transactions").struct_type())
        .options(header=True, encoding=rules.encoding, sep=rules.separator, quote=rules.quote, escape=rules.quote)
        .csv(files)
        .write.format("delta")
        .mode("append")
        .save(target)
    )
    seconds = time.perf_counter() - start
    shutil.rmtree(target, ignore_errors=True)
    return seconds


def one_size(world: Path, repeats: int) -> dict:
    """In this process: `repeats` first loads of the world's payments, each into an empty lakehouse."""
    from jobs import pipeline
    from jobs.ingest import source

    gate_seconds = []
    validate = source.validate

    def timed_validate(df, fqn):  # the real gate, its time recorded
        result = validate(df, fqn)
        gate_seconds.append(result.seconds)
        return result

    source.validate = timed_validate
    runs = []
    for _ in range(repeats):
        os.environ["LAKEHOUSE_ROOT"] = tempfile.mkdtemp(prefix="helicopter-bench-ingest-")
        pipeline.ingest(str(world / "landing"), ["entities"])
        gate_seconds.clear()
        start = time.perf_counter()
        (counts,) = pipeline.ingest(str(world / "landing"), ["transactions"])
        seconds = time.perf_counter() - start
        runs.append(
            {
                "seconds": seconds,
                "gate_seconds": sum(gate_seconds),
                "anchor_seconds": plain_append(world / "landing"),
                **counts,
            }
        )
        shutil.rmtree(os.environ["LAKEHOUSE_ROOT"], ignore_errors=True)
    seconds = statistics.median(r["seconds"] for r in runs)
    gates = statistics.median(r["gate_seconds"] for r in runs)
    anchor = statistics.median(r["anchor_seconds"] for r in runs)
    last = runs[-1]
    return {
        "payments": last["bronze_rows"],
        "files": last["files"],
        "accepted": last["accepted"],
        "duplicates": last["duplicates"],
        "quarantined": last["quarantined"],
        "repeats": repeats,
        "seconds": seconds,
        "gate_seconds": gates,
        "gate_share": gates / seconds,
        "anchor_seconds": anchor,
        "anchor_ratio": statistics.median(r["seconds"] / r["anchor_seconds"] for r in runs),
        "rows_per_second": last["bronze_rows"] / seconds,
        "runs": runs,
    }


def size_series(sizes: list[int], repeats: list[int]) -> list[dict]:
    from simulator.world import WorldSpec, simulate

    results = []
    for payments, n in zip(sizes, repeats, strict=True):
        work = Path(tempfile.mkdtemp(prefix="helicopter-bench-ingest-world-"))
        entities = round(payments / (PAYMENTS_PER_ENTITY_DAY * DAYS))
        simulate(WorldSpec(entities, DAYS, dt.date(2025, 5, 1), seed=7, bad_rate=0.002), work)
        results.append(
            {"entities": entities, **in_own_process("bench.ingest", "--one-size", str(work), "--repeats", str(n))}
        )
        shutil.rmtree(work, ignore_errors=True)
    return results


def markdown(r: dict) -> str:
    m = r["machine"]
    lines = [
        "# Ingest: payments per second, and the quality gates' share",
        "",
        f"{machine_line(m)}. Recorded {r['recorded']}.",
        "",
        f"One year of a simulated world's payments ({DAYS} daily files, bad rate 0.2%) in one batch: landing -> "
        "bronze -> silver.transactions and silver.txn_daily, into an empty lakehouse whose entities are loaded. "
        "Median of the repeats; the gate is GX's suite on the batch (`quality.validate`). The anchor is plain Spark "
        "appending the same CSV files to a Delta table (the landing contract's text columns, nothing else) in the "
        "same process after each repeat; the ratio is the ingest's seconds over the anchor's, the median of the "
        "repeats' ratios.",
        "",
        "| payments | merchants | silver + duplicates + quarantined | repeats | ingest s | payments/s | gate s "
        "| gate share | plain Spark append s | ingest / plain |",
        "|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in r["sizes"]:
        lines.append(
            f"| {s['payments']:,} | {s['entities']:,} | {s['accepted']:,} + {s['duplicates']:,} + "
            f"{s['quarantined']:,} | {s['repeats']} | {s['seconds']:.1f} | {s['rows_per_second']:,.0f} | "
            f"{s['gate_seconds']:.1f} | {s['gate_share']:.0%} | {s['anchor_seconds']:.1f} | {s['anchor_ratio']:.1f} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    p.add_argument("--repeats", type=int, nargs="+", default=[3, 1], help="one per size")
    p.add_argument("--one-size", type=Path, help=argparse.SUPPRESS)  # a world's folder: run in this process
    a = p.parse_args()
    if a.one_size:
        print(json.dumps(one_size(a.one_size, a.repeats[0])))
        return
    result = {
        "recorded": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "sizes": size_series(a.sizes, a.repeats),
    }
    record("ingest", result, markdown(result))


if __name__ == "__main__":
    main()

"""`make bench`: time every stage of the nightly chain on a simulated world and record the results.

Writes `bench/results/<name>.json` and `bench/results/<name>.md` with the machine, the versions, the median of the
repeats of each stage, its throughput, and the driver's peak memory. Run: `python -m bench [--entities N] [--days D]`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import statistics
import tempfile
import time
from importlib.metadata import version
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
PACKAGES = ("pyspark", "delta-spark", "apache-airflow", "great-expectations", "xgboost-cpu", "pyarrow", "deltalake")


def machine() -> dict:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    mem_kb = int(
        next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal"))
    )
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": round(mem_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        **{p: version(p) for p in PACKAGES},
    }


def record(name: str, result: dict, markdown: str) -> None:
    """Write a benchmark's results as bench/results/<name>.json and .md, and print the markdown."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(result, indent=2, default=str) + "\n", encoding="utf-8")
    (RESULTS / f"{name}.md").write_text(markdown, encoding="utf-8")
    print(markdown)


def timed(fn, repeats: int) -> tuple[float, object]:
    """Median wall time of `repeats` calls (each call must be idempotent), and the last result."""
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def run(entities: int, days: int, repeats: int) -> dict:
    work = Path(tempfile.mkdtemp(prefix="helicopter-bench-"))
    os.environ["LAKEHOUSE_ROOT"] = str(work / "lakehouse")
    os.environ["SERVING_URL"] = f"sqlite:///{work}/serving.db"
    from jobs import pipeline, tables
    from jobs.serve import store
    from jobs.settings import load_settings
    from jobs.simulate.world import WorldSpec, simulate
    from jobs.spark_session import get_spark

    spec = WorldSpec(entities=entities, days=days, start=dt.date(2025, 5, 1), seed=7, bad_rate=0.002)
    stages = {}
    t, world = timed(lambda: simulate(spec, work / "world"), 1)
    stages["simulate"] = {"seconds": t, "rows": world["transactions"]}
    as_of = dt.date.fromisoformat(world["end"])
    t, _ = timed(lambda: get_spark(load_settings()), 1)
    stages["spark_start"] = {"seconds": t, "rows": None}
    landing = str(work / "world" / "landing")
    t, counts = timed(lambda: pipeline.ingest(landing), 1)  # a rerun finds nothing new: time the first load only
    stages["ingest"] = {"seconds": t, "rows": sum(c["bronze_rows"] for c in counts)}
    t, _ = timed(lambda: pipeline.ingest(landing), repeats)
    stages["ingest_nothing_new"] = {"seconds": t, "rows": 0}
    for name, fn, rows_of in (  # rows: feature vectors, training loans, limits scored, limits published
        ("features", lambda: pipeline.features(as_of), lambda r: r["gold.feature_vector"]),
        ("train", lambda: pipeline.train(as_of), lambda r: r["train_rows"] + r["valid_rows"]),
        ("score", lambda: pipeline.score(as_of), lambda r: r),
        ("publish", lambda: pipeline.publish(as_of), lambda r: r["rows"]),
    ):
        t, result = timed(fn, repeats)
        stages[name] = {"seconds": t, "rows": rows_of(result)}
    eng = store.engine(load_settings().serving_url)
    limits = tables.read(get_spark(load_settings()), load_settings(), "gold.preapproved_limits")
    ids = [r.entity_id for r in limits.select("entity_id").limit(1000).collect()]  # scored borrowers, not brands
    latencies = []
    for entity_id in ids:
        start = time.perf_counter()
        store.lookup(eng, entity_id)
        latencies.append(time.perf_counter() - start)
    stages["lookup"] = {
        "seconds": statistics.median(latencies),
        "rows": 1,
        "p99_seconds": sorted(latencies)[int(len(latencies) * 0.99) - 1],
    }
    for s in stages.values():
        s["rows_per_second"] = round(s["rows"] / s["seconds"]) if s["rows"] and s["seconds"] else None
    return {
        "entities": entities,
        "days": days,
        "repeats": repeats,
        "stages": stages,
        "driver_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def markdown(result: dict) -> str:
    m = result["machine"]
    lines = [
        f"# Benchmark {result['name']}",
        "",
        f"{m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB; Python {m['python']}, pyspark {m['pyspark']}, "
        f"delta-spark {m['delta-spark']}, xgboost {m['xgboost-cpu']}, Airflow {m['apache-airflow']}, "
        f"GX {m['great-expectations']}.",
        f"World: {result['entities']:,} entities x {result['days']} days; median of {result['repeats']} repeats "
        f"(ingest and simulate: one run). Driver peak RSS {result['driver_peak_rss_mb']} MB (the JVM is apart).",
        "",
        "| stage | seconds (median) | rows | rows/s |",
        "|---|---:|---:|---:|",
    ]
    for name, s in result["stages"].items():
        rows = f"{s['rows']:,}" if s["rows"] is not None else "-"
        rate = f"{s['rows_per_second']:,}" if s["rows_per_second"] else "-"
        lines.append(f"| {name} | {s['seconds']:.4f} | {rows} | {rate} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--entities", type=int, default=1000)
    p.add_argument("--days", type=int, default=500)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--name", default="small")
    a = p.parse_args()
    result = {
        "name": a.name,
        "recorded": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        **run(a.entities, a.days, a.repeats),
    }
    record(a.name, result, markdown(result))


if __name__ == "__main__":
    main()

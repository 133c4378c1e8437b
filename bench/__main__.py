"""`make bench`: time every stage of the nightly chain on simulated worlds of two sizes and record the results.

Small is 1,000 businesses x 500 days (training included); medium is 100,000 businesses x 40 days, about 10 million
payments and trade rows. Forty days is too short for a loan to mature, so medium's nightly scores with the champion
trained on the small world (its registry row adopted), as a night scores with the week's model. Each size runs in
a process of its own. Writes `bench/results/<size>.json` and `.md` (machine, versions, median of each stage's
repeats, throughput, the driver's peak memory) and `bench/results/scaling.md`: each stage's rows per second at both
sizes.
Run: `python -m bench [--sizes small,medium]`, or one world of your own with `--entities N --days D --name NAME`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import os
import resource
import statistics
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from bench.common import RESULTS, machine, machine_line, record, timed

# entities, days, repeats, landing sources left out. Medium leaves the vouchers out: a world's first day brings every
# business's past documents (about a million files at 100,000 businesses, hours at bench.vouchers' rate)
SIZES = {"small": (1_000, 500, 3, ()), "medium": (100_000, 40, 1, ("vouchers",))}
START = dt.date(2025, 5, 1)


def adopt_champion(source_root: str) -> str:
    """Copy the champion rows of the model registry under `source_root` into this run's lakehouse; returns the newest
    one's version. The rows name their booster files, which stay where they are."""
    from pyspark.sql import functions as F

    from jobs import registry, tables
    from jobs.model import pd_model
    from jobs.settings import load_settings
    from jobs.spark_session import get_spark

    spark, here = get_spark(), load_settings()
    there = load_settings({**os.environ, "LAKEHOUSE_ROOT": source_root})
    rows = tables.read(spark, there, pd_model.REGISTRY).where(F.col("status") == registry.CHAMPION)
    tables.merge(spark, here, pd_model.REGISTRY, rows)
    return registry.records(spark, here, pd_model.REGISTRY, registry.CHAMPION)[0].model_version


def run(
    entities: int,
    days: int,
    repeats: int,
    without: tuple[str, ...] = (),
    start: dt.date = START,
    champion_from: str | None = None,
) -> dict:
    """Simulate a world from `start`, then time each stage on it, its landing sources but those `without`. With
    `champion_from` (a lakehouse root), the night scores with that lakehouse's champion instead of training one."""
    work = Path(tempfile.mkdtemp(prefix="helicopter-bench-"))
    os.environ["LAKEHOUSE_ROOT"] = str(work / "lakehouse")
    os.environ["SERVING_URL"] = f"sqlite:///{work}/serving.db"
    from jobs import pipeline, tables
    from jobs.ingest.sources import SOURCES
    from jobs.serve import store
    from jobs.settings import load_settings
    from jobs.spark_session import get_spark
    from simulator.world import WorldSpec, simulate

    spec = WorldSpec(entities=entities, days=days, start=start, seed=7, bad_rate=0.002)
    stages = {}
    t, world = timed(lambda: simulate(spec, work / "world"), 1)
    stages["simulate"] = {"seconds": t, "rows": world["transactions"]}
    as_of = dt.date.fromisoformat(world["end"])
    t, _ = timed(lambda: get_spark(load_settings()), 1)
    stages["spark_start"] = {"seconds": t, "rows": None}
    landing, sources = str(work / "world" / "landing"), [s for s in SOURCES if s not in without]
    for source in sources:  # a rerun finds nothing new: time the first load only
        t, (counts,) = timed(lambda source=source: pipeline.ingest(landing, [source]), 1)
        stages[f"ingest {source}"] = {"seconds": t, "rows": counts["bronze_rows"]}
    ingested = [s for name, s in stages.items() if name.startswith("ingest ")]
    stages["ingest"] = {"seconds": sum(s["seconds"] for s in ingested), "rows": sum(s["rows"] for s in ingested)}
    t, _ = timed(lambda: pipeline.ingest(landing, sources), repeats)
    stages["ingest_nothing_new"] = {"seconds": t, "rows": 0}
    model = adopt_champion(champion_from) if champion_from else None
    train = ("train", lambda: pipeline.train(as_of), lambda r: r["fit_rows"] + r["stop_rows"] + r["test_rows"])
    for name, fn, rows_of in (  # rows: feature vectors, training loans, limits scored, limits published
        ("features", lambda: pipeline.features(as_of), lambda r: r["gold.feature_vector"]),
        *([train] if champion_from is None else []),
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
        "end": world["end"],
        "lakehouse": os.environ["LAKEHOUSE_ROOT"],
        "without": list(without),
        "model": f"adopted {model} from {champion_from}" if champion_from else "trained on this world",
        "repeats": repeats,
        "stages": stages,
        "driver_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def markdown(result: dict) -> str:
    m = result["machine"]
    lines = [
        f"# Benchmark {result['name']}",
        "",
        f"{machine_line(m)}.",
        f"World: {result['entities']:,} entities x {result['days']} days; median of {result['repeats']} repeats "
        f"(ingest and simulate: one run), as of {result['end']}. Driver peak RSS {result['driver_peak_rss_mb']} MB "
        f"(the JVM is apart). PD model: {result['model']}."
        + (f" Landing sources left out: {', '.join(result['without'])}." if result["without"] else ""),
        "",
        "| stage | seconds (median) | rows | rows/s |",
        "|---|---:|---:|---:|",
    ]
    for name, s in result["stages"].items():
        rows = f"{s['rows']:,}" if s["rows"] is not None else "-"
        rate = f"{s['rows_per_second']:,}" if s["rows_per_second"] else "-"
        lines.append(f"| {name} | {s['seconds']:.4f} | {rows} | {rate} |")
    return "\n".join(lines) + "\n"


def scaling(results: list[dict]) -> str:
    """Each stage's rows per second at every size: how its time grows with its input."""
    names = [r["name"] for r in results]
    head = " | ".join(f"{n}: rows | {n}: s | {n}: rows/s" for n in names)
    lines = [
        "# How each stage's time grows with its input",
        "",
        f"Recorded {results[-1]['recorded']} ({results[-1]['machine']['cores']} cores). Worlds: "
        + "; ".join(f"{r['name']} {r['entities']:,} entities x {r['days']} days" for r in results)
        + ". Rows per second that hold as the input grows mean the stage's time grows linearly.",
        "",
        f"| stage | {head} |",
        "|---|" + "---:|" * 3 * len(results),
    ]
    for stage in dict.fromkeys(name for r in results for name in r["stages"]):  # every stage, in order
        cells = []
        for r in results:
            s = r["stages"].get(stage)
            cells += (
                ["-", "-", "-"]
                if s is None
                else [
                    f"{s['rows']:,}" if s["rows"] else "-",
                    f"{s['seconds']:.2f}",
                    f"{s['rows_per_second']:,}" if s["rows_per_second"] else "-",
                ]
            )
        lines.append(f"| {stage} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default="small,medium", help="named sizes, run in order: " + ", ".join(SIZES))
    p.add_argument("--entities", type=int, help="one world of your own instead (trains its own model)")
    p.add_argument("--days", type=int, default=500)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--name", default="custom")
    a = p.parse_args()
    sizes = (
        [(a.name, (a.entities, a.days, a.repeats, ()))] if a.entities else [(n, SIZES[n]) for n in a.sizes.split(",")]
    )
    if sizes[0][0] == "medium":
        p.error("medium scores with the small world's champion: run --sizes small,medium")
    results, start, champion_from = [], START, None
    for name, (entities, days, repeats, without) in sizes:
        # each size in a process of its own, as each Airflow task is: its own Spark driver (its JVM's heap holds
        # nothing of the size before) and its own peak memory. Forked: this process never starts Spark
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork")) as size_process:
            measured = size_process.submit(
                run, entities, days, repeats, without, start, champion_from if name == "medium" else None
            )
            result = {
                "name": name,
                "recorded": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "machine": machine(),
                **measured.result(),
            }
        record(name, result, markdown(result))
        results.append(result)
        start = dt.date.fromisoformat(result["end"]) + dt.timedelta(days=1)  # the next world after its models
        champion_from = result["lakehouse"]
    if len(results) > 1:
        (RESULTS / "scaling.md").write_text(scaling(results), encoding="utf-8")


if __name__ == "__main__":
    main()

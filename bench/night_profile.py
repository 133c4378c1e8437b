"""`python -m bench.night_profile`: where a small night's time goes, step by step: its Spark queries and Delta commits.

On a small world the night costs what its fixed overheads cost, whatever the rows: this is the profile that the test
suite, `make demo` and a quiet night all pay. Two nights on one simulated world (the first load, which also trains the
first model, then one new day), each step timed, with:
- the Spark SQL queries it ran (Spark's own status store, as its UI shows them), grouped by where they were called
  from, with their count and seconds;
- the Delta commits it made (new `_delta_log` versions under the lakehouse).
Then each source ingested alone once more with nothing new in its landing folder: what a quiet source costs a night.
Last, a first load on smaller worlds, scored by the champion the profiled world trained: how little of a small
night's cost depends on its size. The anchors, timed in the same session after the nights (the machine's speed moves
by a third within an hour): plain Spark appending the profiled world's payment files to a Delta table
(`bench.ingest.plain_append`), and the smallest Delta round trip, a one-row append and a count (the median of
ROUND_TRIPS), against which each night is quoted as a ratio.

Writes bench/results/night_profile.{json,md}.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import statistics
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from bench.common import machine, machine_line, record

TOP_CALLERS = 12


def commits(lakehouse: Path) -> int:
    """Delta commits made so far under the lakehouse: one log file per table version."""
    return sum(1 for _ in lakehouse.glob("*/*/_delta_log/*.json"))


STORE_POLLS = 100  # of 50 ms: up to 5 s for the status store to write the last ends


def finished_queries(spark, since: int) -> tuple[list[tuple[str, float]], int]:
    """The top-level SQL queries Spark finished with an id from `since` on (its status store keeps the latest
    `spark.sql.ui.retainedExecutions`, UI or not): (where called from, seconds) each, and the id to start from next.
    Spark records a query's end asynchronously: its listener bus, drained first, then the status store, which may
    write a short query's end a moment later (every query asked for has ended when this is called)."""
    spark.sparkContext._jsc.sc().listenerBus().waitUntilEmpty()
    store = spark._jsparkSession.sharedState().statusStore()
    for _ in range(STORE_POLLS):
        it, executions = store.executionsList().iterator(), []
        while it.hasNext():
            if (e := it.next()).executionId() >= since:
                executions.append(e)
        if all(e.completionTime().isDefined() for e in executions):
            break
        time.sleep(0.05)
    found, next_id = [], since
    for e in executions:
        if e.completionTime().isEmpty():
            continue
        next_id = max(next_id, e.executionId() + 1)
        if e.rootExecutionId() in (-1, e.executionId()):  # a nested query's time is its root's
            seconds = (e.completionTime().get().getTime() - e.submissionTime()) / 1000
            found.append((caller(e.description()), seconds))
    return found, next_id


def caller(description: str) -> str:
    """A query's description (Spark's `what at where`, or a job description), the project's paths made relative."""
    return description.replace(str(Path(__file__).resolve().parents[1]) + "/", "")


def profile_night(spark, settings, landing: str, as_of: dt.date) -> dict:
    """Run the night's steps for `as_of`; per step: seconds, queries, commits, and its costliest callers."""
    from jobs import pipeline

    lakehouse, since, steps = Path(settings.lakehouse_root), finished_queries(spark, 0)[1], {}
    for step in pipeline.NIGHT:
        before, start = commits(lakehouse), time.perf_counter()
        getattr(pipeline, step)(**pipeline.night_arguments(step, landing, as_of), settings=settings)
        seconds = time.perf_counter() - start
        queries, since = finished_queries(spark, since)
        by_caller = defaultdict(lambda: [0, 0.0])
        for where, s in queries:
            by_caller[where][0] += 1
            by_caller[where][1] += s
        top = sorted(by_caller.items(), key=lambda kv: -kv[1][1])[:TOP_CALLERS]
        steps[step] = {
            "seconds": round(seconds, 1),
            "queries": len(queries),
            "query_seconds": round(sum(s for _, s in queries), 1),
            "commits": commits(lakehouse) - before,
            "top": [{"caller": w, "queries": n, "seconds": round(s, 1)} for w, (n, s) in top],
        }
        print(f"{as_of} {step}: {steps[step]['seconds']} s, {len(queries)} queries, {steps[step]['commits']} commits")
    return steps


def profile_nothing_new(spark, settings, landing: str) -> dict:
    """Ingest each source alone once more, when its landing folder holds nothing new (the ledger read included, as
    a night reads it for every source at once): per source seconds, queries and commits."""
    from jobs import pipeline
    from jobs.ingest.sources import SOURCES

    lakehouse, since, found = Path(settings.lakehouse_root), finished_queries(spark, 0)[1], {}
    for source in SOURCES:
        before, start = commits(lakehouse), time.perf_counter()
        loaded = pipeline.ingest(landing, [source], settings=settings)
        seconds = time.perf_counter() - start
        queries, since = finished_queries(spark, since)
        if any(b["files"] for b in loaded):
            raise SystemExit(f"{source}: files were loaded again; a night with nothing new cannot be measured")
        found[source] = {"seconds": round(seconds, 2), "queries": len(queries), "commits": commits(lakehouse) - before}
        print(f"nothing new, {source}: {found[source]['seconds']} s, {len(queries)} queries")
    return found


def night_totals(steps: dict) -> dict:
    """A night's seconds, Spark queries and Delta commits: the sums over its steps."""
    return {k: round(sum(s[k] for s in steps.values()), 1) for k in ("seconds", "queries", "commits")}


ROUND_TRIPS = 20


def anchors(spark, landing: Path, work: Path) -> dict:
    """Plain Spark on the same machine in the same session: seconds to append the world's payment files to a Delta
    table, and the median seconds of a one-row Delta append and a count of the table."""
    from bench.ingest import plain_append

    table, trips = str(work / "anchor-round-trip"), []
    for _ in range(ROUND_TRIPS):
        start = time.perf_counter()
        spark.range(1).write.format("delta").mode("append").save(table)
        spark.read.format("delta").load(table).count()
        trips.append(time.perf_counter() - start)
    return {"plain_append": round(plain_append(landing), 2), "round_trip": round(statistics.median(trips), 3)}


SIZES = ((10, 10), (40, 120))  # (businesses, days) of the smaller worlds' first loads


def first_loads_by_size(spark, model, sizes, seed: int, work: Path) -> list[dict]:
    """A first load (every step of a night) into a new lakehouse per world size, each world drawn from the day after
    `model` (a registered champion) was trained, which is registered in each lakehouse to score it."""
    import os

    from jobs import registry
    from jobs.model import pd_model
    from jobs.settings import load_settings
    from simulator.world import WorldSpec, simulate

    found = []
    for entities, days in sizes:
        name = f"{entities}x{days}"
        start = model.trained_as_of + dt.timedelta(days=1)
        world = simulate(WorldSpec(entities=entities, days=days, start=start, seed=seed), work / f"w-{name}")
        env = {"LAKEHOUSE_ROOT": str(work / f"lakehouse-{name}"), "SERVING_URL": f"sqlite:///{work}/serving-{name}.db"}
        settings = load_settings({**os.environ, **env})
        registry.register(spark, settings, pd_model.REGISTRY, model)
        steps = profile_night(spark, settings, str(work / f"w-{name}" / "landing"), dt.date.fromisoformat(world["end"]))
        found.append({"entities": entities, "days": days, "payments": world["transactions"], **night_totals(steps)})
    return found


def markdown(result: dict) -> str:
    w, m = result["world"], machine_line(result["machine"])
    out = [
        "# Where a small night's time goes",
        "",
        f"{m}. A world of {w['entities']} businesses over {w['days']} days (seed {w['seed']}); "
        "each night in the same Spark session (local[2]), the second on one new day.",
        "",
        "| night | step | seconds | Spark queries | seconds in queries | Delta commits |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for night, steps in result["nights"].items():
        for step, s in steps.items():
            out.append(
                f"| {night} | {step} | {s['seconds']} | {s['queries']} | {s['query_seconds']} | {s['commits']} |"
            )
        total = night_totals(steps)
        out.append(f"| {night} | **night** | **{total['seconds']}** | {total['queries']} | | {total['commits']} |")
    anchor = result["anchors"]
    out += [
        "",
        f"Anchors, in the same session after the nights: plain Spark appends the world's payment files to a Delta "
        f"table in {anchor['plain_append']} s; the smallest Delta round trip (a one-row append and a count) takes "
        f"{anchor['round_trip']} s (median of {ROUND_TRIPS}). The nights in round trips: "
        + ", ".join(
            f"{night} {night_totals(steps)['seconds'] / anchor['round_trip']:.0f}"
            for night, steps in result["nights"].items()
        )
        + ".",
    ]
    idle = result["nothing_new"]
    out += [
        "",
        "## A source with nothing new",
        "",
        "After the second night, each source ingested alone once more, its landing folder holding no new file (the "
        "ledger read once per call, as a night reads it once for every source).",
        "",
        "| source | seconds | Spark queries | Delta commits |",
        "|---|---:|---:|---:|",
        *[f"| {source} | {s['seconds']} | {s['queries']} | {s['commits']} |" for source, s in idle.items()],
        f"| **all {len(idle)}** | **{round(sum(s['seconds'] for s in idle.values()), 2)}** "
        f"| {sum(s['queries'] for s in idle.values())} | {sum(s['commits'] for s in idle.values())} |",
    ]
    w_first = night_totals(result["nights"]["first load"])
    out += [
        "",
        "## A first load, by world size",
        "",
        "Every step of a night on an empty lakehouse, in the same Spark session after the nights above (so on a warm "
        "JVM). The smaller worlds are scored by the champion the first world trained, registered in their lakehouses; "
        "the first world's own first load also trained that model.",
        "",
        "| businesses | days | payments | seconds | Spark queries | Delta commits |",
        "|---:|---:|---:|---:|---:|---:|",
        *[
            f"| {r['entities']} | {r['days']} | {r['payments']:,} | {r['seconds']} | {r['queries']} | {r['commits']} |"
            for r in result["by_size"]
        ],
        f"| {w['entities']} | {w['days']} | {w['payments']:,} | {w_first['seconds']} (model trained) "
        f"| {w_first['queries']} | {w_first['commits']} |",
    ]
    for night, steps in result["nights"].items():
        out += ["", f"## The costliest callers, {night}", ""]
        for step, s in steps.items():
            callers = "; ".join(f"{t['caller']} ({t['queries']}, {t['seconds']} s)" for t in s["top"][:5])
            out.append(f"- **{step}**: {callers}")
    return "\n".join(out) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--entities", type=int, default=80)
    p.add_argument("--days", type=int, default=500)
    p.add_argument("--seed", type=int, default=7)
    a = p.parse_args()

    import os

    from simulator.world import WorldSpec, simulate

    work = Path(tempfile.mkdtemp(prefix="helicopter-bench-night-"))
    os.environ["LAKEHOUSE_ROOT"] = str(work / "lakehouse")
    os.environ["SERVING_URL"] = f"sqlite:///{work}/serving.db"
    from jobs.settings import load_settings
    from jobs.spark_session import get_spark

    world = simulate(WorldSpec(entities=a.entities, days=a.days, start=dt.date(2025, 1, 1), seed=a.seed), work / "w")
    landing, last = work / "w" / "landing", dt.date.fromisoformat(world["end"])
    held = work / "held"  # the last day's files wait for the second night
    for folder in landing.glob(f"*/dt={last.isoformat()}"):
        (held / folder.parent.name).mkdir(parents=True, exist_ok=True)
        shutil.move(folder, held / folder.parent.name / folder.name)
    settings = load_settings()
    spark = get_spark(settings)
    nights = {"first load": profile_night(spark, settings, str(landing), last - dt.timedelta(days=1))}
    for folder in held.glob("*/*"):
        shutil.move(folder, landing / folder.parent.name / folder.name)
    nights["one new day"] = profile_night(spark, settings, str(landing), last)
    from jobs.model import pd_model

    champion = pd_model.current_model(spark, settings, last)
    result = {
        "world": {"entities": a.entities, "days": a.days, "seed": a.seed, "payments": world["transactions"]},
        "machine": machine(),
        "nights": nights,
        "nothing_new": profile_nothing_new(spark, settings, str(landing)),
        "by_size": first_loads_by_size(spark, champion, SIZES, a.seed, work),
        "anchors": anchors(spark, landing, work),
    }
    record("night_profile", result, markdown(result))
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

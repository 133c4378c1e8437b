"""`python -m bench.graph`: what the supply-chain graph costs on a generated trade graph of about a million edges.

A trade graph is generated in Spark in the shape of `silver.trade_records` and written as its Delta table (with
`silver.entities` and `silver.loan_events`): brands <- distributors <- stores, with skewed degrees (a few brands and
distributors serve most of the chain), over 13 months up to AS_OF. Distributors place orders with their brands
(1 to 8 a month) and pay them 30 to 45 days later, most with the order as reference; stores pay their suppliers for
goods every month, mostly their main one, some pairs starting late or stopping; about one transfer in twenty is not
trade (rent, loans: random pairs). Each record is one edge payer -> payee.

Then, timed (median of the repeats, each in the same process on the same tables):

    trade_edges         classification + daily + monthly edges of every record (`trade_edges.trade_edges`, to a
                        no-op sink), `trade_edges.run` rebuilding the table as of the day before AS_OF (the same,
                        its quality gate, the Delta write), and then as of AS_OF (the next day: only the pairs its
                        records changed)
    graph_features      `feat_graph.run`: gold.feat_graph for one as_of (classification again, degrees, volumes,
                        supplier mix, 2-hop reach, PageRank, components, exposure, the Delta write)
    pagerank            `graph_algorithms.pagerank` on the relationships (distinct buyer -> seller pairs of the
                        graph window, GRAPH_WINDOW_DAYS) that gold.feat_graph feeds it
    components          `graph_algorithms.connected_components` + `component_sizes` on the same relationships
    month_ends_*        gold.feat_graph for the 12 month ends before AS_OF, as training's history needs them:
                        `feat_graph.snapshots` of all at once, and `feat_graph.run` for each in turn (one run each)

and each step of graph_features alone (classification and sides, degrees, supplier mix, graph positions, exposure).

Each size runs in its own process (one Spark session each); peak memory is the resident set of the whole process
tree (Python driver + JVM), sampled every 0.2 s. Writes bench/results/graph.{json,md}.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench.common import in_own_process, machine, machine_line, record, timed

AS_OF = dt.date(2026, 6, 30)
MONTH_ENDS = 12  # the month ends before AS_OF a training history snapshots the graph at
MONTHS = 13
RECORDS_PER_STORE = 37  # a store's purchases + its share of the orders, their payments, other transfers
SIZES = "100000,1000000"


# ---- memory of the process tree ----


class TreeMemory:
    """Samples the resident set of this process and all its descendants (the JVM is a child) in a thread; `peak_mb`
    is the largest sum seen since the last `reset`."""

    def __init__(self, every: float = 0.2) -> None:
        self.every, self.peak = every, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._page = os.sysconf("SC_PAGE_SIZE")
        self._thread.start()

    def rss(self) -> int:
        children: dict[int, list[int]] = {}
        pages: dict[int, int] = {}
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                text = stat.read_text()
            except OSError:
                continue
            fields = text[text.rindex(")") + 2 :].split()
            pid = int(stat.parent.name)
            children.setdefault(int(fields[1]), []).append(pid)
            pages[pid] = int(fields[21])
        total, todo = 0, [os.getpid()]
        while todo:
            pid = todo.pop()
            total += pages.get(pid, 0)
            todo += children.get(pid, [])
        return total * self._page

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.peak = max(self.peak, self.rss())

    def reset(self) -> None:
        self.peak = self.rss()

    @property
    def peak_mb(self) -> int:
        return round(max(self.peak, self.rss()) / 2**20)

    def stop(self) -> None:
        self._stop.set()


class Iterations(logging.Handler):
    """Collects the iteration counts that graph_algorithms logs."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.seen: dict[str, int] = {}

    def emit(self, record: logging.LogRecord) -> None:
        name, iterations = record.args[0], record.args[-1]
        self.seen[name] = int(iterations)


# ---- the generated graph ----


def generate(spark, stores: int, seed: int = 7) -> dict:
    """silver.trade_records, silver.entities and silver.loan_events DataFrames of a generated supply chain: `stores`
    stores, a twentieth as many distributors, a twentieth of those brands."""
    from pyspark.sql import functions as F

    distributors, brands = max(stores // 20, 4), max(stores // 400, 2)
    first = F.add_months(F.trunc(F.lit(AS_OF), "month"), -(MONTHS - 1))
    s = iter(range(seed * 1000, seed * 1000 + 100))  # one seed per random column, so that reruns draw the same

    def rand():
        return F.rand(next(s))

    def skewed(n: int, power: float):  # 0..n-1, low ids far more often (power-law degrees)
        return F.floor(F.lit(n) * F.pow(rand(), power)).cast("long")

    def day_in(month):
        return F.date_add(F.add_months(first, month), F.floor(rand() * 28).cast("int"))

    def label(prefix: str, col):
        return F.concat(F.lit(prefix), F.lpad(col.cast("string"), 6, "0"))

    def months_of(df, start, end):
        return df.withColumn("m", F.explode(F.sequence(start, end)))

    def times(df, n):  # each row n times (n >= 1)
        return df.withColumn("k", F.explode(F.sequence(F.lit(1), n)))

    # distributors order from a main brand, one in five from a second one too
    carries = (
        spark.range(distributors, numPartitions=4)
        .select(
            F.col("id").alias("d"), skewed(brands, 2.0).alias("b1"), skewed(brands, 1.0).alias("b2"), rand().alias("u")
        )
        .select("d", F.explode(F.when(F.col("u") < 0.2, F.array("b1", "b2")).otherwise(F.array("b1"))).alias("b"))
        .distinct()
        .withColumn("size", 1 + F.floor(rand() * 7).cast("int"))
    )
    orders = (
        times(
            months_of(carries, F.lit(0), F.lit(MONTHS - 1)),
            F.greatest(F.lit(1), F.floor(F.col("size") * rand() * 1.2).cast("int")),
        )
        .select(
            F.concat_ws("-", F.lit("O"), "d", "b", "m", "k").alias("record_id"),
            F.lit("order").alias("record_type"),
            day_in(F.col("m")).alias("trade_date"),
            label("D", F.col("d")).alias("payer_id"),
            label("B", F.col("b")).alias("payee_id"),
            F.round(F.exp(9.5 + 0.5 * F.randn(next(s))), 2).alias("amount"),
            F.lit(None).cast("string").alias("reference"),
            F.lit("purchase order").alias("memo"),
        )
        .where(F.col("trade_date") <= F.lit(AS_OF))
        .localCheckpoint()
    )
    order_payments = orders.select(
        F.concat(F.lit("P"), F.substring("record_id", 2, 40)).alias("record_id"),
        F.lit("transfer").alias("record_type"),
        F.date_add("trade_date", 30 + F.floor(rand() * 15).cast("int")).alias("trade_date"),
        "payer_id",
        "payee_id",
        "amount",
        F.when(rand() < 0.85, F.col("record_id")).alias("reference"),  # the rest pay without it
        F.lit("order payment").alias("memo"),
    ).where(F.col("trade_date") <= F.lit(AS_OF))
    # stores buy from one to three distributors, mostly the first; some pairs start late, some stop
    pairs = (
        spark.range(stores, numPartitions=4)
        .select(
            F.col("id").alias("st"),
            F.explode(F.sequence(F.lit(0), (rand() < 0.45).cast("int") + (rand() < 0.15).cast("int"))).alias("j"),
        )
        .withColumn("d", skewed(distributors, 2.5))
        .groupBy("st", "d")
        .agg(F.min("j").alias("j"))
        .withColumn("start", F.when(rand() < 0.7, F.lit(0)).otherwise(F.floor(rand() * MONTHS).cast("int")))
        .withColumn(
            "end",
            F.when(rand() < 0.1, F.col("start") + F.floor(rand() * (MONTHS - F.col("start"))).cast("int")).otherwise(
                MONTHS - 1
            ),
        )
    )
    purchases_a_month = F.when(F.col("j") == 0, 1 + F.floor(rand() * 4)).otherwise(F.floor(rand() * 3)).cast("int")
    purchases = (
        months_of(pairs, F.col("start"), F.col("end"))
        .withColumn("n", purchases_a_month)
        .where("n > 0")
        .transform(lambda df: times(df, F.col("n")))
        .select(
            F.concat_ws("-", F.lit("G"), "st", "d", "m", "k").alias("record_id"),
            F.lit("transfer").alias("record_type"),
            day_in(F.col("m")).alias("trade_date"),
            label("S", F.col("st")).alias("payer_id"),
            label("D", F.col("d")).alias("payee_id"),
            F.round(F.exp(7.0 + 0.4 * F.randn(next(s))), 2).alias("amount"),
            F.lit(None).cast("string").alias("reference"),
            F.lit("goods").alias("memo"),
        )
        .where(F.col("trade_date") <= F.lit(AS_OF))
    )
    everyone = stores + distributors + brands

    def anyone():
        i = F.floor(rand() * everyone).cast("long")
        return (
            F.when(i < stores, label("S", i))
            .when(i < stores + distributors, label("D", i - stores))
            .otherwise(label("B", i - stores - distributors))
        )

    others = (
        spark.range(stores * 2, numPartitions=4)
        .select(
            F.concat(F.lit("X"), F.col("id").cast("string")).alias("record_id"),
            F.lit("transfer").alias("record_type"),
            F.date_add(first, F.floor(rand() * F.datediff(F.lit(AS_OF), first)).cast("int")).alias("trade_date"),
            anyone().alias("payer_id"),
            anyone().alias("payee_id"),
            (F.round(F.exp(8.0 + F.randn(next(s))), -2) + 100).alias("amount"),
            F.lit(None).cast("string").alias("reference"),
            F.lit("rent").alias("memo"),
        )
        .where(F.col("payer_id") != F.col("payee_id"))
    )
    records = (
        orders.unionByName(order_payments)
        .unionByName(purchases)
        .unionByName(others)
        .withColumns(
            {
                "record_ts": F.expr(
                    f"timestamp_seconds(unix_date(trade_date) * 86400 + 28800 + cast(rand({next(s)}) * 36000 as long))"
                ),
                "trade_month": F.trunc("trade_date", "month"),
                "currency": F.lit("CNY"),
                "original_amount": F.col("amount"),  # landed in the reporting currency: converted at 1
                "original_currency": F.lit("CNY"),
                "fx_rate": F.lit(1).cast("decimal(18,8)"),
                "arrived_date": F.date_add("trade_date", (rand() < 0.03).cast("int")),  # a few a day late
                "_ingested_at": F.current_timestamp(),
            }
        )
        .withColumn(
            "_source_file",
            F.concat(F.lit("landing/trade/dt="), F.col("arrived_date").cast("string"), F.lit("/trade.csv")),
        )
    )
    ids = spark.range(everyone, numPartitions=1).select(
        F.when(F.col("id") < stores, label("S", F.col("id")))
        .when(F.col("id") < stores + distributors, label("D", F.col("id") - stores))
        .otherwise(label("B", F.col("id") - stores - distributors))
        .alias("entity_id"),
        F.when(F.col("id") < stores, "store")
        .when(F.col("id") < stores + distributors, "distributor")
        .otherwise("brand")
        .alias("segment"),
    )
    entities = ids.select(
        "entity_id",
        "segment",
        F.lit(dt.date(2020, 1, 1)).alias("registered_date"),
        *[
            F.lit(None).cast("string").alias(c)
            for c in ("city", "country", "owner_id_scheme", "owner_name_token", "owner_id_token", "owner_phone_token")
        ],
        F.lit("landing/entities/dt=2020-01-01/entities.csv").alias("_source_file"),
        F.current_timestamp().alias("_ingested_at"),
    )
    late = (
        ids.where("segment != 'brand'")
        .where(rand() < 0.03)
        .withColumn("late", F.date_sub(F.lit(AS_OF), F.floor(rand() * 300).cast("int")))
    )
    cured = late.where(rand() < 0.4).withColumn("late", F.date_add("late", 20))
    loan_events = (
        late.withColumn("event_type", F.lit("dpd30"))
        .unionByName(cured.withColumn("event_type", F.lit("cured")))
        .select(
            F.concat(F.lit("L"), "entity_id").alias("loan_id"),
            "entity_id",
            F.least(F.col("late"), F.lit(AS_OF)).alias("event_date"),
            "event_type",
            F.lit(None).cast("decimal(18,2)").alias("amount"),
            F.lit("landing/loans/dt=2026-06-30/loans.csv").alias("_source_file"),
            F.current_timestamp().alias("_ingested_at"),
        )
    )
    return {"silver.trade_records": records, "silver.entities": entities, "silver.loan_events": loan_events}


def rebuild_then_next_day(spark, settings, run) -> tuple[float, float]:
    """Seconds of `trade_edges.run` as of the day before AS_OF (on an empty table, or on one as of AS_OF: a rebuild),
    then as of AS_OF (only the pairs that AS_OF's records changed)."""
    start = time.perf_counter()
    run(spark, settings, AS_OF - dt.timedelta(days=1))
    middle = time.perf_counter()
    run(spark, settings, AS_OF)
    return middle - start, time.perf_counter() - middle


# ---- one size, in this process ----


def one_size(target: int, repeats: int) -> dict:
    work = Path(tempfile.mkdtemp(prefix="helicopter-bench-graph-"))
    os.environ["LAKEHOUSE_ROOT"] = str(work / "lakehouse")
    memory = TreeMemory()
    from pyspark.sql import functions as F

    from jobs import tables
    from jobs.features import feat_graph, graph_algorithms
    from jobs.settings import load_settings
    from jobs.silver import trade_edges
    from jobs.snapshots import of_dates
    from jobs.spark_session import get_spark

    iterations = Iterations()
    algorithms_log = logging.getLogger(graph_algorithms.__name__)
    algorithms_log.addHandler(iterations)
    algorithms_log.setLevel(logging.INFO)
    settings = load_settings()
    spark = get_spark(settings)
    stages: dict[str, dict] = {}

    def stage(name: str, fn, runs: int, edges: int | None = None):
        memory.reset()
        seconds, result = timed(fn, runs)
        stages[name] = {"seconds": seconds, "runs": runs, "peak_rss_mb": memory.peak_mb}
        if edges is not None:
            stages[name].update(edges=edges, edges_per_second=round(edges / seconds))
        return result

    def write_inputs():
        for fqn, df in generate(spark, max(round(target / RECORDS_PER_STORE), 20)).items():
            tables.replace_where(spark, settings, fqn, df, "true")
        return tables.read(spark, settings, "silver.trade_records").count()

    records_n = stage("generate", write_inputs, 1)
    stages["generate"].update(edges=records_n, edges_per_second=round(records_n / stages["generate"]["seconds"]))
    records = tables.read(spark, settings, "silver.trade_records")

    def noop(df):
        df.write.format("noop").mode("overwrite").save()

    stage("trade_edges", lambda: noop(trade_edges.trade_edges(records, AS_OF)), repeats, records_n)
    memory.reset()
    runs = [rebuild_then_next_day(spark, settings, trade_edges.run) for _ in range(repeats)]
    for name, seconds in zip(("trade_edges_run", "trade_edges_next_day"), map(statistics.median, zip(*runs))):
        stages[name] = {"seconds": seconds, "runs": repeats, "peak_rss_mb": memory.peak_mb, "edges": records_n}
        stages[name]["edges_per_second"] = round(records_n / seconds)
    stage("graph_features", lambda: feat_graph.run(spark, settings, AS_OF), repeats, records_n)
    graph_iterations = dict(iterations.seen)
    month_ends = [dt.date(AS_OF.year, AS_OF.month, 1) - dt.timedelta(days=1)]
    while len(month_ends) < MONTH_ENDS:
        month_ends.append(month_ends[-1].replace(day=1) - dt.timedelta(days=1))
    stage("month_ends_at_once", lambda: feat_graph.snapshots(spark, settings, month_ends), 1, records_n)
    stage("month_ends_one_by_one", lambda: [feat_graph.run(spark, settings, d) for d in month_ends], 1, records_n)
    steps = graph_feature_steps(spark, records, settings, repeats)

    # the relationships that feat_graph hands the algorithms (one graph: AS_OF's), kept on disk so each repeat starts
    # from a scan
    seen = trade_edges.seen_as_of(records, of_dates(spark, [AS_OF]))
    daily = seen.transform(trade_edges.classify).transform(trade_edges.daily_edges)
    links_path = str(work / "links")
    feat_graph.relationships(feat_graph.trade_sides(daily), settings.graph_window_days).write.parquet(links_path)
    links = spark.read.parquet(links_path).drop("as_of_date")
    links_n = links.count()
    stage("pagerank", lambda: noop(graph_algorithms.pagerank(links)), repeats, links_n)
    stage(
        "components",
        lambda: noop(graph_algorithms.component_sizes(graph_algorithms.connected_components(links))),
        repeats,
        links_n,
    )
    components = graph_algorithms.connected_components(links)
    sizes = components.groupBy("component").count()
    edges_table = tables.read(spark, settings, "silver.trade_edges")
    kinds = {r["kind"]: r["count"] for r in seen.transform(trade_edges.classify).groupBy("kind").count().collect()}
    graph = {
        "records": records_n,
        "records_by_kind": kinds,
        "trade_records": sum(n for k, n in kinds.items() if k in trade_edges.TRADE_KINDS),
        "monthly_edges": edges_table.count(),
        "relationships": links_n,
        "vertices": graph_algorithms.vertices_of(links).count(),
        "entities": tables.read(spark, settings, "silver.entities").count(),
        "components": sizes.count(),
        "largest_component": sizes.agg(F.max("count")).first()[0],
        "feat_graph_rows": tables.read(spark, settings, "gold.feat_graph").count(),
        "pagerank_iterations": iterations.seen.get("pagerank"),
        "components_iterations": iterations.seen.get("connected_components"),
        "feat_graph_iterations": graph_iterations,
    }
    memory.stop()
    shutil.rmtree(work, ignore_errors=True)
    return {
        "target_records": target,
        "repeats": repeats,
        "shuffle_partitions": settings.shuffle_partitions,
        "driver_memory": settings.spark_driver_memory,
        "graph": graph,
        "stages": stages,
        "graph_features_steps": steps,
    }


def graph_feature_steps(spark, records, settings, repeats: int) -> dict:
    """Where feat_graph's time goes: each of its steps alone (median seconds), on the records' sides and links
    materialised as graph_features materialises them; the steps add up to a little less than the whole (its joins and
    write)."""
    from jobs import tables
    from jobs.features import feat_graph as fg
    from jobs.ingest.outcomes import delinquent_as_of
    from jobs.silver import trade_edges as te
    from jobs.snapshots import of_dates

    window, dates = settings.graph_window_days, of_dates(spark, [AS_OF])

    def noop(df):
        df.write.format("noop").mode("overwrite").save()

    def sides():
        daily = te.seen_as_of(records, dates).transform(te.classify).transform(te.daily_edges)
        return fg.trade_sides(daily).localCheckpoint()

    times = {}
    times["classify + daily edges + sides"], materialised = timed(sides, repeats)
    times["relationships"], links = timed(lambda: fg.relationships(materialised, window).localCheckpoint(), repeats)
    entities = tables.read(spark, settings, "silver.entities")
    loans = tables.read(spark, settings, "silver.loan_events")
    for name, fn in (
        ("degrees_and_volumes", lambda: noop(fg.degrees_and_volumes(materialised))),
        ("supplier_mix", lambda: noop(fg.supplier_mix(materialised, entities, window))),
        ("graph_positions (PageRank, components, 2-hop reach)", lambda: noop(fg.graph_positions(links))),
        ("exposure", lambda: noop(fg.exposure(materialised, delinquent_as_of(loans, dates), window))),
    ):
        times[name], _ = timed(fn, repeats)
    return times


# ---- the record ----


def markdown(r: dict) -> str:
    m = r["machine"]
    small, large = r["sizes"][0], r["sizes"][-1]
    lines = [
        "# Supply-chain graph: trade_edges, gold.feat_graph, PageRank and components",
        "",
        f"{machine_line(m)}; Spark local[*], {large['shuffle_partitions']} shuffle partitions, driver "
        f"{large['driver_memory']}. Medians of {r['repeats']} repeats (generate: one run). Peak RSS: the process "
        f"tree (Python + JVM) during the stage. Recorded {r['recorded']}.",
        "",
        "## The generated graphs (as of " + AS_OF.isoformat() + ", 13 months)",
        "",
        "| records (edges) | trade records | monthly edges | entities | relationships | vertices | components "
        "| largest | PageRank iterations | components iterations |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in r["sizes"]:
        g = s["graph"]
        lines.append(
            f"| {g['records']:,} | {g['trade_records']:,} | {g['monthly_edges']:,} | {g['entities']:,} | "
            f"{g['relationships']:,} | {g['vertices']:,} | {g['components']:,} | {g['largest_component']:,} | "
            f"{g['pagerank_iterations']} | {g['components_iterations']} |"
        )
    lines += [
        "",
        "Records are the edges payer -> payee (orders, transfers); relationships are the distinct buyer -> seller "
        "pairs with trade in the 365 days, the graph PageRank and components run on.",
        "",
        "## Stages",
        "",
        "| stage | edges | " + " | ".join(f"s at {s['graph']['records']:,}" for s in r["sizes"])
        + " | " + " | ".join(f"edges/s at {s['graph']['records']:,}" for s in r["sizes"])
        + " | peak RSS MB (large) | edges/s ratio large / small |",
        "|---|---|" + "---:|" * (2 * len(r["sizes"]) + 2),
    ]  # fmt: skip
    what = {
        "generate": "records",
        "trade_edges": "records",
        "trade_edges_run": "records",
        "trade_edges_next_day": "records",
        "graph_features": "records",
        "pagerank": "relationships",
        "components": "relationships",
        "month_ends_at_once": "records",
        "month_ends_one_by_one": "records",
    }
    for name in large["stages"]:
        row = [s["stages"][name] for s in r["sizes"]]
        ratio = row[-1]["edges_per_second"] / row[0]["edges_per_second"]
        lines.append(
            f"| {name} | {what[name]} | " + " | ".join(f"{x['seconds']:.1f}" for x in row) + " | "
            + " | ".join(f"{x['edges_per_second']:,}" for x in row)
            + f" | {row[-1]['peak_rss_mb']:,} | {ratio:.2f} |"
        )  # fmt: skip
    lines += [
        "",
        "trade_edges: classification + daily + monthly edges to a no-op sink; trade_edges_run: `trade_edges.run` "
        f"rebuilding the table as of {AS_OF - dt.timedelta(days=1)}, the same with its quality gate and the Delta "
        f"write; trade_edges_next_day: `trade_edges.run` as of {AS_OF} on that table (only the pairs {AS_OF}'s "
        "records changed, computed again and synced); graph_features: `feat_graph.run` for one as_of (with "
        "its own PageRank and components) and the Delta write. An edges/s ratio near "
        f"{large['graph']['records'] / small['graph']['records']:.0f} means the fixed cost per job dominates the "
        "small size; near 1, the cost grows in proportion to the edges. month_ends_at_once and month_ends_one_by_one: "
        f"gold.feat_graph for the {MONTH_ENDS} month ends before {AS_OF} (a training history's snapshots), all in the "
        "same Spark jobs (`feat_graph.snapshots`) and one `feat_graph.run` after another (one run each).",
        "",
        "## Where graph_features' time goes (each step alone, median seconds)",
        "",
        "| step | " + " | ".join(f"s at {s['graph']['records']:,}" for s in r["sizes"]) + " |",
        "|---|" + "---:|" * len(r["sizes"]),
    ]
    for step in large["graph_features_steps"]:
        lines.append(f"| {step} | " + " | ".join(f"{s['graph_features_steps'][step]:.1f}" for s in r["sizes"]) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default=SIZES, help="records (edges) to generate, comma-separated, smallest first")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--one-size", type=int, help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.one_size:
        print(json.dumps(one_size(a.one_size, a.repeats)))
        return
    sizes = []
    for n in a.sizes.split(","):
        start = time.perf_counter()
        sizes.append(in_own_process("bench.graph", "--one-size", n, "--repeats", str(a.repeats)))
        print(f"{int(n):,} records: {time.perf_counter() - start:.0f} s", file=sys.stderr)
    result = {
        "recorded": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "as_of": AS_OF.isoformat(),
        "repeats": a.repeats,
        "sizes": sizes,
    }
    record("graph", result, markdown(result))


if __name__ == "__main__":
    main()

"""silver.trade_edges and gold.feat_graph: trade told apart from other transfers, graph features by hand on a small
chain, point in time, PageRank and components against networkx, and the real UCI Online Retail chain against pandas."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import networkx as nx
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from pyspark.sql import functions as F

from jobs.catalog import contract
from jobs.errors import QualityGateError, SettingsError
from jobs.features import graph_algorithms
from jobs.features.feat_graph import graph_features
from jobs.quality import validate
from jobs.settings import Settings, load_settings
from jobs.silver.trade_edges import classify, seen_as_of, trade_edges
from jobs.snapshots import of_dates

AS_OF = dt.date(2026, 6, 30)
WINDOW = Settings.graph_window_days  # the default graph window, 365 days
NOW = dt.datetime(2026, 7, 1, 2, 0)


def record(record_id, kind, day, payer, payee, amount, reference="", memo="", arrived=None):
    day = dt.date.fromisoformat(day)
    arrived = dt.date.fromisoformat(arrived) if arrived else day
    ts = dt.datetime.combine(day, dt.time(10))
    money = (Decimal(amount), "CNY", Decimal(amount), "CNY", Decimal(1))  # amount and currency, converted and as landed
    return (record_id, kind, ts, day, day.replace(day=1), payer, payee, *money, reference, memo)


def records_frame(spark, rows, arrivals=None):
    """silver.trade_records rows; `arrivals` maps a record_id to a late arrived_date."""
    arrivals = arrivals or {}
    full = [(*r, dt.date.fromisoformat(arrivals[r[0]]) if r[0] in arrivals else r[3], "trade.csv", NOW) for r in rows]
    return spark.createDataFrame(full, contract("silver.trade_records").struct_type())


# a brand B; distributors D1, D2 that order from it; a store S1 that pays both for goods every month; X pays rent
CHAIN = [
    record("O2", "order", "2026-01-15", "D1", "B", "500.00", memo="purchase order"),
    record("O1", "order", "2026-06-10", "D1", "B", "1000.00", memo="purchase order"),
    record("T1", "transfer", "2026-06-20", "D1", "B", "1000.00", reference="O1", memo="order payment"),
    record("O4", "order", "2025-09-01", "D2", "B", "800.00", memo="purchase order"),
    record("G1", "transfer", "2026-04-05", "S1", "D1", "100.00", memo="goods"),
    record("G2", "transfer", "2026-05-05", "S1", "D1", "200.00", memo="goods"),
    record("G3", "transfer", "2026-06-05", "S1", "D1", "300.00", memo="goods"),
    record("G4", "transfer", "2026-02-10", "S1", "D2", "100.00", memo="goods"),
    record("G5", "transfer", "2026-03-10", "S1", "D2", "100.00", memo="goods"),
    record("G6", "transfer", "2026-06-10", "S1", "D2", "200.00", memo="goods"),
    record("R1", "transfer", "2026-05-01", "X", "S1", "5000.00", memo="rent"),
    record("F1", "transfer", "2026-06-15", "D2", "D1", "3000.00", memo="family loan"),
]
# what a snapshot as of AS_OF must not see: a record dated later, and one dated before but arrived later
LATER = [
    record("O9", "order", "2026-07-02", "D1", "B", "9000.00"),
    record("O8", "order", "2026-06-29", "D2", "B", "7000.00"),
    record("G9", "transfer", "2026-07-03", "X", "S1", "100.00"),
]
LATE_ARRIVAL = {"O8": "2026-07-01"}


@pytest.fixture(scope="module")
def chain_inputs(spark):
    entities = spark.createDataFrame(
        [("B", "brand"), ("D1", "distributor"), ("D2", "distributor"), ("S1", "store"), ("X", "offline_merchant")],
        "entity_id string, segment string",
    )
    loans = spark.createDataFrame(
        [
            ("L1", "D1", dt.date(2026, 5, 1), "dpd30"),  # overdue as of AS_OF
            ("L2", "D2", dt.date(2026, 3, 1), "dpd30"),
            ("L2", "D2", dt.date(2026, 3, 20), "cured"),  # cured: not overdue
            ("L3", "S1", dt.date(2026, 7, 1), "dpd60"),  # after AS_OF
        ],
        "loan_id string, entity_id string, event_date date, event_type string",
    )
    return entities, loans


@pytest.fixture(scope="module")
def chain_features(spark, chain_inputs):
    entities, loans = chain_inputs
    out = graph_features(records_frame(spark, CHAIN), entities, loans, of_dates(spark, [AS_OF]), WINDOW)
    return {r.entity_id: r.asDict() for r in out.collect()}


def test_orders_their_payments_and_recurring_transfers_are_trade_one_offs_are_not(spark):
    seen = seen_as_of(records_frame(spark, CHAIN), of_dates(spark, [AS_OF]))
    kinds = {r.record_id: r.kind for r in classify(seen).collect()}
    assert kinds == {
        "O1": "order", "O2": "order", "O4": "order", "T1": "order_payment",
        "G1": "recurring_transfer", "G2": "recurring_transfer", "G3": "recurring_transfer",
        "G4": "recurring_transfer", "G5": "recurring_transfer", "G6": "recurring_transfer",
        "R1": "other", "F1": "other",
    }  # fmt: skip


def test_a_pair_becomes_recurring_only_once_its_third_month_is_seen(spark):
    records = records_frame(spark, CHAIN)
    may = trade_edges(records, dt.date(2026, 5, 31)).where("payer_id = 'S1' AND payee_id = 'D1'").collect()
    june = trade_edges(records, AS_OF).where("payer_id = 'S1' AND payee_id = 'D1'").collect()
    assert {r.kind for r in may} == {"other"} and {r.kind for r in june} == {"recurring_transfer"}


def test_each_night_computes_only_the_pairs_that_changed_and_the_table_equals_a_rebuild(spark, settings):
    from jobs import tables
    from jobs.silver import trade_edges as edges_job

    # T7 pays O8, an order of another pair that arrives late: only then is T7 an order payment
    paid_late = [record("T7", "transfer", "2026-06-25", "S1", "B", "7000.00", reference="O8")]
    records = records_frame(spark, CHAIN + LATER + paid_late, LATE_ARRIVAL)
    tables.replace_where(spark, settings, "silver.trade_records", records, "true")
    table = lambda: tables.read(spark, settings, "silver.trade_edges")  # noqa: E731
    drop = ["as_of_date"]
    for night in (dt.date(2026, 5, 31), AS_OF, dt.date(2026, 7, 1), dt.date(2026, 7, 3)):
        edges_job.run(spark, settings, night)
        assert sorted(table().drop(*drop).collect()) == sorted(trade_edges(records, night).drop(*drop).collect())
    kinds = {
        r.payer_id + r.payee_id: (r.kind, str(r.as_of_date)) for r in table().where("month = '2026-06-01'").collect()
    }
    assert kinds["S1B"] == ("order_payment", "2026-07-01")  # recomputed once O8 arrived, its own pair unchanged
    assert kinds["D2D1"] == ("other", "2026-06-30")  # F1's pair, untouched since it was seen
    version = tables.read(spark, settings, "silver.trade_edges").count(), table_version(spark, settings)
    assert edges_job.run(spark, settings, dt.date(2026, 7, 3)) == 0  # nothing new: no commit
    assert (table().count(), table_version(spark, settings)) == version
    # corrections loaded since, under their old delivery dates: F1 was D2's payment to S1, not to D1; G6 was 250.00
    fixes = {
        "F1": record("F1", "transfer", "2026-06-15", "D2", "S1", "3000.00", memo="family loan"),
        "G6": record("G6", "transfer", "2026-06-10", "S1", "D2", "250.00", memo="goods"),
    }
    rows = [fixes.get(r[0], r) for r in CHAIN + LATER + paid_late]
    loaded_now = F.when(F.col("record_id").isin(*fixes), F.current_timestamp()).otherwise(F.col("_ingested_at"))
    corrected = records_frame(spark, rows, LATE_ARRIVAL).withColumn("_ingested_at", loaded_now)
    tables.replace_where(spark, settings, "silver.trade_records", corrected, "true")
    edges_job.run(spark, settings, dt.date(2026, 7, 3))
    expected = trade_edges(corrected, dt.date(2026, 7, 3)).drop(*drop)
    assert sorted(table().drop(*drop).collect()) == sorted(expected.collect())
    assert table().where("payer_id = 'D2' AND payee_id = 'D1'").isEmpty()  # F1 has left its old pair
    edges_job.run(spark, settings, AS_OF)  # an earlier date rebuilds the table as of it
    assert sorted(table().drop(*drop).collect()) == sorted(trade_edges(corrected, AS_OF).drop(*drop).collect())


def table_version(spark, settings) -> int:
    from delta.tables import DeltaTable

    from jobs.catalog import contract

    path = contract("silver.trade_edges").path(settings)
    return DeltaTable.forPath(spark, path).history(1).first()["version"]


def test_monthly_edges_add_up_amount_count_and_dates(spark):
    edges = trade_edges(records_frame(spark, CHAIN + LATER, LATE_ARRIVAL), AS_OF)
    rows = {(r.payer_id, r.payee_id, str(r.month), r.kind): r for r in edges.collect()}
    assert set(rows) == {
        ("D1", "B", "2026-01-01", "order"), ("D1", "B", "2026-06-01", "order"),
        ("D1", "B", "2026-06-01", "order_payment"), ("D2", "B", "2025-09-01", "order"),
        ("S1", "D1", "2026-04-01", "recurring_transfer"), ("S1", "D1", "2026-05-01", "recurring_transfer"),
        ("S1", "D1", "2026-06-01", "recurring_transfer"), ("S1", "D2", "2026-02-01", "recurring_transfer"),
        ("S1", "D2", "2026-03-01", "recurring_transfer"), ("S1", "D2", "2026-06-01", "recurring_transfer"),
        ("X", "S1", "2026-05-01", "other"), ("D2", "D1", "2026-06-01", "other"),
    }  # fmt: skip
    june = rows[("D1", "B", "2026-06-01", "order")]
    assert (june.amount, june.records, june.first_date, june.is_trade) == (
        Decimal("1000.00"),
        1,
        dt.date(2026, 6, 10),
        True,
    )
    assert rows[("X", "S1", "2026-05-01", "other")].is_trade is False


def test_degrees_and_volumes_by_hand(chain_features):
    f = chain_features
    assert set(f) == {"B", "D1", "D2", "S1"}  # X only paid rent: no trade
    assert (f["B"]["in_degree_365d"], f["B"]["in_volume_365d"]) == (2, 2300.0)  # D1 1500 + D2 800; T1 pays O1
    assert (f["B"]["in_degree_90d"], f["B"]["in_volume_90d"], f["B"]["out_degree_365d"]) == (1, 1000.0, 0)
    assert (f["D1"]["out_volume_365d"], f["D1"]["in_degree_365d"], f["D1"]["in_volume_365d"]) == (1500.0, 1, 600.0)
    assert (f["S1"]["out_degree_90d"], f["S1"]["out_volume_90d"], f["S1"]["out_volume_365d"]) == (2, 800.0, 1000.0)
    assert (f["S1"]["in_degree_365d"], f["D2"]["in_volume_365d"]) == (0, 400.0)  # rent and the loan are not trade


def test_tenure_concentration_brand_share_and_stability_by_hand(chain_features):
    f = chain_features
    assert {e: f[e]["tenure_months"] for e in f} == {"B": 9, "D1": 5, "D2": 9, "S1": 4}
    assert f["S1"]["supplier_hhi"] == pytest.approx(0.6**2 + 0.4**2)
    assert f["D1"]["supplier_hhi"] == 1.0 and f["B"]["supplier_hhi"] is None
    assert (f["D1"]["core_brand_share"], f["S1"]["core_brand_share"]) == (1.0, 0.0)
    # main suppliers: D1 -> B in January and June; S1 -> D1 in April, May, June; D2 -> B in September 2025
    assert {e: f[e]["main_supplier_months_12m"] for e in f} == {"B": None, "D1": 2, "D2": 1, "S1": 3}


def test_reach_components_and_exposure_by_hand(chain_features):
    f = chain_features
    assert {e: (f[e]["upstream_2hop"], f[e]["downstream_2hop"]) for e in f} == {
        "B": (0, 3), "D1": (1, 1), "D2": (1, 1), "S1": (3, 0),
    }  # fmt: skip
    assert {f[e]["component_size"] for e in f} == {4}
    assert f["B"]["pagerank"] == max(f[e]["pagerank"] for e in f)
    # D1 is overdue (dpd30, not cured); D2 was cured; S1's dpd60 comes after the snapshot
    assert f["S1"]["exposure"] == pytest.approx(600 / 1000)
    assert f["B"]["exposure"] == pytest.approx(1500 / 2300)
    assert (f["D1"]["exposure"], f["D2"]["exposure"]) == (0.0, 0.0)


def test_the_graph_window_is_a_setting_and_moves_only_the_graph_window_features(spark, chain_inputs, chain_features):
    assert load_settings({"GRAPH_WINDOW_DAYS": "1825"}).graph_window_days == 1825  # five years, for a sparse network
    with pytest.raises(SettingsError, match="GRAPH_WINDOW_DAYS"):
        load_settings({"GRAPH_WINDOW_DAYS": "0"})
    entities, loans = chain_inputs
    out = graph_features(records_frame(spark, CHAIN), entities, loans, of_dates(spark, [AS_OF]), 120)  # from 2026-03-03
    f = {r.entity_id: r.asDict() for r in out.collect()}
    assert {r["graph_window_days"] for r in f.values()} == {120} and chain_features["B"]["graph_window_days"] == 365
    # D2's one order (2025-09) and S1's first goods to D2 (2026-02) fall out of the graph
    assert (f["D2"]["upstream_2hop"], f["B"]["downstream_2hop"]) == (0, 2)
    assert (chain_features["D2"]["upstream_2hop"], chain_features["B"]["downstream_2hop"]) == (1, 3)
    assert f["B"]["exposure"] == 1.0  # only D1's order is left, and D1 is overdue
    assert f["S1"]["supplier_hhi"] == pytest.approx((600 / 900) ** 2 + (300 / 900) ** 2)
    fixed = ["in_degree_365d", "in_volume_365d", "out_volume_90d", "tenure_months"]  # windows of their own
    assert {e: [f[e][c] for c in fixed] for e in f} == {e: [chain_features[e][c] for c in fixed] for e in f}


def test_records_dated_or_arrived_after_the_snapshot_change_nothing(spark, chain_inputs, chain_features):
    entities, loans = chain_inputs
    later = graph_features(
        records_frame(spark, CHAIN + LATER, LATE_ARRIVAL), entities, loans, of_dates(spark, [AS_OF]), WINDOW
    )
    seen = {r.entity_id: {k: v for k, v in r.asDict().items() if k != "computed_at"} for r in later.collect()}
    assert seen == {e: {k: v for k, v in row.items() if k != "computed_at"} for e, row in chain_features.items()}
    assert set(contract("gold.feat_graph").column_names) <= set(later.columns)


def test_many_snapshot_dates_at_once_are_each_date_alone(spark, chain_inputs):
    entities, loans = chain_inputs
    records = records_frame(spark, CHAIN + LATER, LATE_ARRIVAL)  # what AS_OF must not see, a later date may
    days = [dt.date(2026, 3, 31), dt.date(2026, 5, 31), AS_OF, dt.date(2026, 7, 31)]

    def rows(features):
        return sorted(({k: v for k, v in r.asDict().items() if k != "computed_at"} for r in features.collect()),
                      key=lambda r: (r["as_of_date"], r["entity_id"]))  # fmt: skip

    together = rows(graph_features(records, entities, loans, of_dates(spark, days), WINDOW))
    alone = [r for day in days for r in rows(graph_features(records, entities, loans, of_dates(spark, [day]), WINDOW))]
    assert {r["as_of_date"] for r in together} == set(days) and len(together) == len(alone)

    def measures(rows):
        return [v for r in rows for v in r.values() if isinstance(v, float)]

    def the_rest(rows):
        return [{k: v for k, v in r.items() if not isinstance(v, float)} for r in rows]

    assert the_rest(together) == the_rest(alone)
    assert measures(together) == pytest.approx(measures(alone), rel=1e-12)


def test_order_payment_habits_and_order_trend_by_hand(spark, chain_inputs):
    """D3's orders: paid in full after 35 days; in two parts (40 days, then 69); unpaid as of AS_OF (its payment
    arrives after it); 10 days old (too young to judge its payment)."""
    orders = [
        record("P1", "order", "2026-01-10", "D3", "B", "1000.00"),
        record("P2", "order", "2026-02-10", "D3", "B", "2000.00"),
        record("P3", "order", "2026-03-10", "D3", "B", "1000.00"),
        record("P4", "order", "2026-06-20", "D3", "B", "4000.00"),
        record("Q1", "transfer", "2026-02-14", "D3", "B", "1000.00", reference="P1"),
        record("Q2", "transfer", "2026-03-22", "D3", "B", "1200.00", reference="P2"),
        record("Q3", "transfer", "2026-04-20", "D3", "B", "800.00", reference="P2"),
        record("Q4", "transfer", "2026-06-25", "D3", "B", "1000.00", reference="P3"),
        record("Q5", "transfer", "2026-06-25", "D3", "B", "4000.00", reference="P4"),
    ]
    entities, loans = chain_inputs
    out = graph_features(
        records_frame(spark, CHAIN + orders, {"Q4": "2026-07-02"}), entities, loans, of_dates(spark, [AS_OF]), WINDOW
    )
    f = {r.entity_id: r.asDict() for r in out.collect()}
    assert f["D3"]["order_days_to_pay"] == pytest.approx((35 + 40 + 112) / 3)  # P3 unpaid: 112 days so far
    assert f["D3"]["order_part_paid_share"] == pytest.approx(1 / 2)  # of P1, P2 (P4 is too young)
    steps = np.diff(np.log([1000.0, 2000.0, 1000.0, 4000.0]))
    assert f["D3"]["order_value_volatility"] == pytest.approx(np.std(steps, ddof=1) / np.sqrt(2))
    days = [(dt.date.fromisoformat(d) - AS_OF).days for d in ("2026-01-10", "2026-02-10", "2026-03-10", "2026-06-20")]
    slope = np.polyfit(days, np.log([1000.0, 2000.0, 1000.0, 4000.0]), 1)[0]
    assert f["D3"]["order_value_growth"] == pytest.approx(slope * 365)
    # D1: one order old enough (O2, unpaid for 166 days) and none paid among them; a buyer without orders has none
    assert (f["D1"]["order_days_to_pay"], f["D1"]["order_part_paid_share"]) == (166.0, None)
    assert f["D1"]["order_value_volatility"] is None and f["S1"]["order_days_to_pay"] is None


def test_trade_edges_suite_passes_and_fails(spark):
    edges = trade_edges(records_frame(spark, CHAIN), AS_OF)
    ok = validate(edges, "silver.trade_edges")
    assert ok.failed == [] and ok.passed.count() == edges.count()
    bad = validate(edges.withColumn("kind", F.when(F.col("kind") == "other", "rent").otherwise(F.col("kind"))),
                   "silver.trade_edges")  # fmt: skip
    assert {(r.payer_id, r.kind) for r in bad.rejected.collect()} == {("X", "rent"), ("D2", "rent")}
    with pytest.raises(QualityGateError, match="expect_compound_columns_to_be_unique"):
        validate(edges.unionByName(edges), "silver.trade_edges")


def sample_graph() -> pd.DataFrame:
    """A random directed graph with dangling vertices, plus two small separate chains."""
    g = nx.gnp_random_graph(60, 0.04, seed=11, directed=True)
    edges = [(f"v{a}", f"v{b}") for a, b in g.edges()] + [("a1", "a2"), ("a2", "a3"), ("b1", "b2")]
    return pd.DataFrame(edges, columns=["src", "dst"])


def ranked_alone(spark, edges: pd.DataFrame) -> tuple[dict, dict]:
    """A graph's PageRank and weakly connected component sizes, each by vertex, computed with no other graph."""
    frame = spark.createDataFrame(edges)
    ranks = {r.id: r.pagerank for r in graph_algorithms.pagerank(frame).collect()}
    sizes = {r.id: r.component_size for r in graph_algorithms.component_sizes(
        graph_algorithms.connected_components(frame)).collect()}  # fmt: skip
    return ranks, sizes


@pytest.fixture(scope="module")
def sample_alone(spark):
    """The sample graph, and its ranks and component sizes computed alone (for the two tests below)."""
    edges = sample_graph()
    return edges, *ranked_alone(spark, edges)


def test_pagerank_and_component_sizes_match_networkx(sample_alone):
    edges, ranks, sizes = sample_alone
    g = nx.DiGraph(list(edges.itertuples(index=False)))
    expected_rank = nx.pagerank(g, alpha=0.85, tol=1e-8)
    expected_size = {v: len(c) for c in nx.weakly_connected_components(g) for v in c}
    assert set(ranks) == set(expected_rank) and sum(ranks.values()) == pytest.approx(1.0)
    assert max(abs(ranks[v] - expected_rank[v]) for v in ranks) < graph_algorithms.TOLERANCE
    assert sizes == expected_size and len(set(expected_size.values())) >= 3


def test_many_graphs_at_once_are_each_graph_alone(spark, sample_alone):
    """The sample graph, and a chain whose PageRank stops after fewer iterations: each ranked and split as alone."""
    chain = pd.DataFrame({"src": ["c1", "c2", "c3"], "dst": ["c2", "c3", "c4"]})
    graphs = {"sample": sample_alone[0], "chain": chain}
    alone = {"sample": sample_alone[1:], "chain": ranked_alone(spark, chain)}
    frame = spark.createDataFrame(pd.concat([g.assign(graph=name) for name, g in graphs.items()]))
    ranks = {(r.graph, r.id): r.pagerank for r in graph_algorithms.pagerank(frame, by=["graph"]).collect()}
    components = graph_algorithms.connected_components(frame, by=["graph"])
    sizes = {
        (r.graph, r.id): r.component_size for r in graph_algorithms.component_sizes(components, ["graph"]).collect()
    }
    for name, edges in graphs.items():
        alone_ranks, alone_sizes = alone[name]
        vertices = edges.stack().unique()
        assert {v: ranks[name, v] for v in vertices} == pytest.approx(alone_ranks, rel=1e-12)
        assert {v: sizes[name, v] for v in vertices} == alone_sizes


def text(value) -> str:
    return value if isinstance(value, str) else ""


def simulated_trade(spark, entities: int = 300, days: int = 365, seed: int = 3):
    """A year of the simulator's trade records (memos kept as the truth), as silver.trade_records rows."""
    from simulator.population import draw_population
    from simulator.trade import TradeDays, draw_chains

    start = dt.date(2025, 1, 1)
    rng, owner_rng, trade_rng = np.random.default_rng(seed).spawn(3)
    people = draw_population(entities, start, rng, owner_rng)
    days_of = TradeDays(people, draw_chains(people, trade_rng), start)
    files = [days_of.day(t, start + dt.timedelta(days=t), 0.0, trade_rng)[0] for t in range(days)]
    raw = pd.concat(files, ignore_index=True)
    day = [dt.date.fromisoformat(ts[:10]) for ts in raw["ts"]]
    instant = [dt.datetime.fromisoformat(ts).astimezone(dt.UTC).replace(tzinfo=None) for ts in raw["ts"]]
    rows = [
        (r.record_id, r.record_type, ts, d, d.replace(day=1), r.payer_id, r.payee_id, Decimal(f"{r.amount:.2f}"),
         r.currency, Decimal(f"{r.amount:.2f}"), r.currency, Decimal(1), text(r.reference), text(r.memo), d,
         "trade.csv", NOW)
        for r, ts, d in zip(raw.itertuples(index=False), instant, day)
    ]  # fmt: skip
    schema = contract("silver.trade_records").struct_type()
    return spark.createDataFrame(rows, schema)


def precision_recall(records, as_of: dt.date) -> tuple[float, float, dict]:
    """The rule's precision and recall on the records seen by `as_of`, the simulator's memos being the truth."""
    truth = F.col("memo").isin("purchase order", "order payment", "goods")
    seen = classify(seen_as_of(records, of_dates(records.sparkSession, [as_of])).drop("memo")).join(
        records.select("record_id", "memo"), "record_id"
    )
    n = {(r.truth, r.is_trade): r["count"] for r in seen.groupBy(truth.alias("truth"), "is_trade").count().collect()}
    hits = n.get((True, True), 0)
    return hits / (hits + n.get((False, True), 0)), hits / (hits + n.get((True, False), 0)), n


def test_the_rule_finds_the_simulators_trade_without_reading_memos(spark):
    records = simulated_trade(spark).localCheckpoint()
    for as_of in (dt.date(2025, 2, 28), dt.date(2025, 3, 31), dt.date(2025, 12, 31)):
        precision, recall, n = precision_recall(records, as_of)
        print(f"trade rule as of {as_of}: {n}, precision {precision:.4f}, recall {recall:.4f}")
        assert precision > 0.98
    assert recall > 0.97  # once pairs have had time to recur; before their third month goods are not trade yet


@pytest.mark.realdata
def test_online_retail_degrees_volumes_and_tenure_match_pandas(spark, settings, shared_data, online_retail):
    import shutil

    from jobs import tables
    from jobs.adapt.online_retail import LEDGER, WHOLESALER
    from jobs.features import feat_graph
    from jobs.silver import trade_edges as edges_job

    as_of = dt.date(2011, 12, 9)
    shutil.copytree(online_retail[3].lakehouse_root, settings.lakehouse_root)  # the ledger, adapted and ingested
    assert edges_job.run(spark, settings, as_of) > 0
    assert feat_graph.run(spark, settings, as_of) > 0
    got = tables.read(spark, settings, "gold.feat_graph").toPandas().set_index("entity_id")

    lines = pq.read_table(shared_data / LEDGER).to_pandas()
    lines = lines[~lines["InvoiceNo"].str.startswith(("A", "C")) & lines["CustomerID"].notna()]
    inv = (
        lines.assign(value=lines["Quantity"] * lines["UnitPrice"])
        .groupby("InvoiceNo")
        .agg(buyer=("CustomerID", "first"), day=("InvoiceDate", "min"), amount=("value", "sum"))
    )
    inv = inv[inv["amount"].round(2) > 0]
    inv["buyer"] = "UK-C" + inv["buyer"].astype(int).astype(str)
    inv["day"], inv["amount"] = inv["day"].dt.normalize(), inv["amount"].round(2)
    age = (pd.Timestamp(as_of) - inv["day"]).dt.days
    per_buyer = pd.DataFrame(
        {
            "out_volume_365d": inv[age < 365].groupby("buyer")["amount"].sum(),
            "out_volume_90d": inv[age < 90].groupby("buyer")["amount"].sum(),
            "first": inv.groupby("buyer")["day"].min(),
        }
    ).fillna(0.0)
    first = per_buyer["first"]
    tenure = (as_of.year - first.dt.year) * 12 + as_of.month - first.dt.month - (as_of.day < first.dt.day)
    buyers = got.drop(WHOLESALER)
    assert set(buyers.index) == set(per_buyer.index)
    assert np.allclose(buyers["out_volume_365d"], per_buyer.loc[buyers.index, "out_volume_365d"], atol=0.01)
    assert np.allclose(buyers["out_volume_90d"], per_buyer.loc[buyers.index, "out_volume_90d"], atol=0.01)
    assert (buyers["out_degree_365d"] == (per_buyer.loc[buyers.index, "out_volume_365d"] > 0)).all()
    assert (buyers["tenure_months"] == tenure[buyers.index]).all()
    w = got.loc[WHOLESALER]
    assert w["in_degree_365d"] == inv[age < 365]["buyer"].nunique()
    assert w["in_degree_90d"] == inv[age < 90]["buyer"].nunique()
    assert w["in_volume_365d"] == pytest.approx(inv[age < 365]["amount"].sum(), abs=0.05)
    assert w["component_size"] == inv[age < 365]["buyer"].nunique() + 1
    assert w["pagerank"] == got["pagerank"].max() and (buyers["core_brand_share"].dropna() == 1).all()
    print(f"online retail as of {as_of}: {len(buyers)} buyers, {int(w['in_degree_365d'])} active in 365 days")

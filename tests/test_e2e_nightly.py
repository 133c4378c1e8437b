"""The real nightly DAG, run with dag.test() on a simulated world: every step, every table, the serving store."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
from pathlib import Path

import pandas as pd
import pytest

from jobs import pipeline, tables
from jobs.errors import ModelError
from jobs.night_report import SECTIONS
from jobs.serve import store
from simulator.world import DRIFT_ROWS, WorldSpec, simulate

pytestmark = pytest.mark.e2e
DAGS = Path(__file__).resolve().parents[1] / "dags"


def run_nightly(logical_date: dt.datetime, **conf):
    from airflow.dag_processing.dagbag import DagBag

    dag = DagBag(dag_folder=str(DAGS)).get_dag("nightly_preapproval")
    return dag.test(logical_date=logical_date, run_conf=conf)


def any_of(values: set[str]) -> str:
    """A regex matching any of `values`, as a trie (common prefixes written once): a plain alternation makes Java's
    regex engine try every value at every character."""
    trie: dict = {}
    for value in values:
        node = trie
        for char in value:
            node = node.setdefault(char, {})
        node[""] = {}  # a value ends here

    def pattern(node: dict) -> str:
        branches = [re.escape(char) + pattern(child) if char else "" for char, child in sorted(node.items())]
        if branches == [""]:
            return ""
        if len(branches) == 1:
            return branches[0]
        return "(?:" + "|".join(branches) + ")"

    return pattern(trie)


def test_the_trie_matches_what_the_alternation_matches():
    values = {"Wang Fang", "Wang Fei", "138001", "13800", "a.b", "x"}
    pattern = any_of(values)
    texts = ["Wang Fang", "{'n': 'Wang Feix'}", "Wang F", "1380", "+8613800x", "a_b", "a.b", "X", ""]
    assert [bool(re.search(pattern, t)) for t in texts] == [any(v in t for v in values) for t in texts]


def personal_data_in(spark, settings, values: set[str]) -> dict[str, int]:
    """Per table of the lakehouse (and the serving store), how many string cells contain one of `values` (also inside
    a longer text, such as a quarantined record's JSON)."""
    import sqlalchemy as sa
    from pyspark.sql import functions as F

    from jobs.catalog import all_contracts

    found = {}
    any_value = any_of(values)
    for c in all_contracts():
        df = tables.read(spark, settings, c.fqn)
        text = [f.name for f in df.schema.fields if f.dataType.simpleString() == "string"]
        counts = df.select(*[F.count_if(F.col(name).rlike(any_value)) for name in text]).first() if text else []
        hits = sum(counts)
        if hits:
            found[c.fqn] = hits
    with store.engine(settings.serving_url).connect() as conn:
        rows = conn.execute(sa.text("SELECT * FROM preapproved_limits")).all()
    served = sum(1 for row in rows for cell in row if any(v in str(cell) for v in values))
    if served:
        found["serving"] = served
    return found


def test_nightly_dag_computes_gates_and_publishes(spark, settings, airflow_db, tmp_path, capsys):
    world_dir = tmp_path / "world"
    # seed 7: 6 of the 55 loans matured by the last day went bad, enough to train on at a 3% default rate
    world = simulate(WorldSpec(entities=80, days=500, start=dt.date(2025, 1, 1), seed=7, bad_rate=0.01), world_dir)
    borrowers = 80 - world["segments"]["brand"]  # brands are counterparties, never scored
    as_of = dt.date.fromisoformat(world["end"])
    night = dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time(2), tzinfo=dt.UTC)

    run = run_nightly(night, landing=str(world_dir / "landing"))
    assert run.state == "success"

    limits = tables.read(spark, settings, "gold.preapproved_limits")
    assert {r.as_of_date for r in limits.select("as_of_date").distinct().collect()} == {as_of}
    assert limits.count() == borrowers
    # every deliberately broken row is in quarantine, every re-sent one deduplicated, every drifted file rejected
    truth = json.loads((world_dir / "truth" / "bad_inputs.json").read_text())
    tx = {kind.split(".")[1]: n for kind, n in truth.items() if kind.startswith("transactions.")}
    batch = tables.read(spark, settings, "silver.ingest_batches").where("source = 'transactions'").first()
    row_kinds = set(tx) - {"duplicate_txn", "late_file", "added_column", "missing_column"}  # a cut file: one row
    assert batch.quarantined == sum(tx[kind] for kind in row_kinds)
    assert batch.duplicates == tx["duplicate_txn"]
    assert batch.rejected_files == tx["added_column"] + tx["missing_column"]
    assert batch.bronze_rows + DRIFT_ROWS * batch.rejected_files == world["transactions"]

    # personal data: in bronze as delivered, and nowhere else
    owners = pd.read_parquet(world_dir / "truth" / "entities.parquet")
    raw = set(owners[["owner_name", "owner_id_number", "owner_phone"]].to_numpy().ravel())
    first_day = sorted((world_dir / "landing" / "transactions").glob("dt=*/*.csv"))[0]
    raw |= set(pd.read_csv(first_day, dtype=str)["payer_token"].dropna())  # the processor's payer tokens
    found = personal_data_in(spark, settings, raw)
    assert set(found) == {"bronze.entities", "bronze.transactions"} and found["bronze.entities"] == 3 * 80
    entities = tables.read(spark, settings, "silver.entities").collect()
    assert len({e.owner_id_token for e in entities}) == 80 and all(len(e.owner_phone_token) == 64 for e in entities)

    # an independent reader sees the same limits the serving store answers with
    import deltalake

    delta_rows = deltalake.DeltaTable(settings.table_path("gold", "preapproved_limits")).to_pandas()
    eng = store.engine(settings.serving_url)
    assert len(delta_rows) == store.current(eng).rows == borrowers
    first = delta_rows.sort_values("entity_id").iloc[0]
    served = store.lookup(eng, first["entity_id"])
    assert served["as_of_date"] == as_of.isoformat()
    assert served["pd"] == pytest.approx(first["pd"])
    assert served["reason_codes"] == list(first["reason_codes"])
    assert served["model_version"].startswith(f"pd-{as_of.isoformat()}")

    # the night before, then tonight again: the rerun changes nothing, and its report compares the two nights
    before_night = night - dt.timedelta(days=1)
    assert run_nightly(before_night, landing=str(world_dir / "landing")).state == "success"
    tables_now = ("bronze.transactions", "silver.transactions", "gold.feat_txn", "gold.preapproved_limits")
    before = {t: tables.read(spark, settings, t).count() for t in tables_now}
    assert run_nightly(night, landing=str(world_dir / "landing")).state == "success"
    assert {t: tables.read(spark, settings, t).count() for t in tables_now} == before
    assert store.current(eng).as_of_date == as_of.isoformat()
    # each producer of the features step, once a night (the rerun replaced its rows), with what it wrote and cost
    from jobs.catalog import producers

    runs = tables.read(spark, settings, "silver.feature_runs").where(f"as_of_date = DATE'{as_of}'").collect()
    assert sorted(r.module for r in runs) == sorted(producers("features"))
    assert all(r.seconds > 0 and r.rows >= 0 for r in runs)
    assert next(r.rows for r in runs if r.tables == ["gold.feature_vector"]) == borrowers

    # the operator's view: status (no Spark) and SQL over the registered tables
    from jobs import cli, status

    board = status.render(settings)
    assert f"limits as of {as_of.isoformat()}" in board and "gold.preapproved_limits" in board
    assert "transactions" in board and "quarantined" in board
    assert "(e.g. transactions/dt=" in board  # the top reasons, each with a file and line
    with pytest.raises(ModelError, match="GRAPH_WINDOW_DAYS is 730: retrain"):  # a model learnt one graph window
        pipeline.score(as_of, settings=dataclasses.replace(settings, graph_window_days=730))
    assert cli.main(["sql", "SELECT count(*) AS n FROM gold.preapproved_limits"]) == 0
    assert f"|{2 * borrowers}|" in capsys.readouterr().out.replace(" ", "")  # two nights of every borrower

    report = Path(settings.lakehouse_root) / "reports" / f"night-{as_of.isoformat()}.html"
    page = report.read_text()
    assert re.findall(r"<h2>([^<]+)</h2>", page) == list(SECTIONS)
    assert f"Against {as_of - dt.timedelta(days=1)}" in page
    assert page.count("data:image/png;base64,") == 2
    # the quarantine reasons of every source that quarantined rows tonight, trade's too
    quarantined = tables.read(spark, settings, "silver.ingest_batches").where("quarantined > 0")
    sources = {r.source for r in quarantined.select("source").distinct().collect()}
    assert {"transactions", "trade"} <= sources
    reasons = page.split("<h3>Quarantine reasons</h3>")[1].split("</table>")[0]
    assert {s for s in sources if f"<td>{s}</td>" in reasons} == sources

    # every table the night wrote has a contract
    from jobs.catalog import all_contracts

    lake = Path(settings.lakehouse_root)
    written = {f"{d.parent.name}.{d.name}" for d in lake.glob("*/*") if (d / "_delta_log").is_dir()}
    assert written and written <= {c.fqn for c in all_contracts()}

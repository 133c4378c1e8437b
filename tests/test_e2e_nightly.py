"""The real nightly DAG, run with dag.test() on a simulated world: two nights, the second on the world's last day
landed since the first; every step, every table, the serving store. Then the second night again on a real Spark
standalone cluster (a master and a worker on 127.0.0.1, started from the installed pyspark), from what the first night
left: it gives the same limits, only the SPARK_MASTER setting differs."""

from __future__ import annotations

import dataclasses
import datetime as dt
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import NamedTuple

import pandas as pd
import pyspark
import pytest
from conftest import SMALL_DATA_SPARK

from jobs import pipeline, tables
from jobs.errors import ModelError
from jobs.ingest.sources import SOURCES
from jobs.night_report import SECTIONS
from jobs.serve import store
from jobs.settings import Settings, load_settings
from simulator.population import BORROWER_SEGMENTS
from simulator.world import DRIFT_ROWS, WorldSpec, simulate

pytestmark = pytest.mark.e2e
DAGS = Path(__file__).resolve().parents[1] / "dags"
SPARK_CLASS = Path(pyspark.__file__).parent / "bin" / "spark-class"


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


class Nights(NamedTuple):
    world: dict  # the simulator's summary
    world_dir: Path
    settings: Settings
    first: dt.date  # the first night's as-of date: the world's last day not yet delivered
    as_of: dt.date  # the second night's, once that day has landed
    night: dt.datetime  # the second night's logical date
    states: list[str]  # the two DAG runs'
    limits: dict[dt.date, pd.DataFrame]  # gold.preapproved_limits of each night, by entity_id
    after_first: Path  # a copy of the lakehouse and the serving store as the first night left them
    application: dict  # a business's application between the nights, decided on demand (`application.apply`)


def limits_of(root: Path, as_of: dt.date) -> pd.DataFrame:
    from deltalake import DeltaTable

    frame = DeltaTable(str(root / "gold" / "preapproved_limits")).to_pandas()
    frame = frame[pd.to_datetime(frame["as_of_date"]).dt.date == as_of]
    return frame.sort_values("entity_id").reset_index(drop=True)


def sidecars(folder: Path) -> list[dict]:
    """The voucher sidecars in a landing folder that parse (the simulator breaks some on purpose)."""
    found = []
    for path in folder.glob("*.json"):
        try:
            found.append(json.loads(path.read_text()))
        except ValueError:
            continue
    return [s for s in found if isinstance(s, dict)]


def apply_between_nights(settings: Settings, landing: Path, day: dt.date, copies: Path) -> dict:
    """A borrower hands over, on `day`, a copy of a statement it handed over before (verified, read from its text
    layer, judged over its own period): one whose business lands nothing else that day."""
    from jobs.features.feat_voucher import REVENUE_PER_MONTH
    from jobs.serve.application import Document, Lake, apply

    busy = {sidecar.get("entity_id") for sidecar in sidecars(landing / "vouchers" / f"dt={day}")}
    lake = Lake(settings)
    stored = lake.rows("silver.vouchers", "status", ["verified"])
    fit = stored[stored["voucher_type"].isin(list(REVENUE_PER_MONTH)) & ~stored["image"]]
    chosen = fit[~fit["entity_id"].isin(busy)].sort_values("voucher_id").iloc[0]
    documents = lake.rows("silver.voucher_documents", "voucher_id", [chosen["voucher_id"]])
    copies.mkdir(parents=True, exist_ok=True)
    statement = Path(shutil.copy(documents["pdf_path"].iloc[0], copies / "statement.pdf"))
    noon = dt.datetime.combine(day, dt.time(12), tzinfo=dt.UTC)
    return apply(settings, chosen["entity_id"], [Document(statement, chosen["voucher_type"])], now=noon)


def move_days(landing: Path, day: dt.date, to: Path) -> None:
    """Every source's folder of `day` (`<source>/dt=<day>`) from `landing` to `to`."""
    for folder in landing.glob(f"*/dt={day.isoformat()}"):
        target = to / folder.parent.name / folder.name
        target.parent.mkdir(parents=True, exist_ok=True)
        folder.rename(target)


@pytest.fixture(scope="module")
def two_nights(airflow_db, tmp_path_factory):
    """A simulated world run by the DAG, two nights, into a lakehouse of this module (also set in the environment,
    which the DAG's tasks read): the first on every day but the last, which lands before the second. A copy of what
    the first night left is kept for the cluster's second night; the test that checks them runs the second again."""
    root = tmp_path_factory.mktemp("e2e")
    env = {
        "LAKEHOUSE_ROOT": str(root / "lakehouse"),
        **SMALL_DATA_SPARK,
        "SERVING_URL": f"sqlite:///{root}/serving.db",
        "PII_TOKEN_KEY": "e2e-test-key",  # the cluster's night below tokenises with the same key
        "LANDING_DIR": str(root / "world" / "landing"),  # where an application lands its documents
    }
    with pytest.MonkeyPatch.context() as patch:
        for key, value in env.items():
            patch.setenv(key, value)
        # seed 7: enough of the loans matured by the first night went bad to train on, at a 3% default rate
        spec = WorldSpec(entities=80, days=500, start=dt.date(2025, 1, 1), seed=7, bad_rate=0.01)
        world = simulate(spec, root / "world")
        landing, held_back = root / "world" / "landing", root / "held_back"
        as_of = dt.date.fromisoformat(world["end"])
        first = as_of - dt.timedelta(days=1)
        night = dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time(2), tzinfo=dt.UTC)
        move_days(landing, as_of, held_back)
        states, limits = [run_nightly(night - dt.timedelta(days=1), landing=str(landing)).state], {}
        after_first, application = root / "after_first", {}
        if states[0] == "success":
            limits[first] = limits_of(root / "lakehouse", first)
            shutil.copytree(root / "lakehouse", after_first / "lakehouse")
            shutil.copy(root / "serving.db", after_first / "serving.db")
            move_days(held_back, as_of, landing)
            application = apply_between_nights(load_settings(env), landing, as_of, root / "handed_over")
            states.append(run_nightly(night, landing=str(landing)).state)
            limits[as_of] = limits_of(root / "lakehouse", as_of)
        settings = load_settings(env)
        yield Nights(world, root / "world", settings, first, as_of, night, states, limits, after_first, application)


def test_nightly_dag_computes_gates_and_publishes(spark, two_nights, capsys):
    world, world_dir, settings, first, as_of, night, states, limits, *_ = two_nights
    borrowers = 80 - world["segments"]["brand"]  # brands are counterparties, never scored
    assert states == ["success", "success"]

    served_days = tables.read(spark, settings, "gold.preapproved_limits").groupBy("as_of_date").count().collect()
    assert {r.as_of_date: r["count"] for r in served_days} == {first: borrowers, as_of: borrowers}
    # every deliberately broken row is in quarantine, every re-sent one deduplicated, every drifted file rejected,
    # over the two nights' batches
    truth = json.loads((world_dir / "truth" / "bad_inputs.json").read_text())
    tx = {kind.split(".")[1]: n for kind, n in truth.items() if kind.startswith("transactions.")}
    batches = tables.read(spark, settings, "silver.ingest_batches").where("source = 'transactions'").collect()
    assert len(batches) == 2
    total = {field: sum(b[field] for b in batches) for field in ("quarantined", "duplicates", "rejected_files")}
    row_kinds = set(tx) - {"duplicate_txn", "late_file", "added_column", "missing_column"}  # a cut file: one row
    assert total["quarantined"] == sum(tx[kind] for kind in row_kinds)
    assert total["duplicates"] == tx["duplicate_txn"]
    assert total["rejected_files"] == tx["added_column"] + tx["missing_column"]
    assert sum(b.bronze_rows for b in batches) + DRIFT_ROWS * total["rejected_files"] == world["transactions"]

    # personal data: in bronze as delivered, and nowhere else
    owners = pd.read_parquet(world_dir / "truth" / "entities.parquet")
    raw = set(owners[["owner_name", "owner_id_number", "owner_phone"]].to_numpy().ravel())
    first_day = sorted((world_dir / "landing" / "transactions").glob("dt=*/*.csv"))[0]
    raw |= set(pd.read_csv(first_day, dtype=str)["payer_token"].dropna())  # the processor's payer tokens
    found = personal_data_in(spark, settings, raw)
    assert set(found) == {"bronze.entities", "bronze.transactions"} and found["bronze.entities"] == 3 * 80
    entities = tables.read(spark, settings, "silver.entities").collect()
    assert len({e.owner_id_token for e in entities}) == 80 and all(len(e.owner_phone_token) == 64 for e in entities)

    # an independent reader (deltalake, the fixture's) sees the same limits the serving store answers with; the
    # second night scored with the model the first night trained
    eng = store.engine(settings.serving_url)
    assert len(limits[as_of]) == store.current(eng).rows == borrowers
    top = limits[as_of].iloc[0]  # by entity_id
    served = store.lookup(eng, top["entity_id"])
    assert served["as_of_date"] == as_of.isoformat()
    assert served["pd"] == pytest.approx(top["pd"])
    assert served["reason_codes"] == list(top["reason_codes"])
    assert served["model_version"].startswith(f"pd-{first.isoformat()}")

    # the second night again: the rerun changes nothing, and the report compares the two nights
    tables_now = ("bronze.transactions", "silver.transactions", "gold.feat_txn", "gold.preapproved_limits")
    before = {t: tables.read(spark, settings, t).count() for t in tables_now}
    assert run_nightly(night, landing=str(world_dir / "landing")).state == "success"
    assert {t: tables.read(spark, settings, t).count() for t in tables_now} == before
    assert store.current(eng).as_of_date == as_of.isoformat()
    assert store.lookup(eng, top["entity_id"])["model_version"] == served["model_version"]  # no model trained
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
    assert f"Against {first}" in page
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


def test_an_application_between_the_nights_is_what_the_night_after_computes(spark, two_nights):
    """Decided on demand, a business's voucher features are those the next night computes from the same documents
    (its own copy of a statement, landed once), and the night's feature vector decided in process is the night's
    limit: one definition of both, run by Spark at night and in process for one business."""
    from jobs.serve.application import Lake, decide_row

    _, _, settings, first, as_of, _, states, limits, _, application = two_nights
    assert states == ["success", "success"]
    entity = application["entity_id"]
    (handed,) = application["documents"]
    assert handed["status"] == "verified" and handed["voucher_id"].startswith(f"APP-{entity}-")
    assert application["previous_as_of_date"] == first.isoformat()
    assert application["as_of_date"] == as_of.isoformat()

    vouchers = tables.read(spark, settings, "silver.vouchers").where(f"voucher_id = '{handed['voucher_id']}'")
    assert [(r.status, r.submitted_date) for r in vouchers.collect()] == [("verified", as_of)]  # read once
    night = tables.read(spark, settings, "gold.feat_voucher").where(f"entity_id = '{entity}'")
    (features,) = night.where(f"as_of_date = DATE'{as_of}'").collect()
    assert {c: features[c] for c in application["voucher_features"]} == application["voucher_features"]
    before = night.where(f"as_of_date = DATE'{first}'").first()
    assert features["documents"] == before["documents"] + 1

    vector = tables.read(spark, settings, "gold.feature_vector").where(f"entity_id = '{entity}'")
    (row,) = vector.where(f"as_of_date = DATE'{as_of}'").toPandas().itertuples(index=False)
    tonight = limits[as_of].set_index("entity_id").loc[entity]
    overdue = "ACTIVE_OVERDUE" in tonight["reason_codes"]
    decided = decide_row(Lake(settings), pd.Series({**row._asdict(), "overdue": overdue}), tonight["model_version"])
    assert decided["pd"] == pytest.approx(tonight["pd"], rel=1e-12)
    assert (decided["decision"], decided["limit_amount"]) == (tonight["decision"], float(tonight["limit_amount"]))
    assert list(decided["reason_codes"]) == list(tonight["reason_codes"])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(check, what: str, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except (OSError, ValueError, http.client.HTTPException):  # a server still starting may answer half a reply
            pass
        time.sleep(0.5)
    raise TimeoutError(f"{what} did not come up in {seconds:.0f} s")


def master_state(ui_port: int) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{ui_port}/json/", timeout=2) as response:
        return json.load(response)


@pytest.fixture(scope="module")
def standalone_cluster(tmp_path_factory):
    """A master and one worker (2 cores, as the local run has, and 2 GB) for this module; both stopped, with their
    process groups, after it."""
    logs = tmp_path_factory.mktemp("spark_cluster")
    env = {
        **os.environ,
        "SPARK_HOME": str(SPARK_CLASS.parent.parent),
        "SPARK_LOCAL_IP": "127.0.0.1",
        "SPARK_WORKER_DIR": str(logs / "work"),
    }
    port, ui_port = free_port(), free_port()

    def start(name: str, *args: str) -> subprocess.Popen:
        with (logs / f"{name}.log").open("w") as log:
            return subprocess.Popen([str(SPARK_CLASS), *args], env=env, stdout=log, stderr=log, start_new_session=True)

    processes = [
        start(
            "master",
            "org.apache.spark.deploy.master.Master",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--webui-port",
            str(ui_port),
        )
    ]
    try:
        wait_for(lambda: socket.create_connection(("127.0.0.1", port), timeout=1).close() is None, "the master")
        processes.append(
            start(
                "worker",
                "org.apache.spark.deploy.worker.Worker",
                f"spark://127.0.0.1:{port}",
                "--host",
                "127.0.0.1",
                "--cores",
                "2",
                "--memory",
                "2g",
                "--webui-port",
                str(free_port()),
            )
        )
        wait_for(lambda: master_state(ui_port).get("aliveworkers") == 1, "the worker")
        yield {"url": f"spark://127.0.0.1:{port}", "ui_port": ui_port}
    finally:
        for p in processes:
            os.killpg(p.pid, signal.SIGTERM)
        for p in processes:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)


@pytest.mark.cluster
def test_the_cluster_run_equals_the_local_run(two_nights, standalone_cluster, tmp_path):
    """The second night again, on the cluster, from a copy of what the first night left (the champion it trained
    among it): what the cluster changes is every Spark job of a night with a new day landed, not the booster."""
    world, world_dir, _, first, as_of, *_, limits, after_first, _ = two_nights
    assert as_of in limits, "the DAG's nights failed"
    local = limits[as_of]
    # every segment has businesses, and every source has files (the simulator's worlds have no FX rates)
    assert set(world["segments"]) == {"brand", *BORROWER_SEGMENTS}
    landing = world_dir / "landing"
    assert {p.name for p in landing.iterdir()} == set(SOURCES) - {"fx_rates"}
    cluster_root = tmp_path / "cluster_lakehouse"
    shutil.copytree(after_first / "lakehouse", cluster_root)
    shutil.copy(after_first / "serving.db", tmp_path / "cluster_serving.db")

    env = {
        **os.environ,  # the first night's settings, the PII key too
        "LAKEHOUSE_ROOT": str(cluster_root),
        "SPARK_MASTER": standalone_cluster["url"],
        "SERVING_URL": f"sqlite:///{tmp_path}/cluster_serving.db",
        "SPARK_LOCAL_IP": "127.0.0.1",
        "SPARK_DRIVER_MEMORY": "1g",
        "PYSPARK_PYTHON": sys.executable,
    }
    cli = Path(sys.executable).parent / "helicopter"
    run = subprocess.run(
        [str(cli), "run", "--landing", str(landing), "--as-of", as_of.isoformat()],
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert "  features          " in run.stdout and "gold.feature_vector" in run.stdout  # each producer's cost

    apps = master_state(standalone_cluster["ui_port"])
    assert [a["name"] for a in apps["completedapps"] + apps["activeapps"]] == ["helicopter"]

    cluster = limits_of(cluster_root, as_of)
    assert len(local) == len(cluster) == 80 - world["segments"]["brand"]  # every borrower, brands are never scored
    assert set(cluster["model_version"]) == set(limits[first]["model_version"])  # the first night's champion
    exact = [
        "entity_id",
        "as_of_date",
        "segment",
        "decision",
        "limit_amount",
        "currency",
        "model_version",
        "policy_version",
    ]
    pd.testing.assert_frame_equal(local[exact], cluster[exact])
    assert local["pd"].tolist() == pytest.approx(cluster["pd"].tolist(), abs=1e-9)
    assert [list(r) for r in local["reason_codes"]] == [list(r) for r in cluster["reason_codes"]]

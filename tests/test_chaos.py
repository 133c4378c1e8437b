"""Faults on purpose: a Spark job killed mid-write, concurrent writers on one table, a writer that keeps losing.

Run as a group with `pytest -m chaos` (they are part of `make test`)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from delta.exceptions import ConcurrentAppendException

from jobs import pipeline, tables
from jobs.catalog import contract
from jobs.errors import ConcurrentWriteError
from jobs.pipeline import NIGHT
from jobs.settings import load_settings

pytestmark = pytest.mark.chaos
TXN_HEADER = "txn_id,entity_id,ts,amount,currency,channel,payer_token,status"
# payments in the batch of the ingest killed mid-write: enough that writing bronze takes longer than a poll
KILLED_ROWS = 20_000
PII_KEY = "chaos-test-key"  # one tokenising key for every lakehouse compared here, so equal payers give equal tokens


@pytest.fixture
def keyed(settings, monkeypatch):
    """The test's settings, and its environment (read by subprocesses and DAG tasks), with the same PII key."""
    monkeypatch.setenv("PII_TOKEN_KEY", PII_KEY)
    return dataclasses.replace(settings, pii_token_key=PII_KEY)


def registry(landing, *lakehouses) -> None:
    """The merchants E0..E499 the payments name, registered in each lakehouse before its payments arrive."""
    header = "entity_id,segment,registered_date,city,country,owner_name,owner_id_scheme,owner_id_number,owner_phone"
    landing.write(
        "entities", "2026-01-31", header, *(f"E{i},offline_merchant,2025-01-01,Wuhan,CN,,,," for i in range(500))
    )
    for settings in lakehouses:
        pipeline.ingest(str(landing.root), ["entities"], settings=settings)


def payments_file(landing, day: str, rows: int, start: int = 0) -> None:
    lines = [
        f"T{i},E{i % 500},{day}T{i % 24:02d}:{i % 60:02d}:00+08:00,{(i % 997) + 1}.25,CNY,qr,p{i % 3001},success"
        for i in range(start, start + rows)
    ]
    landing.write("transactions", day, TXN_HEADER, *lines, name=f"part-{start}.csv")


def same_tables(spark, one, other) -> list[str]:
    """The ingest's tables whose rows (load times and run ids aside) differ between two lakehouses."""
    drop = {
        "bronze.transactions": ("_ingested_at", "_run_id"),
        "silver.transactions": ("_ingested_at",),
        "silver.txn_daily": ("updated_at",),
        "bronze.file_ledger": ("run_id", "ingested_at", "status"),
        "quarantine.transactions": ("run_id", "quarantined_at"),
    }
    differ = []
    for fqn, columns in drop.items():
        a, b = (tables.read(spark, s, fqn).drop(*columns) for s in (one, other))
        if not (a.exceptAll(b).isEmpty() and b.exceptAll(a).isEmpty()):
            differ.append(fqn)
    return differ


def test_a_spark_job_killed_mid_write_leaves_no_partial_version_and_the_rerun_matches(spark, keyed, landing, tmp_path):
    settings = keyed
    undisturbed = load_settings({**os.environ, "LAKEHOUSE_ROOT": str(tmp_path / "undisturbed")})
    registry(landing, settings, undisturbed)
    for day, start in (("2026-02-01", 0), ("2026-02-02", KILLED_ROWS // 2)):
        payments_file(landing, day, KILLED_ROWS // 2, start)
    bronze_dir = Path(settings.table_path("bronze", "transactions"))
    env = {**os.environ, "LAKEHOUSE_ROOT": settings.lakehouse_root, "HELICOPTER_DEBUG": "1"}
    job = subprocess.Popen(
        [sys.executable, "-m", "jobs.cli", "ingest", "--landing", str(landing.root), "--source", "transactions"],
        env=env,
        start_new_session=True,  # its own process group: the Python driver and its JVM die together
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 240
    while not list(bronze_dir.glob("**/*.parquet")) and job.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)  # the first data file of bronze appears before its commit
    writing = bool(list(bronze_dir.glob("**/*.parquet")))
    os.killpg(job.pid, signal.SIGKILL)
    job.wait()
    assert job.returncode == -signal.SIGKILL, "the ingest ended before it could be killed mid-write"
    assert writing, "the ingest was killed before it wrote a data file"

    seen = tables.read(spark, settings, "bronze.transactions").count()
    assert seen in (0, KILLED_ROWS), f"a partial write is visible: {seen} bronze rows"
    assert tables.read(spark, settings, "silver.transactions").count() in (0, KILLED_ROWS)

    pipeline.ingest(str(landing.root), ["transactions"], settings=settings)
    pipeline.ingest(str(landing.root), ["transactions"], settings=undisturbed)
    assert tables.read(spark, undisturbed, "silver.transactions").count() == KILLED_ROWS
    assert same_tables(spark, settings, undisturbed) == []


def test_concurrent_writers_on_one_table_lose_no_row_and_double_none(spark, settings, caplog):
    now = dt.datetime(2026, 2, 1)

    def writer(name: str, errors: list) -> None:
        try:
            for i in range(6):
                batch = spark.createDataFrame(
                    [(f"{name}-{i}", "transactions", 1, 10, 8, 1, 1, 0, [], now)],
                    contract("silver.ingest_batches").struct_type(),
                )
                tables.merge(spark, settings, "silver.ingest_batches", batch)
        except Exception as e:  # noqa: BLE001 - reported by the assertion below
            errors.append(e)

    tables.read(spark, settings, "silver.ingest_batches")  # create it before the race
    errors: list = []
    threads = [threading.Thread(target=writer, args=(name, errors)) for name in ("a", "b", "c")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert "retry 1 of" in caplog.text, "the writers never raced: no commit lost to another"
    runs = [r.run_id for r in tables.read(spark, settings, "silver.ingest_batches").collect()]
    assert sorted(runs) == sorted(f"{n}-{i}" for n in "abc" for i in range(6))


def test_a_writer_that_keeps_losing_the_race_fails_with_a_clear_message(monkeypatch, caplog):
    monkeypatch.setattr(tables.time, "sleep", lambda s: None)
    calls = []

    def conflicted():
        calls.append(1)
        raise ConcurrentAppendException(message="Files were added to the root of the table by a concurrent update")

    with pytest.raises(ConcurrentWriteError, match=r"silver.x: a concurrent writer committed first 3 times"):
        tables.committed("silver.x", conflicted, attempts=3)
    assert len(calls) == 3 and "retry 2 of 2" in caplog.text

    outcomes = iter([ConcurrentAppendException(message="lost once"), "done"])

    def loses_once():
        outcome = next(outcomes)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    assert tables.committed("silver.x", loses_once) == "done"


def test_an_airflow_task_that_fails_halfway_retries_to_the_tables_of_a_clean_run(
    spark, keyed, landing, airflow_db, tmp_path, monkeypatch
):
    settings = keyed
    from airflow.dag_processing.dagbag import DagBag

    undisturbed = load_settings({**os.environ, "LAKEHOUSE_ROOT": str(tmp_path / "undisturbed")})
    registry(landing, undisturbed)  # the DAG's ingest loads the registry itself, before the payments
    payments_file(landing, "2026-02-01", 3000)
    payments_file(landing, "2026-02-02", 3000, 3000)
    real_sync, faults = tables.sync, []

    def dies_once(*args, **kwargs):  # after bronze and silver.transactions, before txn_daily and the ledger
        if not faults:
            faults.append("txn_daily")
            raise RuntimeError("injected fault: the worker died halfway through the ingest")
        return real_sync(*args, **kwargs)

    monkeypatch.setattr(tables, "sync", dies_once)
    dag = DagBag(dag_folder=str(Path(__file__).resolve().parents[1] / "dags")).get_dag("nightly_preapproval")
    dag.get_task("ingest").retry_delay = dt.timedelta(0)
    run = dag.test(
        logical_date=dt.datetime(2026, 2, 3, 2, tzinfo=dt.UTC),
        run_conf={"landing": str(landing.root)},
        mark_success_pattern="|".join(s for s in NIGHT if s != "ingest"),  # only the ingest runs for real
    )
    assert run.state == "success" and faults == ["txn_daily"]
    assert run.get_task_instance("ingest").try_number == 2

    pipeline.ingest(str(landing.root), ["transactions"], settings=undisturbed)
    assert tables.read(spark, settings, "silver.txn_daily").count() > 0
    assert same_tables(spark, settings, undisturbed) == []

"""Every Airflow DAG loads, follows the house rules (tags, retries, static start date, docs) and only wires."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from jobs import catalog, orchestration
from jobs.ingest.sources import SOURCES

DAGS = Path(__file__).resolve().parents[1] / "dags"
INGEST_DAG_IDS = {f"ingest_{source}" for source in SOURCES}
EXPECTED_DAG_IDS = {"nightly_preapproval", "weekly_pd_training", *INGEST_DAG_IDS}
NIGHTLY_CHAIN = ["ingest", "features", "ensure_model", "score", "publish", "night_report"]
HEAVY = ("pyspark", "xgboost", "great_expectations")


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag  # AIRFLOW_HOME and the examples switch are set by conftest

    return DagBag(dag_folder=str(DAGS))


@pytest.fixture(scope="module")
def dags(dagbag) -> list:
    return list(dagbag.dags.values())


def test_every_dag_file_imports_without_errors(dagbag):
    assert dagbag.import_errors == {}


def test_the_nightly_training_and_per_source_ingest_dags_are_present(dagbag):
    assert EXPECTED_DAG_IDS <= set(dagbag.dag_ids)
    assert len(dagbag.dags) >= len(list(DAGS.glob("*.py")))  # every file holds at least one DAG


def test_tags_are_non_empty_and_from_the_known_set(dags):
    for dag in dags:
        assert dag.tags, dag.dag_id
        assert set(dag.tags) <= orchestration.TAGS, (dag.dag_id, set(dag.tags) - orchestration.TAGS)


def test_every_dag_has_doc_md(dags):
    for dag in dags:
        assert dag.doc_md and dag.doc_md.strip(), dag.dag_id


def test_start_date_is_static_and_timezone_aware(dags):
    for dag in dags:
        assert isinstance(dag.start_date, dt.datetime), dag.dag_id
        assert dag.start_date.utcoffset() is not None, dag.dag_id
        assert dag.start_date == orchestration.START_DATE, dag.dag_id


def test_catchup_is_off_and_an_owner_is_set(dags):
    for dag in dags:
        assert dag.catchup is False, dag.dag_id
        assert dag.owner and dag.owner != "airflow", dag.dag_id


def test_every_task_retries_and_has_doc_md(dags):
    for dag in dags:
        for task in dag.tasks:
            assert task.retries >= 1, f"{dag.dag_id}.{task.task_id}"
            assert task.doc_md and task.doc_md.strip(), f"{dag.dag_id}.{task.task_id}"


def test_nightly_tasks_form_the_chain_ingest_features_model_score_publish(dagbag):
    dag = dagbag.dags["nightly_preapproval"]
    assert set(dag.task_ids) == set(NIGHTLY_CHAIN)
    for upstream, downstream in zip(NIGHTLY_CHAIN, NIGHTLY_CHAIN[1:]):
        assert dag.get_task(upstream).downstream_task_ids == {downstream}
    assert dag.get_task("night_report").downstream_task_ids == set()
    for step in NIGHTLY_CHAIN:  # each task writes the tables whose contracts name its step, and says what it does
        assert [a.extra["table"] for a in dag.get_task(step).outlets] == catalog.tables_of(step), step
    assert dag.get_task("ingest").upstream_task_ids == set()


def test_the_ingest_outlets_name_what_each_source_writes():
    # the DAG files read the contracts through orchestration (no Spark); jobs.ingest.sources reads the same contracts
    outlets = orchestration.ingest_outlets()
    assert list(outlets) == list(SOURCES)
    for name, source in SOURCES.items():
        silver = outlets[name]
        assert silver[0] == source.silver
        assert (len(silver) > 1) == (source.after_merge is not None), name  # transactions also keep txn_daily
        upstream = orchestration.upstream_sources(name)
        assert ("entities" in upstream) == bool(source.entity_columns), name
        assert ("fx_rates" in upstream) == bool(source.converts_on), name


def test_every_source_has_a_thin_ingest_dag_with_its_silver_tables_as_outlets(dagbag):
    for name, silver in orchestration.ingest_outlets().items():
        dag = dagbag.dags[f"ingest_{name}"]
        assert "ingest" in dag.tags, name
        upstream = orchestration.upstream_sources(name)  # the registry and the rates of the same day first
        assert set(dag.task_ids) == {"ingest", *(f"{u}_ingested" for u in upstream)}, name
        for u in upstream:
            sensor = dag.get_task(f"{u}_ingested")
            assert (sensor.external_dag_id, sensor.external_task_id) == (f"ingest_{u}", "ingest"), name
            assert sensor.downstream_task_ids == {"ingest"}, name
        assert dag.max_active_runs == 1 and "landing" in dag.params, name
        assert dag.get_task("ingest").max_active_tis_per_dag == 1, name  # backfill runs too: one load at a time
        outlets = dag.get_task("ingest").outlets
        assert [a.uri for a in outlets] == [orchestration.table_asset(t).uri for t in silver], name
        assert [a.extra["table"] for a in outlets] == list(silver), name


def test_the_ingest_runs_for_a_day_start_when_it_is_over_and_before_the_nightly_run(dagbag):
    day = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    nightly_start = first_run(dagbag.dags["nightly_preapproval"], day).run_after
    for dag_id in INGEST_DAG_IDS:
        run = first_run(dagbag.dags[dag_id], day)
        # the run for the 1st loads the dt= folders up to the 1st; at midnight, so a backfill's --to-date includes it
        assert run.logical_date == day, dag_id
        assert day + dt.timedelta(days=1) <= run.run_after < nightly_start + dt.timedelta(days=1), dag_id
    assert orchestration.through_from({"logical_date": day + dt.timedelta(hours=1)}) == day.date()


def first_run(dag, earliest: dt.datetime):
    """The scheduler's first run of `dag` from `earliest` on (the DAG file's timetable, as the scheduler reads it)."""
    from airflow.serialization.encoders import coerce_to_core_timetable
    from airflow.timetables.base import TimeRestriction

    restriction = TimeRestriction(earliest=earliest, latest=None, catchup=True)
    return coerce_to_core_timetable(dag.timetable).next_dagrun_info(
        last_automated_data_interval=None, restriction=restriction
    )


IMPORT_ALL = """
import importlib.util, json, sys
from pathlib import Path

for i, path in enumerate(sorted(Path(sys.argv[1]).glob("*.py"))):
    spec = importlib.util.spec_from_file_location(f"dag_file_{i}", path)
    spec.loader.exec_module(importlib.util.module_from_spec(spec))
print(json.dumps(sorted(m for m in sys.argv[2:] if m in sys.modules)))
"""


def test_dag_files_only_wire_no_heavy_import_at_module_level(tmp_path):
    script = tmp_path / "import_dags.py"
    script.write_text(IMPORT_ALL, encoding="utf-8")
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(tmp_path / "airflow"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "LAKEHOUSE_ROOT": str(tmp_path / "lakehouse"),
    }
    done = subprocess.run(
        [sys.executable, str(script), str(DAGS), *HEAVY],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    assert loaded == [], f"importing the DAG files loaded {loaded}; import them inside the task"

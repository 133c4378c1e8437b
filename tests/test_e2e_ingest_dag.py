"""A real per-source ingest DAG, run with dag.test() day after day: each run loads the deliveries up to its day."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from jobs import tables

pytestmark = pytest.mark.e2e
DAGS = Path(__file__).resolve().parents[1] / "dags"
ENTITY_HEADER = "entity_id,segment,registered_date,city,country,owner_name,owner_id_scheme,owner_id_number,owner_phone"


def test_an_ingest_dag_loads_day_by_day_and_a_rerun_adds_nothing(spark, settings, landing, airflow_db):
    from airflow.dag_processing.dagbag import DagBag
    from delta.tables import DeltaTable

    landing.write("entities", "2026-01-01", ENTITY_HEADER, "E1,offline_merchant,2025-05-01,Hangzhou,CN,,,,")
    landing.write("entities", "2026-01-02", ENTITY_HEADER, "E2,online_merchant,2026-01-02,Suzhou,CN,,,,")
    dag = DagBag(dag_folder=str(DAGS)).get_dag("ingest_entities")

    def run_for(day: int) -> None:  # LANDING_DIR (the settings fixture) is the DAG's default landing folder
        assert dag.test(logical_date=dt.datetime(2026, 1, day, tzinfo=dt.UTC)).state == "success"

    def loaded() -> tuple[list[str], int, list[int]]:
        ids = sorted(r.entity_id for r in tables.read(spark, settings, "silver.entities").collect())
        version = DeltaTable.forPath(spark, settings.table_path("silver", "entities")).history(1).first().version
        batches = tables.read(spark, settings, "silver.ingest_batches").where("source = 'entities'")
        return ids, version, sorted(b.files for b in batches.collect())

    run_for(1)
    assert loaded()[0] == ["E1"]  # the 2nd's delivery had not arrived by the 1st
    run_for(2)
    after_two_days = loaded()
    assert after_two_days[0] == ["E1", "E2"] and after_two_days[2] == [1, 1]  # one batch a day, one file each
    run_for(2)  # a rerun of a day: the ledger knows its files
    assert loaded() == after_two_days

"""Pipeline steps submitted with spark-submit: the asking process never hosts Spark, the result is the same."""

from __future__ import annotations

import dataclasses

import pytest

from jobs import orchestration
from jobs.errors import StepError
from jobs.submit import command, delta_packages


def test_the_command_names_the_master_delta_and_this_interpreter(settings):
    cmd = command(
        dataclasses.replace(settings, spark_master="spark://10.0.0.1:7077"), "features", {"as_of": "2026-01-01"}
    )
    assert cmd[0].endswith("spark-submit")
    assert cmd[cmd.index("--master") + 1] == "spark://10.0.0.1:7077"
    assert cmd[cmd.index("--packages") + 1] == delta_packages()
    assert delta_packages().startswith("io.delta:delta-spark_4.2_2.13:")
    assert cmd[cmd.index("--driver-java-options") + 1] == "-Duser.timezone=UTC -XX:+UseSerialGC"  # the tests' settings
    assert cmd[-2:] == ["features", '{"as_of": "2026-01-01"}']
    with pytest.raises(StepError, match="unknown step"):
        command(settings, "drop_everything", {})


@pytest.mark.integration
def test_a_step_run_through_spark_submit_writes_the_lakehouse(settings, landing, monkeypatch):
    from deltalake import DeltaTable

    landing.write(
        "entities",
        "2026-01-01",
        "entity_id,segment,registered_date,city,country,owner_name,owner_id_scheme,owner_id_number,owner_phone",
        "E1,offline_merchant,2024-05-01,Hangzhou,CN,Wang Wei,CN-RIC,11010519491231002X,13800138000",
        "E2,farmer,2023-01-09,Wuhan,CN,,,,",
    )
    monkeypatch.setenv("HELICOPTER_TASK_RUNNER", "spark-submit")
    monkeypatch.setenv("SPARK_MASTER", "local[1]")
    monkeypatch.setenv("SPARK_DRIVER_MEMORY", "1g")
    monkeypatch.setenv("SPARK_CODEGEN", "on")  # the product's default, compiled queries: the rest of the run skips it
    counts = orchestration.run_step("ingest", landing=str(landing.root), sources=["entities"], run_id="submitted")
    assert counts == [
        {
            "source": "entities",
            "files": 1,
            "bronze_rows": 2,
            "accepted": 2,
            "duplicates": 0,
            "quarantined": 0,
            "rejected_files": 0,
            "top_reasons": [],
        }
    ]
    silver = DeltaTable(settings.table_path("silver", "entities")).to_pandas()
    assert sorted(silver["entity_id"]) == ["E1", "E2"]


def test_an_unknown_runner_is_refused(monkeypatch):
    monkeypatch.setenv("HELICOPTER_TASK_RUNNER", "carrier-pigeon")
    with pytest.raises(ValueError, match="in-process or spark-submit"):
        orchestration.run_step("features", as_of=None)

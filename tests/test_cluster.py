"""The nightly chain on a real Spark standalone cluster (a master and a worker on 127.0.0.1, started from the installed
pyspark) gives the same limits as local mode: only the SPARK_MASTER setting differs.

The world is a short one (no loan matures in it), so both lakehouses score with the same registered champion, trained
on synthetic loans: what the cluster changes is every Spark job of the night, not the booster fitted on the driver."""

from __future__ import annotations

import dataclasses
import datetime as dt
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pandas as pd
import pyspark
import pytest
from test_model import registered, synthetic

from jobs import pipeline, registry
from jobs.ingest.sources import SOURCES
from jobs.model import pd_model
from simulator.population import BORROWER_SEGMENTS
from simulator.world import WorldSpec, simulate

pytestmark = pytest.mark.cluster
SPARK_CLASS = Path(pyspark.__file__).parent / "bin" / "spark-class"


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


def limits_of(root: Path) -> pd.DataFrame:
    from deltalake import DeltaTable

    frame = DeltaTable(str(root / "gold" / "preapproved_limits")).to_pandas()
    return frame.sort_values("entity_id").reset_index(drop=True)


def test_the_cluster_run_equals_the_local_run(spark, settings, standalone_cluster, tmp_path):
    world = simulate(
        WorldSpec(entities=20, days=90, start=dt.date(2025, 1, 1), seed=37, bad_rate=0.005), tmp_path / "world"
    )
    as_of = dt.date.fromisoformat(world["end"])
    landing = str(tmp_path / "world" / "landing")
    # seed 37: every segment has businesses, and every source has files (the simulator's worlds have no FX rates)
    assert set(world["segments"]) == {"brand", *BORROWER_SEGMENTS}
    assert {p.name for p in Path(landing).iterdir()} == set(SOURCES) - {"fx_rates"}
    cluster_root = tmp_path / "cluster_lakehouse"
    frame, spec = synthetic()
    champion, _ = registered(frame, spec, tmp_path, f"pd-{as_of.isoformat()}-synthetic", trained_as_of=as_of)
    for lakehouse in (settings, dataclasses.replace(settings, lakehouse_root=str(cluster_root))):
        registry.register(spark, lakehouse, pd_model.REGISTRY, champion)

    key = "cluster-test-key"  # the same PII key on both sides: only SPARK_MASTER differs
    pipeline.nightly(landing, as_of, settings=dataclasses.replace(settings, pii_token_key=key))  # local, in-process

    env = {
        **os.environ,
        "LAKEHOUSE_ROOT": str(cluster_root),
        "SPARK_MASTER": standalone_cluster["url"],
        "SERVING_URL": f"sqlite:///{tmp_path}/cluster_serving.db",
        "SPARK_LOCAL_IP": "127.0.0.1",
        "SPARK_DRIVER_MEMORY": "1g",
        "PYSPARK_PYTHON": sys.executable,
        "PII_TOKEN_KEY": key,
    }
    cli = Path(sys.executable).parent / "helicopter"
    run = subprocess.run(
        [str(cli), "run", "--landing", landing, "--as-of", as_of.isoformat()],
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert "  features          " in run.stdout and "gold.feature_vector" in run.stdout  # each producer's cost

    apps = master_state(standalone_cluster["ui_port"])
    assert [a["name"] for a in apps["completedapps"] + apps["activeapps"]] == ["helicopter"]

    local, cluster = limits_of(Path(settings.lakehouse_root)), limits_of(cluster_root)
    assert len(local) == len(cluster) == 20 - world["segments"]["brand"]  # every borrower, brands are never scored
    assert set(local["model_version"]) == {champion.model_version}
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

"""One Spark session for the whole run (local, UTC, few shuffle partitions); each test gets its own lakehouse."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"

# pytest-xdist's test processes run under execnet, whose __main__ has no __file__: pyspark.sql.connect (imported by
# Great Expectations) then takes the process for a doctest run and exits when its optional gRPC packages are absent
main_module = sys.modules["__main__"]
if getattr(main_module, "__spec__", None) is None and not hasattr(main_module, "__file__"):
    main_module.__file__ = __file__

# Airflow reads its configuration when first imported: before any test does, give the run its own Airflow home
# (a fresh metadata database, apart from the one the project's UI uses) and the project's DAGs
os.environ["AIRFLOW_HOME"] = tempfile.mkdtemp(prefix="helicopter-airflow-")
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(ROOT / "dags")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"


# the slowest tiers first: with several test processes each takes whole modules in this order, so the long end-to-end
# runs start at once, beside the many short tests, instead of leaving one process working alone at the end
HEAVIEST_FIRST = ("cluster", "e2e", "chaos", "realdata", "integration")


def pytest_collection_modifyitems(items):
    def tier(item) -> int:
        marks = {m.name for m in item.iter_markers()}
        return next((i for i, name in enumerate(HEAVIEST_FIRST) if name in marks), len(HEAVIEST_FIRST))

    module_tier = {}
    for item in items:
        module_tier[item.module] = min(module_tier.get(item.module, len(HEAVIEST_FIRST)), tier(item))
    items.sort(key=lambda item: module_tier[item.module])  # stable: a module's tests keep their order


@pytest.fixture(scope="session")
def guide_limit_fields() -> set[str]:
    """What ../shared/GUIDE.md promises of gold.preapproved_limits and of `helicopter lookup --json`."""
    return {
        "as_of_date",
        "entity_id",
        "segment",
        "pd",
        "limit_amount",
        "currency",
        "reason_codes",
        "model_version",
        "policy_version",
    }


# the tests' data is small: few shuffle partitions, expressions interpreted rather than compiled (SPARK_CODEGEN), and
# the serial garbage collector, which on a small heap spends less CPU than G1's threads (the suite keeps both cores
# busy, so CPU is its time); for the session of the run and for every process a test starts (a CLI run, spark-submit,
# a cluster's driver and executor)
SMALL_DATA_SPARK = {"SPARK_SHUFFLE_PARTITIONS": "2", "SPARK_CODEGEN": "off", "SPARK_JAVA_OPTIONS": "-XX:+UseSerialGC"}


@pytest.fixture(scope="session")
def spark(tmp_path_factory):
    from jobs.settings import load_settings
    from jobs.spark_session import get_spark

    root = tmp_path_factory.mktemp("spark")
    session = get_spark(load_settings({"LAKEHOUSE_ROOT": str(root), "SPARK_MASTER": "local[2]", **SMALL_DATA_SPARK}))
    yield session
    session.stop()


@pytest.fixture
def settings(tmp_path, monkeypatch):
    """A fresh, empty lakehouse for one test, also set in the environment for code that reads it from there."""
    from jobs.settings import load_settings

    env = {
        "LAKEHOUSE_ROOT": str(tmp_path / "lakehouse"),
        **SMALL_DATA_SPARK,
        "LANDING_DIR": str(tmp_path / "landing zone"),  # a space: paths are matched the way Spark escapes them
        "SERVING_URL": f"sqlite:///{tmp_path}/serving.db",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return load_settings(env)


@pytest.fixture(scope="session")
def shared_data():
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data not found at {SHARED_DATA} (it sits beside the project root in CI)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def online_retail(spark, shared_data, tmp_path_factory, worker_id):
    """UCI Online Retail adapted into landing files and ingested once for the run: (its folder, the rows written per
    source, the ingest's counts per source, the lakehouse's settings). With several test processes (pytest-xdist),
    the first that needs it loads it and the others wait and read the same lakehouse. A test that writes more copies
    the lakehouse."""
    from filelock import FileLock

    from jobs import pipeline
    from jobs.adapt.online_retail import adapt_online_retail
    from jobs.settings import load_settings

    base = tmp_path_factory.getbasetemp()
    out = (base if worker_id == "master" else base.parent) / "online_retail"
    env = {"LAKEHOUSE_ROOT": str(out / "lakehouse"), **SMALL_DATA_SPARK, "REPORTING_CURRENCY": "GBP"}
    loaded = load_settings(env)  # a UK wholesaler's books, in pounds
    record = out / "loaded.json"
    with FileLock(f"{out}.lock"):
        if not record.exists():
            out.mkdir(parents=True, exist_ok=True)
            written = adapt_online_retail(shared_data, out)
            counts = pipeline.ingest(str(out / "landing"), ["entities", "trade", "transactions"], settings=loaded)
            record.write_text(json.dumps({"written": written, "counts": counts}))
    done = json.loads(record.read_text())
    return out, done["written"], {c["source"]: c for c in done["counts"]}, loaded


class Landing:
    """Writes landing files under `<root>/<source>/dt=<day>/` the way a provider delivers them."""

    def __init__(self, root: Path):
        self.root = root

    def write(self, source: str, day: str, header: str, *lines: str, name: str | None = None) -> Path:
        path = self.root / source / f"dt={day}" / (name or f"{source}.csv")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")
        return path


@pytest.fixture
def landing(settings) -> Landing:
    return Landing(Path(settings.landing_dir))


@pytest.fixture(scope="session")
def airflow_db():
    """dag.test() needs a migrated metadata database (in this run's temporary AIRFLOW_HOME)."""
    airflow = Path(sys.executable).parent / "airflow"
    subprocess.run([str(airflow), "db", "migrate"], env=os.environ, check=True, capture_output=True)

"""What the Airflow DAG files share: default arguments, the as-of date of a run, table assets, failure messages.

DAG files only wire tasks to `jobs.pipeline`; everything they have in common lives here.
"""

from __future__ import annotations

import datetime as dt
import logging

from jobs import catalog
from jobs.errors import SettingsError
from jobs.pipeline import NIGHT  # noqa: F401 - the DAG files' one way to the steps
from jobs.settings import load_settings

log = logging.getLogger(__name__)
TAGS = {"helicopter", "nightly", "training", "ingest", "serving"}  # the known set the integrity test checks
START_DATE = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def ingest_outlets() -> dict[str, list[str]]:
    """Each landing source's silver tables, in the order a nightly run loads the sources: the outlets of its ingest
    DAG (from the contracts, as `jobs.ingest.sources` is, without importing Spark)."""
    return {source: catalog.source_tables(source) for source in catalog.ingest_sources()}


def upstream_sources(source: str) -> list[str]:
    """The sources whose silver tables a source's rows are checked or converted against (the registry for the
    businesses they name, the exchange rates for their amounts), in load order: its DAG waits for their ingests of
    the same day."""
    read = {t for table in catalog.source_tables(source) for t in catalog.contract(table).reads}
    return [s for s in catalog.ingest_sources() if s != source and read & set(catalog.source_tables(s))]


def step_doc(step: str) -> str:
    """A pipeline step's own description (its docstring), as a task's doc."""
    from jobs import pipeline

    return " ".join(getattr(pipeline, step).__doc__.split())


def run_night_step(step: str, context):
    """Run one step of the night for a DAG run: ingest on the run's landing folder (its run id in the lineage), every
    other step as of the run's business date."""
    from jobs import pipeline

    kwargs = pipeline.night_arguments(step, landing_from(context), as_of_from(context))
    if step == "ingest":
        kwargs["run_id"] = f"airflow-{context['run_id']}"
    return run_step(step, **kwargs)


def step_outlets(step: str) -> list:
    """The assets of the tables a pipeline step writes (their contracts' `produced_by`)."""
    return [table_asset(fqn) for fqn in catalog.tables_of(step)]


def on_failure(context) -> None:
    """Say what failed, for which date, and where to look."""
    ti = context.get("task_instance")
    settings = load_settings()
    try:
        as_of = as_of_from(context).isoformat()
    except Exception:  # noqa: BLE001 - the message must go out whatever the context holds
        as_of = "?"
    log.error(
        "helicopter task %s of %s failed for run %s (as of %s): %s. The last night report: %s/reports/; "
        "Spark's own log: %s/_logs/spark-jvm.log; `helicopter status` shows the tables and the last runs.",
        getattr(ti, "task_id", "?"),
        getattr(ti, "dag_id", "?"),
        context.get("run_id"),
        as_of,
        context.get("exception"),
        settings.lakehouse_root,
        settings.lakehouse_root,
    )


DEFAULT_ARGS = {
    "owner": "risk-data",
    "retries": 2,
    "retry_delay": dt.timedelta(minutes=5),
    "on_failure_callback": on_failure,
}


def table_asset(fqn: str):
    """The Airflow Asset of a lakehouse table: its URI (and so its identity) is the Delta table's location, so two
    lakehouses never share an asset; `extra.table` keeps the readable name."""
    from airflow.sdk import Asset

    layer, name = fqn.split(".", 1)
    path = load_settings().table_path(layer, name)
    return Asset(uri=path if "://" in path else f"file://{path}", group="lakehouse", extra={"table": fqn})


def as_of_from(context) -> dt.date:
    """The business date a run computes: the `as_of` param when given, else the day before the run's date
    (the nightly run on D+1 computes limits as of D)."""
    given = (context.get("params") or {}).get("as_of")
    if given:
        return dt.date.fromisoformat(given)
    run_date = context.get("logical_date") or context["dag_run"].run_after
    return dt.date.fromisoformat(run_date.date().isoformat()) - dt.timedelta(days=1)  # a plain date, not pendulum


def run_step(step: str, **kwargs):
    """Run one pipeline step the way the settings say: in this process (the default), or, with
    HELICOPTER_TASK_RUNNER=spark-submit, as a Spark application of its own submitted to SPARK_MASTER."""
    settings = load_settings()
    if settings.task_runner == "spark-submit":
        from jobs.submit import submit

        return submit(settings, step, **kwargs)
    if settings.task_runner != "in-process":
        raise SettingsError(f"HELICOPTER_TASK_RUNNER must be in-process or spark-submit, not {settings.task_runner!r}")
    from jobs import pipeline

    return getattr(pipeline, step)(**kwargs)


def ingest_schedule():
    """A per-source ingest DAG's schedule: daily over data intervals from midnight UTC, so the run for logical date D
    starts when D is over (00:00 the day after, two hours before the nightly run) and loads the `dt=` folders up to D;
    `airflow backfill create --from-date A --to-date B` then makes one run for each day from A to B."""
    from airflow.sdk import CronDataIntervalTimetable

    return CronDataIntervalTimetable("0 0 * * *", timezone="UTC")


def upstream_ingested(upstream: str):
    """A task of a source's ingest DAG that waits until `ingest_<upstream>` has loaded its files up to the same day
    (its run for the same logical date), so that a business registered that day, or that day's exchange rates, are
    known before the rows that need them."""
    from airflow.providers.standard.sensors.external_task import ExternalTaskSensor

    return ExternalTaskSensor(
        task_id=f"{upstream}_ingested",
        external_dag_id=f"ingest_{upstream}",
        external_task_id="ingest",
        mode="reschedule",  # holds no worker slot while it waits
        poke_interval=60,
        timeout=6 * 3600,
        doc_md=f"Wait for `ingest_{upstream}`'s run of the same day: {upstream} first, then the rows needing them.",
    )


def through_from(context) -> dt.date:
    """The last landing day a per-source ingest run loads: its logical date's day, or for a run without one
    (triggered by hand) the day it runs."""
    run_date = context.get("logical_date") or context["dag_run"].run_after
    return dt.date.fromisoformat(run_date.date().isoformat())  # a plain date, not pendulum


def landing_from(context) -> str:
    return (context.get("params") or {}).get("landing") or load_settings().landing_dir

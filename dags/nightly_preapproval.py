"""The nightly pre-approval run: tonight's limits for every known business, published for instant lookup."""

from __future__ import annotations

from airflow.sdk import Param, dag, get_current_context, task

from jobs import orchestration as orch


def night_task(step: str):
    """One task per step of the night (`jobs.pipeline.NIGHT`): its outlets the tables the step writes, its doc the
    step's own."""

    @task(task_id=step, outlets=orch.step_outlets(step), doc_md=orch.step_doc(step))
    def run() -> object:
        return orch.run_night_step(step, get_current_context())

    return run()


@dag(
    dag_id="nightly_preapproval",
    schedule="0 2 * * *",
    start_date=orch.START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=orch.DEFAULT_ARGS,
    tags=["helicopter", "nightly"],
    params={
        "as_of": Param(
            None, type=["null", "string"], format="date", description="business date; default: the day before the run"
        ),
        "landing": Param(None, type=["null", "string"], description="landing folder; default: LANDING_DIR"),
    },
    doc_md=f"""
### Nightly pre-approval
Runs at 02:00 UTC and computes the limits **as of the day before**, in the steps of `jobs.pipeline.NIGHT`:
{" -> ".join(f"`{step}`" for step in orch.NIGHT)}.
Each task's doc says what its step does, and its outlets are the tables the step writes (their contracts'
`produced_by`).
`ingest` loads every file that has landed, so the chain stands alone; the `ingest_<source>` DAGs serve late files and
backfills (a file is loaded once, by whichever runs first).
Every step is idempotent: clear and rerun any task. The same chain runs as `helicopter run --landing DIR --as-of D`.
With `HELICOPTER_TASK_RUNNER=spark-submit` each task submits its step to `SPARK_MASTER` with `spark-submit`, so the
Airflow worker never hosts Spark; the default runs it in the task's own process.
""",
)
def nightly_preapproval():
    tasks = [night_task(step) for step in orch.NIGHT]
    for upstream, downstream in zip(tasks, tasks[1:]):
        upstream >> downstream


nightly_preapproval()

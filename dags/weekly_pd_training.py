"""The weekly PD model training: label matured loans, snapshot their features point in time, train, register."""

from __future__ import annotations

from airflow.sdk import Param, dag, get_current_context, task

from jobs import orchestration as orch


@dag(
    dag_id="weekly_pd_training",
    schedule="0 4 * * 0",
    start_date=orch.START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=orch.DEFAULT_ARGS,
    tags=["helicopter", "training"],
    params={
        "as_of": Param(None, type=["null", "string"], format="date", description="default: the day before the run")
    },
    doc_md="""
### Weekly PD training
Sundays 04:00 UTC. Labels every loan whose 12-month outcome window has closed (`gold.training_set`), computes its
features as of its disbursement date, trains XGBoost (fitted, stopped and tested on three parts of time a year
apart) and registers the model
in `gold.model_registry`. The nightly run scores with the newest registered model. Same as `helicopter train --as-of D`.
""",
)
def weekly_pd_training():
    @task(
        outlets=orch.step_outlets("train"),
        doc_md="Build the training set and train and register a PD model.",
    )
    def train() -> dict:
        return orch.run_step("train", as_of=orch.as_of_from(get_current_context()))

    train()


weekly_pd_training()

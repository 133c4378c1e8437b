"""The nightly pre-approval run: tonight's limits for every known business, published for instant lookup."""

from __future__ import annotations

from airflow.sdk import Param, dag, get_current_context, task

from jobs import orchestration as orch


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
    doc_md="""
### Nightly pre-approval
Runs at 02:00 UTC and computes the limits **as of the day before**:
`ingest` (every landing source -> bronze -> silver, gated by Great Expectations, rejects to `quarantine.*`)
-> `features` (`silver.vouchers`, `silver.parcel_observations`, `silver.trade_edges`, `gold.feat_txn`,
`gold.feat_graph`, `gold.feat_voucher`, `gold.parcel_season` and `gold.feat_farm`, then `gold.feature_vector`)
-> `ensure_model` (the registered PD model; trains the first one if none)
-> `score` (`gold.preapproved_limits`, gated) -> `publish` (atomic swap into the serving store)
-> `report` (`$LAKEHOUSE_ROOT/reports/night-<as_of>.html`: limits, drift, model validation, data quality).
`ingest` loads every file that has landed, so the chain stands alone; the `ingest_<source>` DAGs serve late files and
backfills (a file is loaded once, by whichever runs first).
Every step is idempotent: clear and rerun any task. The same chain runs as `helicopter run --landing DIR --as-of D`.
With `HELICOPTER_TASK_RUNNER=spark-submit` each task submits its step to `SPARK_MASTER` with `spark-submit`, so the
Airflow worker never hosts Spark; the default runs it in the task's own process.
""",
)
def nightly_preapproval():
    @task(doc_md="Load new landing files of every source into bronze and silver; reconciles every batch.")
    def ingest() -> list[dict]:
        ctx = get_current_context()
        return orch.run_step("ingest", landing=orch.landing_from(ctx), run_id=f"airflow-{ctx['run_id']}")

    @task(
        outlets=[
            orch.table_asset(fqn)
            for fqn in (
                "silver.vouchers",
                "silver.parcel_observations",
                "silver.trade_edges",
                "gold.feat_txn",
                "gold.feat_graph",
                "gold.feat_voucher",
                "gold.parcel_season",
                "gold.feat_farm",
                "gold.feature_vector",
            )
        ],
        doc_md=(
            "Read new vouchers, observe new scenes over the parcels, rebuild the trade edges, compute every feature"
            " family (the farm's with the night's crop model) and the feature vectors."
        ),
    )
    def features() -> dict:
        return orch.run_step("features", as_of=orch.as_of_from(get_current_context()))

    @task(doc_md="The PD model to score with; trains and registers the first one when none exists.")
    def ensure_model() -> str:
        return orch.run_step("ensure_model", as_of=orch.as_of_from(get_current_context()))

    @task(
        outlets=[orch.table_asset("gold.preapproved_limits")], doc_md="Score every entity and apply the limit policy."
    )
    def score() -> int:
        return orch.run_step("score", as_of=orch.as_of_from(get_current_context()))

    @task(doc_md="Publish the night's limits to the serving store: load, verify, swap atomically.")
    def publish() -> dict:
        return orch.run_step("publish", as_of=orch.as_of_from(get_current_context()))

    @task(doc_md="Write the night report (HTML, plots embedded) under $LAKEHOUSE_ROOT/reports/.")
    def report() -> str:
        return orch.run_step("night_report", as_of=orch.as_of_from(get_current_context()))

    ingest() >> features() >> ensure_model() >> score() >> publish() >> report()


nightly_preapproval()

"""One ingest DAG per landing source (`ingest_<source>`): its new files -> bronze -> silver, day by day."""

from __future__ import annotations

from airflow.sdk import Param, dag, get_current_context, task

from jobs import orchestration as orch

UPSTREAM_NOTE = """
It first waits for the runs of the same day of {dags} (backfill those over the range too): a row naming a business the
registry does not hold, or in a currency without a rate, goes to quarantine."""


def ingest_dag(source: str, silver: list[str]):
    tables = ", ".join(f"`{t}`" for t in silver)
    upstream = orch.upstream_sources(source)
    note = UPSTREAM_NOTE.format(dags=", ".join(f"`ingest_{u}`" for u in upstream)) if upstream else ""

    @dag(
        dag_id=f"ingest_{source}",
        schedule=orch.ingest_schedule(),
        start_date=orch.START_DATE,
        catchup=False,
        max_active_runs=1,
        default_args=orch.DEFAULT_ARGS,
        tags=["helicopter", "ingest"],
        params={"landing": Param(None, type=["null", "string"], description="landing folder; default: LANDING_DIR")},
        doc_md=f"""
### Ingest {source}
Loads the new files of `landing/{source}/` into `bronze.{source}` and {tables} (typed, deduplicated, gated by Great
Expectations; rejects to `quarantine.{source}`, the batch's reconciliation to `silver.ingest_batches`).
The run for logical date D starts when D is over (00:00 UTC the day after) and loads only the `dt=` folders up to D,
so `airflow backfill create --dag-id ingest_{source} --from-date A --to-date B` replays the deliveries day by day;
a file already in the ledger is never loaded again, so rerunning a day adds nothing.{note}
The nightly pre-approval DAG ingests every source itself; this DAG serves late files and backfills.
Same as `helicopter ingest --landing DIR --source {source} --through D`.
""",
    )
    def ingest_source():
        @task(
            outlets=[orch.table_asset(t) for t in silver],
            max_active_tis_per_dag=1,  # one load of a source at a time, backfill runs included (earliest first)
            doc_md=f"Load the {source} files up to the run's day that the ledger has not seen.",
        )
        def ingest() -> list[dict]:
            ctx = get_current_context()
            return orch.run_step(
                "ingest",
                landing=orch.landing_from(ctx),
                sources=[source],
                through=orch.through_from(ctx),
                run_id=f"airflow-{ctx['run_id']}",
            )

        load = ingest()
        for name in upstream:
            orch.upstream_ingested(name) >> load

    return ingest_source()


for name, outlets in orch.ingest_outlets().items():
    ingest_dag(name, outlets)

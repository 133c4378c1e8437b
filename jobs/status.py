"""`helicopter status`: what the operator checks first, read without Spark (delta-rs and the serving store):
table versions and freshness, the last ingest runs with their gate results and top quarantine reasons, and the
published night."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from jobs.catalog import all_contracts
from jobs.errors import ServingError
from jobs.settings import Settings


def table_versions(settings: Settings) -> list[dict]:
    """Each lakehouse table's current Delta version, last operation and its age."""
    from deltalake import DeltaTable

    now = dt.datetime.now(dt.UTC)
    found = []
    for c in all_contracts():
        path = c.path(settings)
        if "://" not in path and not (Path(path) / "_delta_log").is_dir():
            found.append({"table": c.fqn, "version": None, "operation": "not created yet", "age": None})
            continue
        last = DeltaTable(path).history(1)[0]
        written = dt.datetime.fromtimestamp(last["timestamp"] / 1000, dt.UTC)
        found.append(
            {
                "table": c.fqn,
                "version": last.get("version"),
                "operation": last.get("operation"),
                "written": f"{written:%Y-%m-%d %H:%M:%S}",
                "age": str(now - written).split(".")[0],
            }
        )
    return found


def last_batches(settings: Settings, runs: int = 3) -> list[dict]:
    from deltalake import DeltaTable

    path = settings.table_path("silver", "ingest_batches")
    if "://" not in path and not (Path(path) / "_delta_log").is_dir():
        return []
    frame = DeltaTable(path).to_pandas().sort_values("ingested_at", ascending=False)
    latest_runs = frame["run_id"].drop_duplicates().head(runs)
    return frame[frame["run_id"].isin(latest_runs)].to_dict("records")


def render(settings: Settings) -> str:
    from jobs.serve import store

    lines = [f"Lakehouse {settings.lakehouse_root}", "", "Published"]
    try:
        p = store.current(store.engine(settings.serving_url))
        age = (dt.date.today() - dt.date.fromisoformat(p.as_of_date)).days
        lines.append(
            f"  limits as of {p.as_of_date} ({age} days old), {p.rows:,} rows, model {p.model_version}, "
            f"published {p.published_at[:19]}"
        )
    except ServingError as e:
        lines.append(f"  {e}")
    lines += ["", "Last ingest runs (gate results: rows quarantined, and why)"]
    for b in last_batches(settings):
        lines.append(
            f"  {b['ingested_at']:%Y-%m-%d %H:%M} {b['run_id']:<40} {b['source']:<13} {b['bronze_rows']:>10,} rows "
            f"{b['accepted']:>10,} accepted {b['duplicates']:>7,} duplicates {b['quarantined']:>7,} quarantined "
            f"{b['rejected_files']:>3,} files rejected"
        )
        reasons = b.get("top_reasons")  # None for batches recorded before the column
        lines += [
            f"      {r['rows']:>9,} x {r['reason']} (e.g. {r['example']})" for r in ([] if reasons is None else reasons)
        ]
    if lines[-1].startswith("Last ingest runs"):
        lines.append("  none yet")
    lines += ["", "Tables"]
    lines += [
        f"  {t['table']:<28} v{t['version']!s:<5} {t['operation']:<22} {t.get('written', ''):<20} {t['age'] or ''}"
        for t in table_versions(settings)
    ]
    return "\n".join(lines)

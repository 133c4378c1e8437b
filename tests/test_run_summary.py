"""The run summary `helicopter run` and `helicopter report` print, rendered from its figures."""

from __future__ import annotations

import datetime as dt

from jobs import report

SUMMARY = {
    "as_of": "2026-03-01",
    "scored": 4,
    "approved": 3,
    "exposure": 90000.0,
    "limit_quantiles": {0.5: 30000.0},
    "segments": [
        {"segment": "merchant", "scored": 4, "approval_share": 0.75, "mean_pd": 0.02, "median_limit": 30000.0}
    ],
    "model": {
        "model_version": "pd-2026-03-01",
        "auc": 0.71,
        "judged_on": "out-of-time test",
        "fit_rows": 700,
        "stop_rows": 200,
        "test_rows": 150,
    },
    "top_reasons": [("LOW_VOLUME", 2)],
    "last_batches": [],
}


def feature_run(tables: list[str], rows: int, seconds: float) -> dict:
    started = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC)
    return {
        "as_of_date": dt.date(2026, 3, 1),
        "module": "m",
        "tables": tables,
        "rows": rows,
        "seconds": seconds,
        "started_at": started,
    }


def test_the_summary_gives_each_feature_producer_its_seconds_and_the_step_its_total():
    runs = [feature_run(["gold.feat_txn"], 1200, 4.25), feature_run(["gold.parcel_season", "gold.feat_farm"], 80, 10.5)]
    text = report.render(SUMMARY | {"feature_runs": runs})
    assert "  features          2 producers in 14.8 s" in text
    lines = {line.split()[0].rstrip(","): line for line in text.splitlines() if line.startswith("    gold.")}
    assert lines["gold.feat_txn"].split()[-4:] == ["4.2", "s,", "1,200", "rows"]
    assert lines["gold.parcel_season"].split()[-4:] == ["10.5", "s,", "80", "rows"]
    assert "gold.parcel_season, gold.feat_farm" in lines["gold.parcel_season"]


def test_a_night_without_feature_records_prints_no_feature_lines():
    assert "producers in" not in report.render(SUMMARY)

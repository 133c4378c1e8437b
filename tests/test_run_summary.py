"""The run summary `helicopter run` and `helicopter report` print, rendered from its figures."""

from __future__ import annotations

import datetime as dt

from jobs import report

SUMMARY = {
    "as_of": "2026-03-01",
    "scored": 4,
    "approved": 3,
    "exposure": 90000.0,
    "currency": "EUR",
    "limit_quantiles": {0.5: 30000.0},
    "segments": [
        {
            "segment": "merchant",
            "scored": 4,
            "approval_share": 0.75,
            "mean_pd": 0.02,
            "pd_spread": [0.011, 0.034],
            "distinct_pds": 4,
            "median_limit": 30000.0,
        }
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


def test_each_segment_shows_its_pd_spread_and_a_segment_with_one_pd_says_so():
    farmers = {"segment": "farmer", "scored": 3, "approval_share": 1.0, "mean_pd": 0.0123}
    farmers |= {"pd_spread": [0.0123, 0.0123], "distinct_pds": 1, "median_limit": 8300.0}
    text = report.render(SUMMARY | {"segments": SUMMARY["segments"] + [farmers]})
    assert "mean PD 2.00% (p10 1.10% to p90 3.40%)" in text
    assert "mean PD 1.23% (p10 1.23% to p90 1.23%)" in text
    said = [line for line in text.splitlines() if line.startswith("  one PD for every")]
    assert len(said) == 1 and said[0].split()[4] == "farmer:"  # the merchants' PDs differ: only farmers are named
    assert "one PD for every" not in report.render(SUMMARY)


def test_exposure_is_in_the_limits_currency_and_a_night_without_approvals_says_none():
    text = report.render(SUMMARY)
    assert "  total exposure    90,000 EUR" in text and "  approved limits   p50 30,000" in text
    declined = report.render(SUMMARY | {"approved": 0, "exposure": 0.0, "limit_quantiles": {}, "currency": "GBP"})
    assert "  total exposure    0 GBP" in declined and "  approved limits   none" in declined

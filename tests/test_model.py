"""Labels, the time split, the XGBoost fit with monotone constraints, and the limit policy."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from jobs.model import pd_model
from jobs.model.limit_policy import MAX_LIMIT, apply_policy
from jobs.model.training_set import labelled_loans

RUN = dt.date(2026, 6, 30)


def events(spark, rows):
    return spark.createDataFrame(rows, "loan_id string, entity_id string, event_date date, event_type string")


def test_labels_only_matured_loans_and_only_known_events(spark):
    d = dt.date
    rows = [
        ("L1", "E1", d(2025, 1, 31), "disbursed"),
        ("L1", "E1", d(2025, 6, 1), "dpd90"),  # bad
        ("L2", "E2", d(2025, 2, 28), "disbursed"),
        ("L2", "E2", d(2026, 2, 28), "closed"),  # good
        ("L3", "E3", d(2025, 3, 31), "disbursed"),
        ("L3", "E3", d(2026, 4, 30), "dpd90"),  # dpd after 12 months
        ("L4", "E4", d(2025, 12, 31), "disbursed"),  # not matured
        ("L5", "E5", d(2025, 1, 31), "disbursed"),
        ("L5", "E5", d(2026, 7, 15), "dpd90"),  # event after the run
    ]
    got = {r.loan_id: (r.obs_date, r.bad) for r in labelled_loans(events(spark, rows), RUN).collect()}
    assert got == {
        "L1": (d(2025, 1, 31), 1),
        "L2": (d(2025, 2, 28), 0),
        "L3": (d(2025, 3, 31), 0),
        "L5": (d(2025, 1, 31), 0),
    }


def test_time_split_validates_on_the_latest_dates():
    dates = pd.Series(pd.to_datetime(["2025-01-31"] * 6 + ["2025-02-28"] * 3 + ["2025-03-31"] * 1).date)
    valid = pd_model.time_split(dates, valid_share=0.25)
    assert set(dates[valid]) == {dt.date(2025, 3, 31), dt.date(2025, 2, 28)}
    assert dates[~valid].max() < dates[valid].min()
    with pytest.raises(pd_model.ModelError, match="at least two dates"):
        pd_model.time_split(pd.Series([dt.date(2025, 1, 31)] * 4))


def synthetic(n=3000, seed=0):
    rng = np.random.default_rng(seed)
    spec = pd_model.feature_spec()
    frame = pd.DataFrame(rng.normal(size=(n, len(spec.names))), columns=spec.names)
    frame["gmv_90d"] = rng.lognormal(9, 1, n)
    risk = -2.5 - 0.9 * np.log(frame["gmv_90d"] / 8000) + 1.5 * frame["refund_rate_90d"]
    frame["bad"] = (rng.random(n) < 1 / (1 + np.exp(-risk))).astype(int)
    frame["obs_date"] = np.repeat([dt.date(2025, m, 28) for m in range(1, 5)], n // 4)
    return frame, spec


def test_fit_learns_and_respects_monotone_sales():
    import xgboost as xgb

    frame, spec = synthetic()
    booster, metrics = pd_model.fit(frame, spec)
    assert metrics["valid_auc"] > 0.65
    assert 0 < metrics["valid_brier"] < 0.25
    probe = pd.DataFrame([frame[spec.names].median()] * 50)
    probe["gmv_90d"] = np.linspace(100, 200_000, 50)
    pds = booster.predict(xgb.DMatrix(probe[spec.names], feature_names=spec.names))
    assert np.all(np.diff(pds) <= 1e-9), "more sales must never raise PD"


def policy_input(spark, rows):
    return spark.createDataFrame(
        rows, "entity_id string, segment string, pd double, gmv_90d double, drivers array<string>"
    )


def test_policy_sizes_declines_and_explains(spark):
    rows = [
        ("A", "offline_merchant", 0.0, 30_000.0, []),  # 1.5 months of 10,000 = 15,000
        ("B", "offline_merchant", 0.075, 30_000.0, ["X"]),  # halfway to the cutoff: 7,500
        ("C", "offline_merchant", 0.30, 30_000.0, ["HIGH_REFUND_RATE_90D"]),
        ("D", "online_merchant", 0.01, None, []),
        ("E", "online_merchant", 0.01, 600.0, []),  # offer below the minimum
        ("F", "online_merchant", 0.0, 90_000_000.0, []),  # capped
    ]
    got = {r.entity_id: r for r in apply_policy(policy_input(spark, rows)).collect()}
    assert (got["A"].decision, float(got["A"].limit_amount)) == ("approved", 15_000.0)
    assert float(got["B"].limit_amount) == 7_500.0 and got["B"].reason_codes == ["X"]
    assert (got["C"].decision, float(got["C"].limit_amount)) == ("declined", 0.0)
    assert got["C"].reason_codes == ["PD_ABOVE_CUTOFF", "HIGH_REFUND_RATE_90D"]
    assert got["D"].reason_codes == ["NO_SALES_90D"]
    assert got["E"].reason_codes == ["BELOW_MIN_LIMIT"]
    assert float(got["F"].limit_amount) == MAX_LIMIT
    assert {r.currency for r in got.values()} == {"CNY"}


def test_scoring_gives_probabilities_and_the_codes_that_raised_them(spark, tmp_path):
    from jobs.model.score import limits

    frame, spec = synthetic()
    booster, metrics = pd_model.fit(frame, spec)
    path = tmp_path / "booster.json"
    booster.save_model(str(path))
    model = {"booster_path": str(path), "best_iteration": metrics["best_iteration"], "model_version": "pd-test"}
    typical = frame[spec.names].median().to_dict()
    risky = {**typical, "gmv_90d": 300.0, "refund_rate_90d": 3.0}
    rows = [
        ("A", "offline_merchant", *[typical[n] for n in spec.names]),
        ("B", "offline_merchant", *[risky[n] for n in spec.names]),
        ("C", "online_merchant", *[None] * len(spec.names)),
    ]  # no payment history at all
    schema = "entity_id string, segment string, " + ", ".join(f"{n} double" for n in spec.names)
    got = {r.entity_id: r for r in limits(spark.createDataFrame(rows, schema), model, spec, RUN).collect()}
    assert all(0 < r.pd < 1 for r in got.values())
    assert got["B"].pd > got["A"].pd
    assert {"LOW_SALES_90D", "HIGH_REFUND_RATE_90D"} & set(got["B"].reason_codes)
    assert set(got["B"].drivers) <= set(spec.reason_codes.values())
    assert got["C"].decision == "declined" and "NO_SALES_90D" in got["C"].reason_codes
    assert {(r.model_version, r.as_of_date) for r in got.values()} == {("pd-test", RUN)}

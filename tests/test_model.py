"""Labels, the time split, the XGBoost fit with monotone constraints, and the limit policy."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from jobs.model import pd_model
from jobs.model.limit_policy import Policy, apply_policy, load_policy
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


POLICY = Policy(
    version="policy-test",
    currency="CNY",
    capacity={
        "offline_merchant": {"sales": "gmv_90d / 3", "voucher_revenue": "declared_monthly_revenue / 2"},
        "distributor": {"brand_purchases": "out_volume_90d * core_brand_share_365d / 3"},
        "farmer": {"voucher_revenue": "declared_monthly_revenue / 2"},
    },
    pd_bands=[{"max_pd": 0.02, "months": 2.0}, {"max_pd": 0.10, "months": 1.0}],
    min_limit=1_000,
    max_limit=300_000,
    round_to=100,
    hard_rules={"min_days_registered": 90, "decline_active_overdue": True},
)


def policy_input(spark, rows):
    columns = "gmv_90d, declared_monthly_revenue, out_volume_90d, core_brand_share_365d".split(", ")
    defaults = {"days_registered": 400.0, "overdue": False, "drivers": [], **dict.fromkeys(columns)}
    schema = (
        "entity_id string, segment string, pd double, days_registered double, overdue boolean, "
        "drivers array<string>, " + ", ".join(f"{c} double" for c in columns)
    )
    full = [{**defaults, **row} for row in rows]
    return spark.createDataFrame([tuple(r[f] for f in schema_names(schema)) for r in full], schema)


def schema_names(ddl):
    return [part.split()[0] for part in ddl.split(", ")]


def test_policy_sizes_by_segment_and_pd_band(spark):
    rows = [
        {"entity_id": "A", "segment": "offline_merchant", "pd": 0.01, "gmv_90d": 30_000.0},  # 2 x 10,000
        {"entity_id": "B", "segment": "offline_merchant", "pd": 0.05, "gmv_90d": 30_000.0, "drivers": ["X"]},
        # voucher revenue (halved) beats 90 days of sales: 1 x 9,000
        {"entity_id": "V", "segment": "offline_merchant", "pd": 0.05, "gmv_90d": 3_000.0,
         "declared_monthly_revenue": 18_000.0},
        # purchases from core brands: 90,000 x 0.5 / 3 = 15,000 a month, 2 months
        {"entity_id": "D", "segment": "distributor", "pd": 0.01, "out_volume_90d": 90_000.0,
         "core_brand_share_365d": 0.5, "gmv_90d": 1e9},  # sales are not a distributor's capacity
        {"entity_id": "F", "segment": "farmer", "pd": 0.01, "declared_monthly_revenue": 10_550.0},  # 10,500
    ]  # fmt: skip
    got = {r.entity_id: r for r in apply_policy(policy_input(spark, rows), POLICY).collect()}
    assert {e: float(r.limit_amount) for e, r in got.items()} == {
        "A": 20_000.0, "B": 10_000.0, "V": 9_000.0, "D": 30_000.0, "F": 10_500.0,
    }  # fmt: skip
    assert {r.decision for r in got.values()} == {"approved"}
    assert got["B"].reason_codes == ["X"] and got["A"].reason_codes == []
    assert {(r.currency, r.policy_version) for r in got.values()} == {("CNY", "policy-test")}


def test_policy_declines_caps_and_says_why(spark):
    rows = [
        {"entity_id": "HIGH", "segment": "offline_merchant", "pd": 0.30, "gmv_90d": 30_000.0,
         "drivers": ["HIGH_REFUND_RATE_90D"]},
        {"entity_id": "NONE", "segment": "offline_merchant", "pd": 0.01},
        {"entity_id": "SMALL", "segment": "offline_merchant", "pd": 0.05, "gmv_90d": 1_500.0},  # 500 a month
        {"entity_id": "NEW", "segment": "offline_merchant", "pd": 0.01, "gmv_90d": 30_000.0, "days_registered": 30.0},
        {"entity_id": "LATE", "segment": "offline_merchant", "pd": 0.01, "gmv_90d": 30_000.0, "overdue": True},
        {"entity_id": "BIG", "segment": "offline_merchant", "pd": 0.01, "gmv_90d": 9e7, "drivers": ["Y"]},
    ]  # fmt: skip
    got = {r.entity_id: r for r in apply_policy(policy_input(spark, rows), POLICY).collect()}
    assert {e: r.reason_codes for e, r in got.items()} == {
        "HIGH": ["PD_ABOVE_CUTOFF", "HIGH_REFUND_RATE_90D"],
        "NONE": ["NO_CAPACITY"],
        "SMALL": ["BELOW_MIN_LIMIT"],
        "NEW": ["TOO_NEW"],
        "LATE": ["ACTIVE_OVERDUE"],
        "BIG": ["CAPPED_AT_MAX_LIMIT", "Y"],
    }
    assert {e for e, r in got.items() if r.decision == "declined"} == {"HIGH", "NONE", "SMALL", "NEW", "LATE"}
    assert {float(r.limit_amount) for e, r in got.items() if e != "BIG"} == {0.0}
    assert float(got["BIG"].limit_amount) == POLICY.max_limit


def test_the_shipped_policy_sizes_every_borrowing_segment():
    from jobs.simulate.population import BORROWER_SEGMENTS

    policy = load_policy()
    assert set(policy.capacity) == set(BORROWER_SEGMENTS)
    assert policy.version and policy.pd_cutoff <= 0.5


def test_scoring_gives_probabilities_and_the_codes_that_raised_them(spark, tmp_path):
    from pyspark.sql import functions as F

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
    frame = spark.createDataFrame(rows, schema).withColumn("overdue", F.lit(False))
    got = {r.entity_id: r for r in limits(frame, model, spec, RUN).collect()}
    assert all(0 < r.pd < 1 for r in got.values())
    assert got["B"].pd > got["A"].pd
    assert {"LOW_SALES_90D", "HIGH_REFUND_RATE_90D"} & set(got["B"].reason_codes)
    assert set(got["B"].drivers) <= set(spec.reason_codes.values())
    assert got["C"].decision == "declined" and "NO_CAPACITY" in got["C"].reason_codes
    assert {(r.model_version, r.as_of_date) for r in got.values()} == {("pd-test", RUN)}

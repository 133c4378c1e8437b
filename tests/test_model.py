"""Labels, the time split, the XGBoost fit with monotone constraints, and the limit policy."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
import yaml

from jobs.errors import ContractError, ModelError
from jobs.model import pd_model
from jobs.model.limit_policy import POLICY_FILE, Policy, apply_policy, load_policy, registry_segments
from jobs.model.metrics import evaluate
from jobs.model.training_set import labelled_loans
from jobs.registry import RegisteredModel

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


MONTHS = 48  # four years of monthly disbursements: room for three parts a year apart


def month_ends(months: int, first: dt.date = dt.date(2022, 1, 31)) -> list[dt.date]:
    return [d.date() for d in pd.date_range(first, periods=months, freq="ME")]


def test_time_parts_are_an_outcome_horizon_apart_and_the_test_is_the_latest():
    dates = pd.Series(np.repeat(month_ends(MONTHS), 10))
    parts = pd_model.time_parts(dates, both_outcomes(dates), gap_days=365, test_share=0.25, stop_share=0.25)
    first, last = (dates.groupby(parts).min(), dates.groupby(parts).max())
    assert set(parts) == {"fit", "gap", "stop", "test"}
    assert (dates[parts == "test"] >= dt.date(2025, 1, 1)).all() and (parts == "test").sum() == 120  # 12 months
    assert (first["stop"] - last["fit"]).days >= 365 and (first["test"] - last["stop"]).days >= 365
    assert last["fit"] < first["gap"] and first["stop"] > last["fit"] and first["test"] > last["gap"]
    # loans disbursed on one date never straddle two parts
    assert dates.groupby(dates).apply(lambda d: parts[d.index].nunique()).max() == 1
    assert (parts == "fit").sum() >= (parts == "stop").sum() >= 60  # a quarter of the 24 months before the gap


def both_outcomes(dates: pd.Series) -> pd.Series:
    return pd.Series(np.arange(len(dates)) % 2, index=dates.index)


def test_a_history_too_short_for_three_parts_has_no_test():
    dates = pd.Series(np.repeat(month_ends(18), 10))  # 18 months: no room for two gaps of a year
    parts = pd_model.time_parts(dates, both_outcomes(dates), gap_days=365, stop_share=0.25)
    assert set(parts) == {"fit", "stop"}
    assert dates[parts == "fit"].max() < dates[parts == "stop"].min()
    assert (parts == "stop").sum() == 50  # the latest 5 months: a quarter of the loans, whole months
    three_years = pd.Series(np.repeat(month_ends(36), 10))  # room for three parts, but a fit part of one month
    assert "test" not in set(pd_model.time_parts(three_years, both_outcomes(three_years), gap_days=365))
    no_bad_lately = both_outcomes(dates).where(parts == "fit", 0)
    with pytest.raises(ModelError, match="one outcome only"):
        pd_model.time_parts(dates, no_bad_lately, gap_days=365, stop_share=0.25)
    two_dates = pd.Series([dt.date(2025, 1, 3), dt.date(2025, 1, 31)] * 2)
    with pytest.raises(ModelError, match="at least two months"):
        pd_model.time_parts(two_dates, both_outcomes(two_dates))


def synthetic(n=4800, seed=0):
    rng = np.random.default_rng(seed)
    spec = pd_model.feature_spec()
    frame = pd.DataFrame(rng.normal(size=(n, len(spec.names))), columns=spec.names)
    frame["gmv_90d"] = rng.lognormal(9, 1, n)
    risk = -2.5 - 0.9 * np.log(frame["gmv_90d"] / 8000) + 1.5 * frame["refund_rate_90d"]
    frame["bad"] = (rng.random(n) < 1 / (1 + np.exp(-risk))).astype(int)
    months = month_ends(MONTHS)
    frame["obs_date"] = [months[i * MONTHS // n] for i in range(n)]
    return frame, spec


def test_fit_learns_and_respects_monotone_sales():
    import xgboost as xgb

    frame, spec = synthetic()
    booster, metrics = pd_model.fit(frame, spec)
    assert metrics["out_of_time"] and metrics["test"]["rows"] == 1200  # the latest 12 months
    assert metrics["test"]["auc"] > 0.65 and metrics["test"]["auc_95"][0] < metrics["test"]["auc"]
    assert 0 < metrics["test"]["brier"] < 0.25
    probe = pd.DataFrame([frame[spec.names].median()] * 50)
    probe["gmv_90d"] = np.linspace(100, 200_000, 50)
    pds = booster.predict(xgb.DMatrix(probe[spec.names], feature_names=spec.names))
    assert np.all(np.diff(pds) <= 1e-9), "more sales must never raise PD"


def test_no_test_or_gap_loan_reaches_fitting_stopping_or_calibration():
    frame, spec = synthetic()
    booster, metrics = pd_model.fit(frame, spec)
    unseen = pd_model.time_parts(frame["obs_date"], frame["bad"]).isin(["test", "gap"])
    scrambled = frame.copy()  # every loan of the test and the gaps: outcome flipped, features replaced by noise
    scrambled.loc[unseen, "bad"] = 1 - scrambled.loc[unseen, "bad"]
    noise = np.random.default_rng(3).normal(scale=100, size=(int(unseen.sum()), len(spec.names)))
    scrambled.loc[unseen, spec.names] = noise
    again, metrics_again = pd_model.fit(scrambled, spec)
    assert again.save_raw("json") == booster.save_raw("json")  # the same trees, the same stop, the same calibration
    assert metrics_again["stop"] == metrics["stop"] and metrics_again["platt"] == metrics["platt"]
    test = metrics["test"]
    assert metrics_again["test"]["bads"] == test["rows"] - test["bads"]  # while the test was measured on the change


POLICY = Policy(
    version="policy-test",
    currency="CNY",
    capacity={
        "offline_merchant": {"sales": "gmv_90d / 3", "voucher_revenue": "declared_monthly_revenue / 2"},
        "distributor": {"brand_purchases": "out_volume_90d * core_brand_share / 3"},
        "farmer": {"voucher_revenue": "declared_monthly_revenue / 2"},
    },
    pd_bands=[{"max_pd": 0.02, "months": 2.0}, {"max_pd": 0.10, "months": 1.0}],
    min_limit=1_000,
    max_limit=300_000,
    round_to=100,
    hard_rules={"min_days_registered": 90, "decline_active_overdue": True, "new_business_max_limit": 5_000},
)


def test_evaluate_by_hand():
    bad = np.array([0, 0, 0, 1, 0, 1, 1, 1])
    pd_ = np.array([0.1, 0.2, 0.3, 0.35, 0.4, 0.6, 0.7, 0.8])
    m = evaluate(bad, pd_, pd.Series(list("baabbbaa")))
    assert m["auc"] == pytest.approx(15 / 16) and m["gini"] == pytest.approx(7 / 8)
    assert m["ks"] == pytest.approx(0.75)  # at 0.6: 3 of 4 bads above, no good
    assert m["brier"] == pytest.approx(np.mean((pd_ - bad) ** 2))
    assert [(c["mean_pd"], c["bad_rate"]) for c in m["calibration"]][:2] == [(0.1, 0.0), (0.2, 0.0)]
    assert m["segments"]["a"]["auc"] == 1.0 and m["segments"]["b"]["auc"] == pytest.approx(3 / 4)
    assert evaluate(np.zeros(3), np.array([0.1, 0.2, 0.3]))["auc"] is None  # one class: no AUC


def test_a_model_is_named_by_its_data_and_parameters_not_by_the_last_bits_of_a_sum():
    frame = pd.DataFrame({"loan_id": ["L1", "L2"], "bad": [0, 1], "sales": [1234.5678901234, 0.1 + 0.2]})
    name = pd_model.fingerprint(frame, ["sales"], {"eta": 0.05})
    summed_otherwise = frame.assign(sales=[1234.5678901234 + 2e-13, 0.3])  # 0.1 + 0.2 != 0.3 in doubles
    assert pd_model.fingerprint(summed_otherwise, ["sales"], {"eta": 0.05}) == name
    assert pd_model.fingerprint(frame.assign(bad=[1, 1]), ["sales"], {"eta": 0.05}) != name
    assert pd_model.fingerprint(frame.assign(sales=[1234.568, 0.3]), ["sales"], {"eta": 0.05}) != name
    assert pd_model.fingerprint(frame, ["sales"], {"eta": 0.1}) != name


def registered(frame, spec, tmp_path, name, trained_as_of=RUN, status="champion"):
    """Fit and save a booster, and its registry record."""
    booster, metrics = pd_model.fit(frame, spec)
    path = tmp_path / f"{name}.json"
    booster.save_model(str(path))
    model = RegisteredModel(
        model_version=name, trained_as_of=trained_as_of, algorithm="xgboost", features=spec.names,
        params={"rounds": metrics["best_iteration"] + 1},
        training={k: metrics[k] for k in ("out_of_time", "parts", "gap_days", "fit_bad_rate")},
        metrics={k: metrics[k] for k in ("test", "stop", "stability", "platt")}, artifact_path=str(path),
        status=status, trained_at=dt.datetime(2026, 1, 1),
    )  # fmt: skip
    return model, metrics


def test_pds_are_calibrated_on_the_stopping_loans_and_the_saved_booster_keeps_it(tmp_path):
    import xgboost as xgb

    frame, spec = synthetic()
    valid = pd_model.time_parts(frame["obs_date"], frame["bad"]) == "stop"
    rng = np.random.default_rng(1)
    frame.loc[valid, "bad"] |= (rng.random(int(valid.sum())) < 0.05).astype(int)  # the latest loans default more
    model, metrics = registered(frame, spec, tmp_path, "calibrated")
    booster = xgb.Booster()
    booster.load_model(model.artifact_path)
    rows = xgb.DMatrix(frame.loc[valid, spec.names], feature_names=spec.names)
    raw = booster.predict(rows, iteration_range=(0, pd_model.rounds(model)))
    calibrated = pd_model.predict(model, frame[valid])
    realised = frame.loc[valid, "bad"].mean()
    assert raw.mean() < 0.9 * realised  # learnt on the earlier loans, the booster's own output falls short
    assert calibrated.mean() == pytest.approx(realised, rel=0.01)  # Platt scaling matches the window's default rate
    assert metrics["platt"]["intercept"] > 0 and metrics["platt"]["slope"] > 0
    assert pd_model.platt_of(booster) == (metrics["platt"]["intercept"], metrics["platt"]["slope"])
    assert np.all(np.diff(calibrated[np.argsort(raw)]) >= 0)  # the booster's order, so its AUC, is kept


def test_a_challenger_replaces_the_champion_only_by_the_margin(tmp_path):
    frame, spec = synthetic()
    valid = frame[pd_model.time_parts(frame["obs_date"], frame["bad"]) == "test"]
    weak_spec = pd_model.FeatureSpec(
        [n for n in spec.names if n not in ("gmv_90d", "refund_rate_90d")], [0] * (len(spec.names) - 2), {}
    )
    weak, _ = registered(frame, weak_spec, tmp_path, "weak")
    strong, metrics = registered(frame, spec, tmp_path, "strong")
    auc = metrics["test"]["auc"]
    promoted, why = pd_model.challenge(weak, "strong", auc, valid, margin=0.005)
    assert promoted and why.startswith("replaces weak: AUC")
    promoted, why = pd_model.challenge(strong, "weak", auc - 0.001, valid, margin=0.005)  # no better than the champion
    assert not promoted and why.startswith("does not replace strong")
    assert pd_model.challenge(None, "strong", auc, valid, 0.005) == (True, "no champion as of this date")
    assert pd_model.challenge(strong, "strong", auc, valid, 0.005)[0]  # the same model trained again stays champion


def policy_input(rows) -> pd.DataFrame:
    columns = ["gmv_90d", "declared_monthly_revenue", "out_volume_90d", "core_brand_share"]
    defaults = {"days_registered": 400.0, "overdue": False, "drivers": [], **dict.fromkeys(columns, np.nan)}
    return pd.DataFrame([{**defaults, **row} for row in rows])


def decided(rows) -> dict:
    return {r.entity_id: r for r in apply_policy(policy_input(rows), POLICY).itertuples()}


def test_policy_sizes_by_segment_and_pd_band():
    rows = [
        {"entity_id": "A", "segment": "offline_merchant", "pd": 0.01, "gmv_90d": 30_000.0},  # 2 x 10,000
        {"entity_id": "B", "segment": "offline_merchant", "pd": 0.05, "gmv_90d": 30_000.0, "drivers": ["X"]},
        # voucher revenue (halved) beats 90 days of sales: 1 x 9,000
        {"entity_id": "V", "segment": "offline_merchant", "pd": 0.05, "gmv_90d": 3_000.0,
         "declared_monthly_revenue": 18_000.0},
        # purchases from core brands: 90,000 x 0.5 / 3 = 15,000 a month, 2 months
        {"entity_id": "D", "segment": "distributor", "pd": 0.01, "out_volume_90d": 90_000.0,
         "core_brand_share": 0.5, "gmv_90d": 1e9},  # sales are not a distributor's capacity
        {"entity_id": "F", "segment": "farmer", "pd": 0.01, "declared_monthly_revenue": 10_550.0},  # 10,500
    ]  # fmt: skip
    got = decided(rows)
    assert {e: float(r.limit_amount) for e, r in got.items()} == {
        "A": 20_000.0, "B": 10_000.0, "V": 9_000.0, "D": 30_000.0, "F": 10_500.0,
    }  # fmt: skip
    assert {r.decision for r in got.values()} == {"approved"}
    assert got["B"].reason_codes == ["X"] and got["A"].reason_codes == []
    assert {(r.currency, r.policy_version) for r in got.values()} == {("CNY", "policy-test")}


def test_policy_declines_caps_and_says_why():
    rows = [
        {"entity_id": "HIGH", "segment": "offline_merchant", "pd": 0.30, "gmv_90d": 30_000.0,
         "drivers": ["HIGH_REFUND_RATE_90D"]},
        {"entity_id": "NONE", "segment": "offline_merchant", "pd": 0.01},
        {"entity_id": "SMALL", "segment": "offline_merchant", "pd": 0.05, "gmv_90d": 1_500.0},  # 500 a month
        {"entity_id": "NEW", "segment": "offline_merchant", "pd": 0.01, "gmv_90d": 30_000.0, "days_registered": 30.0},
        # as new, with verified documents declaring its revenue: a first limit, capped (2 x 10,000 offered)
        {"entity_id": "NEWDOC", "segment": "offline_merchant", "pd": 0.01, "days_registered": 30.0,
         "declared_monthly_revenue": 20_000.0},
        {"entity_id": "LATE", "segment": "offline_merchant", "pd": 0.01, "gmv_90d": 30_000.0, "overdue": True},
        {"entity_id": "BIG", "segment": "offline_merchant", "pd": 0.01, "gmv_90d": 9e7, "drivers": ["Y"]},
    ]  # fmt: skip
    got = decided(rows)
    assert {e: r.reason_codes for e, r in got.items()} == {
        "HIGH": ["PD_ABOVE_CUTOFF", "HIGH_REFUND_RATE_90D"],
        "NONE": ["NO_CAPACITY"],
        "SMALL": ["BELOW_MIN_LIMIT"],
        "NEW": ["TOO_NEW"],
        "NEWDOC": ["CAPPED_AS_NEW_BUSINESS"],
        "LATE": ["ACTIVE_OVERDUE"],
        "BIG": ["CAPPED_AT_MAX_LIMIT", "Y"],
    }
    assert {e for e, r in got.items() if r.decision == "declined"} == {"HIGH", "NONE", "SMALL", "NEW", "LATE"}
    assert {float(r.limit_amount) for e, r in got.items() if e not in ("BIG", "NEWDOC")} == {0.0}
    assert float(got["BIG"].limit_amount) == POLICY.max_limit and float(got["NEWDOC"].limit_amount) == 5_000


def test_the_shipped_policy_sizes_every_borrowing_segment():
    from simulator.population import BORROWER_SEGMENTS

    policy = load_policy()
    assert set(policy.capacity) == set(BORROWER_SEGMENTS) == registry_segments() - {"brand"}
    assert policy.version and policy.pd_cutoff <= 0.5


def test_a_policy_must_size_exactly_the_segments_the_registry_accepts(tmp_path):
    shipped = yaml.safe_load(POLICY_FILE.read_text())
    for capacity, message in [
        ({k: v for k, v in shipped["capacity"].items() if k != "farmer"}, r"unsized: \['farmer'\], unknown: \[\]"),
        ({**shipped["capacity"], "cooperative": {"sales": "gmv_90d / 3"}}, r"unknown: \['cooperative'\]"),
    ]:
        path = tmp_path / "policy.yaml"
        path.write_text(yaml.safe_dump({**shipped, "capacity": capacity}))
        with pytest.raises(ContractError, match=message):
            load_policy(path)


def test_scoring_gives_probabilities_and_the_codes_that_raised_them(spark, tmp_path):
    from pyspark.sql import functions as F

    from jobs.model.score import limits

    frame, spec = synthetic()
    model, _ = registered(frame, spec, tmp_path, "pd-test")
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
    lacking = {spec.reason_codes[n] for n in spec.absent_codes} - set(spec.absent_codes.values())
    assert got["C"].drivers and not set(got["C"].drivers) & lacking  # NO_PAYMENT_FLOW, never LOW_SALES_90D
    assert set(got["C"].drivers) <= set(spec.absent_codes.values()) | {spec.reason_codes["days_registered"]}
    assert {(r.model_version, r.as_of_date) for r in got.values()} == {("pd-test", RUN)}


def test_scoring_uses_the_newest_champion_and_rollback_restores_the_one_before(spark, settings, tmp_path):
    from jobs import registry, tables

    frame, spec = synthetic()
    d = dt.date
    kept = {}
    for version, trained_as_of, status in (("m1", d(2026, 1, 1), "champion"), ("m2", d(2026, 2, 1), "champion"),
                                           ("m3", d(2026, 3, 1), "challenger")):  # fmt: skip
        kept[version], _ = registered(frame, spec, tmp_path, version, trained_as_of, status)
        registry.register(spark, settings, pd_model.REGISTRY, kept[version])
    assert registry.version(spark, settings, pd_model.REGISTRY, "m2") == kept["m2"]  # the typed record round-trips
    assert pd_model.current_model(spark, settings, d(2026, 3, 15)).model_version == "m2"  # never a challenger
    assert pd_model.current_model(spark, settings, d(2026, 1, 15)).model_version == "m1"
    assert pd_model.rollback(spark, settings).model_version == "m1"
    assert pd_model.current_model(spark, settings, d(2026, 3, 15)).model_version == "m1"
    statuses = {r.model_version: r.status for r in tables.read(spark, settings, pd_model.REGISTRY).collect()}
    assert statuses == {"m1": "champion", "m2": "rolled_back", "m3": "challenger"}
    with pytest.raises(ModelError, match="no earlier champion"):
        pd_model.rollback(spark, settings)


def test_the_model_card_tells_its_parts_directions_test_and_limits(tmp_path):
    from jobs.model import model_card

    frame, spec = synthetic()
    model, _ = registered(frame, spec, tmp_path, "pd-card")
    card = model_card.render(model, spec)
    assert "| test | 1,200 | 2025-01-31 to 2025-12-31 | the out-of-time test |" in card
    assert "| gmv_90d | lowers PD | LOW_SALES_90D |" in card
    assert "## Performance on its out-of-time test" in card and "(95% bootstrap)" in card
    limits = model_card.limitations(model)
    assert not any(line.startswith("No out-of-time test") for line in limits)
    assert limits[-1].startswith("Outcomes exist only for the loans the lender granted")
    short = frame[frame["obs_date"] >= dt.date(2024, 7, 1)]  # 18 months: no room for a test
    in_sample, _ = registered(short.reset_index(drop=True), spec, tmp_path, "pd-short")
    assert model_card.limitations(in_sample)[0].startswith("No out-of-time test")
    assert "## Performance on its in-sample loans" in model_card.render(in_sample, spec)
    assert model_card.write(model, spec) == tmp_path / "pd-card.card.md"

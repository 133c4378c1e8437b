"""The night report's measures (PSI, KS, calibration) and its HTML, on inline data."""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pandas as pd
import pytest

from jobs import night_report as nr
from jobs.model import metrics
from jobs.registry import RegisteredModel


def test_psi_is_zero_for_the_same_population_and_grows_with_a_shift():
    rng = np.random.default_rng(0)
    base = rng.normal(size=5000)
    assert metrics.psi(base, base) == pytest.approx(0.0, abs=1e-9)
    assert metrics.psi(base, rng.normal(size=5000)) < nr.PSI_WATCH
    assert metrics.psi(base, rng.normal(loc=1.0, size=5000)) > nr.PSI_ALERT
    assert np.isnan(metrics.psi(np.array([np.nan]), base))


def test_ks_and_calibration():
    bad = np.array([0, 0, 0, 0, 1, 1])
    assert metrics.ks_statistic(bad, np.array([0.1, 0.2, 0.3, 0.4, 0.8, 0.9])) == pytest.approx(1.0)
    assert metrics.ks_statistic(bad, np.array([0.8, 0.9, 0.1, 0.2, 0.3, 0.4])) == pytest.approx(0.5)
    table = metrics.calibration(np.array([0, 1] * 50), np.linspace(0.01, 0.99, 100), groups=5)
    assert list(table["loans"]) == [20] * 5
    assert table["mean_pd"].is_monotonic_increasing


def test_calibration_intervals_ece_and_the_auc_interval():
    rng = np.random.default_rng(5)
    pd_ = rng.beta(2, 30, 20_000)
    bad = (rng.random(20_000) < pd_).astype(int)  # outcomes drawn at the PDs: calibrated
    table = metrics.calibration(bad, pd_)
    assert table["inside"].sum() >= 8 and (table["low"] < table["mean_pd"]).all()  # 95% intervals: 9.5 of 10 expected
    assert (table["mean_pd"] < table["high"]).all()
    assert metrics.expected_calibration_error(table) < 0.1 * pd_.mean()
    overstated = metrics.calibration(bad, np.minimum(3 * pd_, 1))  # three times the risk drawn
    assert not overstated["inside"].any()
    assert metrics.expected_calibration_error(overstated) > pd_.mean()
    low, high = metrics.auc_interval(bad, pd_)
    auc = metrics.evaluate(bad, pd_)["auc"]
    assert low < auc < high and high - low < 0.05
    assert metrics.auc_interval(np.zeros(5), pd_[:5]) is None


def test_drift_bands():
    rng = np.random.default_rng(1)
    before = pd.DataFrame({"pd": rng.beta(2, 20, 2000), "gmv_90d": rng.lognormal(9, 1, 2000)})
    now = before.assign(gmv_90d=before["gmv_90d"] * 3)
    got = nr.drift(now, before, ["pd", "gmv_90d"]).set_index("column")["band"].to_dict()
    assert got == {"pd": "ok", "gmv_90d": "alert"}


def night(seed: int, n: int = 400) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    pd_ = rng.beta(2, 20, n)
    approved = pd_ < 0.15
    return pd.DataFrame(
        {
            "entity_id": [f"E{i}" for i in range(n)],
            "segment": np.where(np.arange(n) % 2, "farmer", "store"),
            "pd": pd_,
            "limit_amount": np.where(approved, rng.integers(10, 300, n) * 100, 0).astype(float),
            "decision": np.where(approved, "approved", "declined"),
            "currency": "CNY",
            "policy_version": "limit-policy-1",
        }
    )


def model_judged_on(judged: pd.DataFrame, out_of_time: bool) -> RegisteredModel:
    measured = metrics.evaluate(judged["bad"], judged["pd"])
    parts = {p: {"rows": 300, "dates": ["2024-01-31", "2024-06-30"]} for p in ("fit", "stop", "test", "gap")}
    return RegisteredModel(
        "pd-<b>x</b>", dt.date(2026, 1, 1), "xgboost", [], {},
        {"out_of_time": out_of_time, "parts": parts, "gap_days": 365, "fit_bad_rate": 0.5},
        {"test": measured if out_of_time else None, "stop": measured, "stability": {"pd": 0.01, "features": {}}},
        "booster.json",
    )  # fmt: skip


def test_render_has_every_section_with_plots_and_escapes_text():
    rng = np.random.default_rng(2)
    judged = pd.DataFrame({"bad": rng.integers(0, 2, 300), "pd": rng.random(300)})
    data = {
        "as_of": dt.date(2026, 3, 2),
        "limits": night(3),
        "model": model_judged_on(judged, out_of_time=True),
        "previous": dt.date(2026, 3, 1),
        "drift": nr.drift(night(3), night(4), ["pd"]),
        "validation": judged,
        "batches": pd.DataFrame(
            [{"source": "transactions", "bronze_rows": 10, "accepted": 8, "duplicates": 1, "quarantined": 1}]
        ),
        "reasons": pd.DataFrame([{"source": "transactions", "reason": "unparseable ts", "count": 1}]),
        "coverage": pd.DataFrame([{"family": "transactions", "entities_informed": 390, "entities_scored": 400}]),
    }
    page = nr.render(data)
    assert re.findall(r"<h2>([^<]+)</h2>", page) == list(nr.SECTIONS)
    assert page.count("data:image/png;base64,") == 2
    assert "pd-&lt;b&gt;x&lt;/b&gt;" in page and "<b>x</b>" not in page
    assert "Against 2026-03-01" in page and "unparseable ts" in page and "KS" in page
    assert "One PD for every business" not in page
    flat = night(3).assign(pd=lambda n: np.where(n["segment"] == "farmer", 0.02454, n["pd"]))
    assert "<b>One PD for every business of farmer</b>" in nr.render(data | {"limits": flat})
    assert "<h4>Performance on its out-of-time test</h4>" in page and "ECE" in page and "<h3>Model card" in page
    assert "<th>95% interval the PDs predict</th>" in page and "<h4>Known limitations</h4>" in page
    in_sample = nr.render(data | {"model": model_judged_on(judged, out_of_time=False)})
    assert "<h4>Performance on its in-sample loans" in in_sample and "<li>No out-of-time test" in in_sample

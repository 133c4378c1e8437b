"""The model study's own figures (`evaluation.model`): the scorecard beside the model on the same loans, each family's
best single feature, and the figures across seeds. Inline frames, no Spark."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from evaluation import model as study
from jobs.model import pd_model

SEGMENTS = ("store", "farmer")


def loans(n: int = 6_000, seed: int = 3) -> pd.DataFrame:
    """Five years of loans; `active_days_30d` (transactions) tells, `exposure` (trade) tells less."""
    rng = np.random.default_rng(seed)
    risk = rng.standard_normal(n)
    return pd.DataFrame(
        {
            "entity_id": [f"E{i:05d}" for i in range(n)],
            "obs_date": pd.to_datetime("2021-01-31") + pd.to_timedelta(rng.integers(0, 5 * 365, n), unit="D"),
            "segment": rng.choice(SEGMENTS, n),
            "active_days_30d": np.round(20 - 4 * risk + rng.standard_normal(n)),
            "exposure": np.where(rng.random(n) < 0.5, np.nan, risk + 2 * rng.standard_normal(n)),
            "bad": rng.random(n) < 1 / (1 + np.exp(3.0 - 1.3 * risk)),
        }
    )


def test_the_scorecard_learns_from_fit_and_stop_loans_and_is_judged_on_the_test():
    frame = loans()
    parts = pd_model.time_parts(frame["obs_date"], frame["bad"])
    judged = frame[parts == pd_model.TEST]
    spec = pd_model.FeatureSpec(["active_days_30d", "exposure"], [1, 0], {}, {})
    result = study.against_scorecard(frame, parts, judged, spec)
    assert 0.7 < result["auc"] < 0.95
    assert set(result["segments"]) == set(SEGMENTS)
    assert sum(s["defaults"] for s in result["segments"].values()) == judged["bad"].sum()
    flat = frame.assign(active_days_30d=30.0, exposure=np.nan)  # features that tell nothing
    with pytest.raises(ValueError, match="information value"):
        study.against_scorecard(flat, parts, flat[parts == pd_model.TEST], spec)


def test_each_family_names_its_best_single_feature_whatever_its_direction():
    frame = loans()
    best = study.best_single_features(frame, ["active_days_30d", "exposure", "has_trade"])
    assert set(best) == {"transactions", "trade"}, "a family without a feature offered is left out"
    assert best["transactions"]["feature"] == "active_days_30d" and best["transactions"]["auc"] > 0.75
    assert 0.5 < best["trade"]["auc"] < best["transactions"]["auc"]


def world(seed: int, share: float, scorecard_auc: float, fresh: bool = False) -> dict:
    segments = {"store": {"auc": 0.7, "defaults": 150}, "farmer": {"auc": 0.6, "defaults": 40}}
    return {
        "seed": seed,
        "fresh": fresh,
        "commit": "abcdef0123",
        "model": {
            "judged_on": "out-of-time test",
            "judged_loans": 1000,
            "judged_defaults": 190,
            "auc": 0.75,
            "auc_95": [0.72, 0.78],
            "oracle_auc": 0.75 / share,
            "auc_share_of_oracle": share,
            "ece_share_of_mean_pd": 0.08,
            "segments": {"store": 0.72, "farmer": 0.65},
            "scorecard": {"auc": scorecard_auc, "segments": segments},
            "best_single_features": {"trade": {"feature": "exposure", "auc": 0.61}},
        },
    }


def test_the_figures_across_seeds_give_mean_spread_and_the_fresh_seed():
    text = "\n".join(
        study.seeds_markdown(
            {"realism": "v2", "seeds": [world(7, 0.94, 0.70), world(20261204, 0.96, 0.71, fresh=True)]}
        )
    )
    assert "seed 20261204 drawn from the date of its run, never used in development" in text
    assert "| 20261204 | abcdef0 |" in text
    assert "mean 0.950" in text and "standard deviation 0.014" in text
    assert (
        "store 0.720 / 0.700 (150)" in text and "farmer" not in text.split("Against the scorecard")[1].split("\n\n")[1]
    )
    assert study.fresh_seed(pd.Timestamp("2026-12-04").date()) == 20261204
    alone = "\n".join(study.seeds_markdown({"realism": "v2", "seeds": [world(7, 0.94, 0.70)]}))
    assert (
        "1 world, realism v2; no seed drawn from the date of its run among them" in alone
        and "standard deviation" not in alone
    )

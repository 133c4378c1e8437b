"""The classic baseline of the model study: a logistic scorecard on weight-of-evidence bins. No Spark."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from evaluation import scorecard


def loans(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    risk = rng.standard_normal(n)
    days_late = np.where(rng.random(n) < 0.2, np.nan, 10 + 5 * risk + rng.standard_normal(n))
    return pd.DataFrame(
        {
            "days_late": days_late,  # tells, and is missing for a fifth of the loans
            "noise": rng.standard_normal(n),  # tells nothing
            "bad": rng.random(n) < 1 / (1 + np.exp(3.0 - 1.2 * risk)),
        }
    )


def test_weights_of_evidence_by_hand():
    codes = np.array([0, 0, 0, 1, 1, 1])
    bad = np.array([False, False, True, False, True, True])
    woe, iv = scorecard.weights_of_evidence(codes, bad)
    goods, bads = np.array([2.5, 1.5]) / 4, np.array([1.5, 2.5]) / 4  # each count smoothed by 0.5
    assert woe.to_numpy() == pytest.approx(np.log(goods / bads))
    assert iv == pytest.approx(float(((goods - bads) * np.log(goods / bads)).sum()))


def test_bins_of_equal_frequency_with_missing_values_apart():
    values = pd.Series([1.0, 2.0, 3.0, 4.0, np.nan, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0])
    edges = scorecard.quantile_edges(values, bins=5)
    codes = scorecard.bin_codes(values, edges)
    assert codes[4] == scorecard.MISSING
    assert np.bincount(codes[codes >= 0]).tolist() == [2, 2, 2, 2, 2]


def test_the_scorecard_keeps_what_tells_drops_noise_and_ranks_unseen_loans():
    learn, judged = loans(20_000, 1), loans(5_000, 2)
    card = scorecard.fit(learn, ["days_late", "noise"], learn["bad"])
    assert list(card.edges) == ["days_late"]
    assert card.iv["days_late"] > 0.3 and card.iv["noise"] < scorecard.MIN_IV
    assert scorecard.MISSING in card.woe["days_late"].index, "a missing value is a bin of its own"
    pd_ = scorecard.predict(card, judged)
    assert roc_auc_score(judged["bad"], pd_) > 0.75
    assert pd_.mean() == pytest.approx(judged["bad"].mean(), rel=0.15)


def test_a_bin_never_seen_in_learning_weighs_nothing():
    learn = loans(5_000, 3).assign(days_late=lambda f: f["days_late"].fillna(10.0))  # no missing value to learn
    card = scorecard.fit(learn, ["days_late"], learn["bad"])
    unseen = pd.DataFrame({"days_late": [np.nan]})
    assert scorecard.woe_matrix(card, unseen).tolist() == [[0.0]]


def test_one_outcome_only_is_refused():
    learn = loans(100, 4).assign(bad=False)
    with pytest.raises(ValueError, match="both outcomes"):
        scorecard.fit(learn, ["days_late"], learn["bad"])

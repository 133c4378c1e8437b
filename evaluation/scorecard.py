"""The bank's classic baseline beside the PD model: a logistic scorecard on weight-of-evidence bins.

Each feature is cut into at most BINS bins of equal frequency on the loans it learns from, a missing value being a
bin of its own. A bin's weight of evidence is ln(share of the goods / share of the bads), each count smoothed by half
a loan; a feature whose information value is under MIN_IV is left out. A logistic regression (scikit-learn) on the
bins' weights gives the PD. A bin never seen in learning weighs 0.

Written here rather than taken from optbinning: that library pulls ortools and cvxpy and pins protobuf down across
the product's whole lock, for a baseline this small.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

BINS = 10
MIN_IV = 0.02  # the usual floor of a "weak" predictor
MISSING = -1  # the bin of a missing value


@dataclass(frozen=True)
class Scorecard:
    edges: dict[str, np.ndarray]  # per kept feature, the inner edges of its bins
    woe: dict[str, pd.Series]  # per kept feature, the weight of evidence of each bin
    iv: dict[str, float]  # information value of every feature offered, kept or not
    regression: LogisticRegression


def bin_codes(values: pd.Series, edges: np.ndarray) -> np.ndarray:
    """Each value's bin: 0 .. len(edges) by the inner `edges`, MISSING where the value is missing."""
    x = values.to_numpy(dtype=float)
    return np.where(np.isnan(x), MISSING, np.searchsorted(edges, x, side="right"))


def quantile_edges(values: pd.Series, bins: int = BINS) -> np.ndarray:
    known = values.dropna().to_numpy(dtype=float)
    if known.size == 0:
        return np.empty(0)
    return np.unique(np.quantile(known, np.linspace(0, 1, bins + 1)[1:-1]))


def weights_of_evidence(codes: np.ndarray, bad: np.ndarray) -> tuple[pd.Series, float]:
    """Per bin, ln(share of goods / share of bads), counts smoothed by 0.5; and the information value."""
    counts = pd.crosstab(codes, bad).reindex(columns=[False, True], fill_value=0) + 0.5
    goods, bads = counts[False] / counts[False].sum(), counts[True] / counts[True].sum()
    woe = np.log(goods / bads)
    return woe, float(((goods - bads) * woe).sum())


def woe_matrix(card: Scorecard, frame: pd.DataFrame) -> np.ndarray:
    return np.column_stack(
        [pd.Series(bin_codes(frame[f], card.edges[f])).map(card.woe[f]).fillna(0.0).to_numpy() for f in card.edges]
    )


def fit(frame: pd.DataFrame, features: list[str], bad: pd.Series) -> Scorecard:
    y = bad.to_numpy(dtype=bool)
    if len(set(y)) < 2:
        raise ValueError("a scorecard needs both outcomes among the loans it learns from")
    edges, woe, iv = {}, {}, {}
    for f in features:
        cut = quantile_edges(frame[f])
        w, iv[f] = weights_of_evidence(bin_codes(frame[f], cut), y)
        if iv[f] >= MIN_IV:
            edges[f], woe[f] = cut, w
    if not edges:
        raise ValueError(f"no feature reaches an information value of {MIN_IV}")
    card = Scorecard(edges, woe, iv, LogisticRegression(max_iter=1000))
    card.regression.fit(woe_matrix(card, frame), y)
    return card


def predict(card: Scorecard, frame: pd.DataFrame) -> np.ndarray:
    """The scorecard's PD of each row."""
    return card.regression.predict_proba(woe_matrix(card, frame))[:, 1]

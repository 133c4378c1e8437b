"""How well scores tell outcomes apart and how stable they are: AUC, Gini, KS, Brier, calibration by decile, PSI.
A leaf: the models, the night report and the studies all measure with these."""

from __future__ import annotations

import numpy as np
import pandas as pd


def psi(expected: np.ndarray, actual: np.ndarray, bins: int = 10) -> float:
    """Population stability index of `actual` against `expected`, on the deciles of `expected` (nulls dropped)."""
    expected, actual = expected[~np.isnan(expected)], actual[~np.isnan(actual)]
    if len(expected) == 0 or len(actual) == 0:
        return float("nan")
    edges = np.unique(np.quantile(expected, np.linspace(0, 1, bins + 1)))
    edges[0], edges[-1] = -np.inf, np.inf
    e = np.histogram(expected, edges)[0] / len(expected)
    a = np.histogram(actual, edges)[0] / len(actual)
    e, a = np.clip(e, 1e-6, None), np.clip(a, 1e-6, None)
    return float(np.sum((a - e) * np.log(a / e)))


def ks_statistic(bad: np.ndarray, score: np.ndarray) -> float:
    """Largest gap between the score distributions of bads and goods."""
    order = np.argsort(score)
    bad = bad[order]
    cum_bad = np.cumsum(bad) / max(bad.sum(), 1)
    cum_good = np.cumsum(1 - bad) / max((1 - bad).sum(), 1)
    return float(np.max(np.abs(cum_bad - cum_good)))


def calibration(bad: np.ndarray, score: np.ndarray, groups: int = 10) -> pd.DataFrame:
    """Mean predicted PD against the observed bad rate, by decile of the prediction."""
    frame = pd.DataFrame({"bad": bad, "pd": score})
    frame["decile"] = pd.qcut(frame["pd"].rank(method="first"), min(groups, len(frame)), labels=False) + 1
    return frame.groupby("decile").agg(loans=("bad", "size"), mean_pd=("pd", "mean"), bad_rate=("bad", "mean"))


def evaluate(bad: np.ndarray, pd_: np.ndarray, segments: pd.Series | None = None) -> dict:
    """AUC, Gini, KS, Brier, calibration by decile of PD (mean PD against the realised bad rate) and the same per
    segment; AUC, Gini and KS are None where a slice has one class only."""
    from sklearn.metrics import brier_score_loss, roc_auc_score

    bad, pd_ = np.asarray(bad), np.asarray(pd_)
    both = len(np.unique(bad)) == 2
    auc = float(roc_auc_score(bad, pd_)) if both else None
    metrics = {
        "rows": int(len(bad)),
        "bads": int(bad.sum()),
        "auc": auc,
        "gini": 2 * auc - 1 if both else None,
        "ks": ks_statistic(bad, pd_) if both else None,
        "brier": float(brier_score_loss(bad, pd_)),
        "calibration": calibration(bad, pd_).reset_index().to_dict("records"),
    }
    if segments is not None:
        segments = np.asarray(segments)
        metrics["segments"] = {
            str(seg): {
                k: v for k, v in evaluate(bad[segments == seg], pd_[segments == seg]).items() if k != "calibration"
            }
            for seg in sorted(set(segments))
        }
    return metrics

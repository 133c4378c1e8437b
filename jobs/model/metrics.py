"""How well scores tell outcomes apart and how stable they are: AUC, Gini, KS, Brier, calibration by decile with its
intervals, expected calibration error, PSI. A leaf: the models, the night report and the studies all measure with
these."""

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


PSI_WATCH, PSI_ALERT = 0.10, 0.25  # the usual bands: below 0.10 stable, above 0.25 a shift to act on
BOOTSTRAP_DRAWS = 1000
BOOTSTRAP_SEED = 20261204


def calibration(
    bad: np.ndarray, score: np.ndarray, groups: int = 10, draws: int = BOOTSTRAP_DRAWS, seed: int = BOOTSTRAP_SEED
) -> pd.DataFrame:
    """Mean predicted PD against the observed bad rate, by decile of the prediction. `low` and `high` bound the 95%
    interval of the bad rate the PDs predict (outcomes drawn `draws` times from each loan's PD); `inside` says whether
    the observed rate falls in it."""
    frame = pd.DataFrame({"bad": bad, "pd": score})
    frame["decile"] = pd.qcut(frame["pd"].rank(method="first"), min(groups, len(frame)), labels=False) + 1
    table = frame.groupby("decile").agg(loans=("bad", "size"), mean_pd=("pd", "mean"), bad_rate=("bad", "mean"))
    rng = np.random.default_rng(seed)

    def drawn_rates(pd_: np.ndarray) -> np.ndarray:  # in chunks of draws: memory stays ~ 100 x the decile
        return np.concatenate(
            [(rng.random((min(100, draws - i), len(pd_))) < pd_).mean(axis=1) for i in range(0, draws, 100)]
        )

    bounds = [np.quantile(drawn_rates(g["pd"].to_numpy()), [0.025, 0.975]) for _, g in frame.groupby("decile")]
    table["low"], table["high"] = [b[0] for b in bounds], [b[1] for b in bounds]
    table["inside"] = (table["bad_rate"] >= table["low"]) & (table["bad_rate"] <= table["high"])
    return table


def expected_calibration_error(table: pd.DataFrame) -> float:
    """ECE: the loan-weighted mean gap between predicted PD and realised bad rate over the deciles of `calibration`."""
    return float(np.average((table["mean_pd"] - table["bad_rate"]).abs(), weights=table["loans"]))


def auc_interval(
    bad: np.ndarray, score: np.ndarray, draws: int = BOOTSTRAP_DRAWS, seed: int = BOOTSTRAP_SEED
) -> list[float] | None:
    """The 95% bootstrap interval of the AUC (loans resampled with replacement); None with one class only."""
    from scipy.stats import rankdata

    bad, score = np.asarray(bad), np.asarray(score)
    if len(np.unique(bad)) < 2:
        return None
    rng = np.random.default_rng(seed)
    aucs = []
    for _ in range(draws):
        pick = rng.integers(0, len(bad), len(bad))
        b, s = bad[pick], score[pick]
        bads = b.sum()
        if 0 < bads < len(b):  # Mann-Whitney: the AUC from the ranks of the bads
            aucs.append((rankdata(s)[b == 1].sum() - bads * (bads + 1) / 2) / (bads * (len(b) - bads)))
    low, high = np.quantile(aucs, [0.025, 0.975])
    return [float(low), float(high)]


def auc(bad: np.ndarray, score: np.ndarray) -> float | None:
    """The area under the ROC curve; None with one class only."""
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(bad, score)) if len(np.unique(bad)) == 2 else None


def evaluate(bad: np.ndarray, pd_: np.ndarray, segments: pd.Series | None = None, deciles: bool = True) -> dict:
    """AUC with its 95% bootstrap interval, Gini, KS, Brier, mean PD; with `deciles`, calibration by decile of PD (mean
    PD against the realised bad rate, with the interval the PDs predict) and its ECE; per segment the same without the
    deciles. AUC, Gini and KS are None where a slice has one class only."""
    from sklearn.metrics import brier_score_loss

    bad, pd_ = np.asarray(bad), np.asarray(pd_)
    score = auc(bad, pd_)
    both = score is not None
    metrics = {
        "rows": int(len(bad)),
        "bads": int(bad.sum()),
        "auc": score,
        "auc_95": auc_interval(bad, pd_),
        "gini": 2 * score - 1 if both else None,
        "ks": ks_statistic(bad, pd_) if both else None,
        "brier": float(brier_score_loss(bad, pd_)),
        "mean_pd": float(pd_.mean()),
    }
    if deciles:
        table = calibration(bad, pd_)
        ece = expected_calibration_error(table)
        metrics["ece"] = ece
        metrics["ece_share_of_mean_pd"] = ece / float(pd_.mean()) if pd_.mean() > 0 else None
        metrics["calibration"] = table.reset_index().to_dict("records")
    if segments is not None:
        segments = np.asarray(segments)
        metrics["segments"] = {
            str(seg): evaluate(bad[segments == seg], pd_[segments == seg], deciles=False)
            for seg in sorted(set(segments))
        }
    return metrics

"""Bring your own table: cross-validate the PD model's learner on any labelled table (CSV or Parquet).

`helicopter train --table FILE --label COLUMN` answers "how would this model do on my data?" before a bank wires its
sources in. Text columns become categories (XGBoost's native categorical splits); each fold stops early on a slice
of its own training rows, so the held-out fold is never seen until it is scored.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from jobs.errors import ModelError
from jobs.model.metrics import ks_statistic
from jobs.model.pd_model import EARLY_STOPPING_ROUNDS, MAX_ROUNDS, PARAMS

BAD_WORDS = ("bad", "default", "defaulted", "yes", "true", "1")


def read_table(path: str | Path) -> pd.DataFrame:
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"{path}: no such file")
    if path.suffix.lower() in (".parquet", ".pq"):
        return pd.read_parquet(path)
    if path.suffix.lower() in (".csv", ".txt"):
        return pd.read_csv(path)
    raise ModelError(f"{path}: read CSV (.csv) or Parquet (.parquet) tables")


def binary_label(values: pd.Series, positive: str | None = None) -> pd.Series:
    """The label as 1 (bad) / 0 (good). With two distinct values, the bad one is `positive`, or the value that reads
    as bad (bad, default, yes, true, 1)."""
    distinct = list(values.dropna().unique())
    if values.isna().any():
        raise ModelError(f"label column has {int(values.isna().sum())} empty values")
    if len(distinct) != 2:
        raise ModelError(f"label column must have two values, found {len(distinct)}: {distinct[:5]}")
    if positive is None:
        bad = [v for v in distinct if str(v).strip().lower() in BAD_WORDS]
        if len(bad) != 1:
            raise ModelError(f"cannot tell which of {distinct} is the bad outcome: say it with --positive")
        positive = bad[0]
    elif positive not in {str(v) for v in distinct}:
        raise ModelError(f"--positive {positive!r} is not one of the label's values {distinct}")
    return (values.astype(str) == str(positive)).astype(int)


def features_of(frame: pd.DataFrame) -> pd.DataFrame:
    """Numbers stay numbers; every other column becomes a pandas category."""
    return frame.apply(lambda c: c if pd.api.types.is_numeric_dtype(c) else c.astype("category"))


def cross_validate(table: pd.DataFrame, label: str, positive: str | None = None, folds: int = 5, seed: int = 7) -> dict:
    """Stratified k-fold cross-validation; per-fold and mean AUC, Gini, KS and Brier of the held-out folds."""
    import xgboost as xgb
    from sklearn.metrics import brier_score_loss, roc_auc_score
    from sklearn.model_selection import StratifiedKFold, train_test_split

    if label not in table.columns:
        raise ModelError(f"no column {label!r}; the table has {list(table.columns)}")
    y = binary_label(table[label], positive)
    x = features_of(table.drop(columns=[label]))
    params = {**PARAMS, "seed": seed}
    per_fold, out_of_fold = [], np.zeros(len(y))
    for fold, (learn, held_out) in enumerate(StratifiedKFold(folds, shuffle=True, random_state=seed).split(x, y)):
        fit_rows, stop_rows = train_test_split(learn, test_size=0.2, stratify=y.iloc[learn], random_state=seed)
        matrix = {
            name: xgb.DMatrix(x.iloc[rows], label=y.iloc[rows], enable_categorical=True)
            for name, rows in (("fit", fit_rows), ("stop", stop_rows), ("held_out", held_out))
        }
        booster = xgb.train(
            params,
            matrix["fit"],
            MAX_ROUNDS,
            evals=[(matrix["stop"], "stop")],
            early_stopping_rounds=EARLY_STOPPING_ROUNDS,
            verbose_eval=False,
        )
        pd_hat = booster.predict(matrix["held_out"], iteration_range=(0, booster.best_iteration + 1))
        out_of_fold[held_out] = pd_hat
        truth = y.iloc[held_out].to_numpy()
        auc = roc_auc_score(truth, pd_hat)
        per_fold.append(
            {
                "fold": fold + 1,
                "rows": len(held_out),
                "auc": auc,
                "gini": 2 * auc - 1,
                "ks": ks_statistic(truth, pd_hat),
                "brier": brier_score_loss(truth, pd_hat),
                "rounds": booster.best_iteration + 1,
            }
        )
    folds_frame = pd.DataFrame(per_fold)
    return {
        "rows": len(table),
        "bad_rate": float(y.mean()),
        "features": x.shape[1],
        "folds": per_fold,
        "mean": {m: float(folds_frame[m].mean()) for m in ("auc", "gini", "ks", "brier")},
        "sd": {m: float(folds_frame[m].std(ddof=1)) for m in ("auc", "gini", "ks", "brier")},
        "pooled_auc": float(roc_auc_score(y, out_of_fold)),
    }


def render(result: dict, name: str) -> str:
    lines = [
        f"{name}: {result['rows']:,} rows, {result['features']} features, bad rate {result['bad_rate']:.1%}, "
        f"{len(result['folds'])}-fold cross-validation (early stopping inside each training fold)",
        f"{'fold':>6} {'rows':>6} {'AUC':>7} {'Gini':>7} {'KS':>7} {'Brier':>7} {'rounds':>7}",
    ]
    lines += [
        f"{f['fold']:>6} {f['rows']:>6} {f['auc']:>7.3f} {f['gini']:>7.3f} {f['ks']:>7.3f} {f['brier']:>7.3f} "
        f"{f['rounds']:>7}"
        for f in result["folds"]
    ]
    m, s = result["mean"], result["sd"]
    lines.append(
        f"{'mean':>6} {'':>6} {m['auc']:>7.3f} {m['gini']:>7.3f} {m['ks']:>7.3f} {m['brier']:>7.3f}   "
        f"(sd of AUC {s['auc']:.3f}; pooled out-of-fold AUC {result['pooled_auc']:.3f})"
    )
    return "\n".join(lines)

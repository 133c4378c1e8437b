"""Bring your own table: cross-validate the PD model's learner on any labelled table (CSV or Parquet).

`helicopter train --table FILE --label COLUMN` answers "how would this model do on my data?" before a bank wires its
sources in. Text columns become categories (XGBoost's native categorical splits); each fold stops early on a slice
of its own training rows, so the held-out fold is never seen until it is scored.
"""

from __future__ import annotations

import csv
from pathlib import Path

from jobs.errors import ModelError

BAD_WORDS = ("bad", "default", "defaulted", "yes", "true", "1")
SEPARATORS = ",;\t|"
SNIFF_BYTES = 64 * 1024
ID_LIKE_MIN_ROWS = 20  # below this, a column of distinct values is no sign of an identifier


def table_columns(path: str | Path) -> tuple[list[str], str | None]:
    """The table's column names and, for CSV, its separator (sniffed from its first lines among , ; tab |), read
    without loading the table or pandas: a wrong call fails before the heavy imports."""
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        import pyarrow.parquet as pq

        return pq.read_schema(path).names, None
    if suffix not in (".csv", ".txt"):
        raise ModelError(f"{path}: read CSV (.csv) or Parquet (.parquet) tables")
    with path.open(encoding="utf-8", errors="replace", newline="") as f:
        sample = f.read(SNIFF_BYTES)
    lines = sample.splitlines()
    try:
        separator = csv.Sniffer().sniff("\n".join(lines[:50]), delimiters=SEPARATORS).delimiter
    except csv.Error:  # one column, or no consistent separator: read as commas
        separator = ","
    header = next(csv.reader(lines[:1], delimiter=separator), [])
    return [name.strip() for name in header], separator


def read_table(path: str | Path, separator: str | None = ","):
    """The table as a pandas frame (`separator`: the CSV's, from `table_columns`)."""
    import pandas as pd

    if separator is None:
        return pd.read_parquet(path)
    return pd.read_csv(path, sep=separator, skipinitialspace=True)


def bad_value(values, positive: str | None = None):
    """Which of the label's two values means bad: `positive` (compared without case or surrounding spaces), or the
    value that reads as bad (bad, default, yes, true, 1)."""
    distinct = list(values.dropna().unique())
    if values.isna().any():
        raise ModelError(f"label column has {int(values.isna().sum())} empty values")
    if len(distinct) != 2:
        raise ModelError(f"label column must have two values, found {len(distinct)}: {distinct[:5]}")
    wanted = BAD_WORDS if positive is None else (positive.strip().lower(),)
    bad = [v for v in distinct if str(v).strip().lower() in wanted]
    if len(bad) == 1:
        return bad[0]
    if positive is None or bad:
        raise ModelError(f"cannot tell which of {distinct} is the bad outcome: say it with --positive")
    raise ModelError(f"--positive {positive!r} is not one of the label's values {distinct}")


def binary_label(values, positive: str | None = None):
    """The label as 1 (bad) / 0 (good), the bad value chosen by `bad_value`."""
    return (values == bad_value(values, positive)).astype(int)


def column_warnings(features) -> list[str]:
    """One line per column that is empty in every row, or that holds a different text or whole number in every row
    (an identifier, most likely, which the learner would take for a feature)."""
    import pandas as pd

    warnings = []
    for name, column in features.items():
        if column.isna().all():
            warnings.append(f"column {name!r} is empty in every row: it cannot help")
        elif (
            len(column) >= ID_LIKE_MIN_ROWS
            and not pd.api.types.is_float_dtype(column)
            and column.nunique(dropna=False) == len(column)
        ):
            warnings.append(f"column {name!r} has a different value in every row, like an identifier: drop it if it is")
    return warnings


def no_column(label: str, columns: list[str]) -> str:
    """Why `label` is not found, with a hint when the header looks like one column of several separated names."""
    hint = ""
    if len(columns) == 1 and (seen := [s for s in SEPARATORS if s in columns[0]]):
        hint = f" (one column only: is the file separated by {seen[0]!r}?)"
    return f"no column {label!r}; the table has {columns}{hint}"


def features_of(frame):
    """Numbers stay numbers; every other column becomes a pandas category."""
    import pandas as pd

    return frame.apply(lambda c: c if pd.api.types.is_numeric_dtype(c) else c.astype("category"))


def cross_validate(table, label: str, positive: str | None = None, folds: int = 5, seed: int = 7) -> dict:
    """Stratified k-fold cross-validation; per-fold and mean AUC, Gini, KS and Brier of the held-out folds."""
    if folds < 2:
        raise ModelError(f"cross-validation needs at least 2 folds, not {folds}")
    if label not in table.columns:
        raise ModelError(no_column(label, list(table.columns)))
    bad = bad_value(table[label], positive)
    y = (table[label] == bad).astype(int)
    rarer = int(min(y.sum(), len(y) - y.sum()))
    if rarer < folds:
        raise ModelError(f"{rarer} rows of the rarer outcome cannot fill {folds} folds: use --folds {max(rarer, 2)}")
    x = features_of(table.drop(columns=[label]))

    import numpy as np
    import pandas as pd
    import xgboost as xgb
    from sklearn.metrics import brier_score_loss, roc_auc_score
    from sklearn.model_selection import StratifiedKFold, train_test_split

    from jobs.model.metrics import ks_statistic
    from jobs.model.pd_model import EARLY_STOPPING_ROUNDS, MAX_ROUNDS, PARAMS

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
        "bad_value": str(bad),
        "bad_rate": float(y.mean()),
        "warnings": column_warnings(x),
        "features": x.shape[1],
        "folds": per_fold,
        "mean": {m: float(folds_frame[m].mean()) for m in ("auc", "gini", "ks", "brier")},
        "sd": {m: float(folds_frame[m].std(ddof=1)) for m in ("auc", "gini", "ks", "brier")},
        "pooled_auc": float(roc_auc_score(y, out_of_fold)),
    }


def render(result: dict, name: str) -> str:
    lines = [
        f"{name}: {result['rows']:,} rows, {result['features']} features, bad = {result['bad_value']!r}, "
        f"bad rate {result['bad_rate']:.1%}, "
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

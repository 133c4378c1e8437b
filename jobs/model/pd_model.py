"""The PD model: XGBoost (hist) trained on gold.training_set, validated on its latest observation dates,
registered in gold.model_registry with its metrics and the path of its booster.

Features, their monotone directions and their reason codes come from the feature contract (gold.feature_vector,
which gathers the families' own contracts).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from jobs import tables
from jobs.catalog import contract
from jobs.model.training_set import with_features
from jobs.settings import Settings

log = logging.getLogger(__name__)
FEATURE_TABLE = "gold.feature_vector"
VALID_SHARE = 0.25  # the latest observation dates holding about this share of loans validate the model
PARAMS = {
    "objective": "binary:logistic",
    "tree_method": "hist",
    "eta": 0.05,
    "max_depth": 3,
    "min_child_weight": 5,
    "subsample": 0.8,
    "colsample_bytree": 0.8,
    "lambda": 5.0,
    "eval_metric": ["auc", "logloss"],  # early stopping watches the last: logloss, smoother than AUC on few bads
    "seed": 7,
    "nthread": 2,
}
MAX_ROUNDS = 600
EARLY_STOPPING_ROUNDS = 40


class ModelError(RuntimeError):
    """Training or scoring cannot go on (no data, no model)."""


@dataclass(frozen=True)
class FeatureSpec:
    names: list[str]
    monotone: list[int]
    reason_codes: dict[str, str]


def feature_spec(fqn: str = FEATURE_TABLE) -> FeatureSpec:
    cols = contract(fqn).features
    return FeatureSpec(
        names=[c.name for c in cols],
        monotone=[int(c.feature.get("monotone", 0)) for c in cols],
        reason_codes={c.name: c.feature["reason_code"] for c in cols},
    )


def time_split(obs_dates: pd.Series, valid_share: float = VALID_SHARE) -> pd.Series:
    """True for validation rows: the latest observation dates, whole, holding at least `valid_share` of rows."""
    per_date = obs_dates.value_counts().sort_index(ascending=False)
    if len(per_date) < 2:
        raise ModelError(f"need loans observed on at least two dates for a time-based validation, got {len(per_date)}")
    cumulative = per_date.cumsum() / per_date.sum()
    valid_dates = cumulative.index[: int(np.searchsorted(cumulative.values, valid_share) + 1)]
    valid_dates = valid_dates[: len(per_date) - 1]  # always keep a date to train on
    return obs_dates.isin(valid_dates)


def fit(frame: pd.DataFrame, spec: FeatureSpec) -> tuple[object, dict]:
    """Train on the earlier dates, stop early on the later ones; returns the booster and its validation metrics."""
    import xgboost as xgb
    from sklearn.metrics import brier_score_loss, roc_auc_score

    valid = time_split(frame["obs_date"])
    train, test = frame[~valid], frame[valid]
    dtrain = xgb.DMatrix(train[spec.names], label=train["bad"], feature_names=spec.names)
    dvalid = xgb.DMatrix(test[spec.names], label=test["bad"], feature_names=spec.names)
    params = {**PARAMS, "monotone_constraints": "(" + ",".join(map(str, spec.monotone)) + ")"}
    booster = xgb.train(
        params,
        dtrain,
        MAX_ROUNDS,
        evals=[(dvalid, "valid")],
        early_stopping_rounds=EARLY_STOPPING_ROUNDS,
        verbose_eval=False,
    )
    predicted = booster.predict(dvalid, iteration_range=(0, booster.best_iteration + 1))
    both_classes = test["bad"].nunique() == 2
    metrics = {
        "train_rows": len(train),
        "valid_rows": len(test),
        "train_bad_rate": float(train["bad"].mean()),
        "valid_auc": float(roc_auc_score(test["bad"], predicted)) if both_classes else None,
        "valid_brier": float(brier_score_loss(test["bad"], predicted)),
        "best_iteration": int(booster.best_iteration),
        "params": params,
    }
    return booster, metrics


def training_frame(spark, settings: Settings, as_of: dt.date, spec: FeatureSpec) -> pd.DataFrame:
    """The labels known at `as_of` with their point-in-time features, in a stable order."""
    from pyspark.sql import functions as F

    labels = tables.read(spark, settings, "gold.training_set").where(F.col("label_as_of") == F.lit(as_of))
    frame = with_features(labels, tables.read(spark, settings, FEATURE_TABLE)).toPandas()
    if frame.empty or frame["bad"].nunique() < 2:
        raise ModelError(
            f"no usable training set as of {as_of}: {len(frame)} matured loans "
            f"({int(frame['bad'].sum()) if len(frame) else 0} bad); loans need 12 months of outcome history"
        )
    frame[spec.names] = frame[spec.names].astype("float64")
    return frame.sort_values(["obs_date", "loan_id"]).reset_index(drop=True)


def validation_predictions(spark, settings: Settings, model: dict) -> pd.DataFrame:
    """The registered model's validation window again: `bad` and the model's `pd` for each loan in it."""
    import xgboost as xgb

    spec = feature_spec()
    frame = training_frame(spark, settings, model["trained_as_of"], spec)
    valid = frame[time_split(frame["obs_date"])]
    booster = xgb.Booster()
    booster.load_model(model["booster_path"])
    matrix = xgb.DMatrix(valid[spec.names], feature_names=spec.names)
    pd_ = booster.predict(matrix, iteration_range=(0, model["best_iteration"] + 1))
    return pd.DataFrame({"bad": valid["bad"].to_numpy(), "pd": pd_})


def train(spark, settings: Settings, as_of: dt.date) -> dict:
    """Train on the labels known at `as_of`, save the booster, register it; returns the registry row."""
    spec = feature_spec()
    frame = training_frame(spark, settings, as_of, spec)
    booster, metrics = fit(frame, spec)
    fingerprint = hashlib.sha256(  # the data (labels and features) and the parameters name the model
        pd.util.hash_pandas_object(frame[["loan_id", "bad", *spec.names]], index=False).values.tobytes()
        + json.dumps(metrics["params"], sort_keys=True).encode()
    ).hexdigest()[:10]
    version = f"pd-{as_of.isoformat()}-{fingerprint}"
    path = Path(settings.model_dir) / f"{version}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    booster.save_model(str(path))
    row = {
        "model_version": version,
        "trained_as_of": as_of,
        "trained_at": dt.datetime.now(dt.UTC).replace(tzinfo=None),
        "algorithm": "xgboost hist binary:logistic",
        "features": spec.names,
        "train_rows": metrics["train_rows"],
        "valid_rows": metrics["valid_rows"],
        "train_bad_rate": metrics["train_bad_rate"],
        "valid_auc": metrics["valid_auc"],
        "valid_brier": metrics["valid_brier"],
        "best_iteration": metrics["best_iteration"],
        "params": json.dumps(metrics["params"], sort_keys=True),
        "booster_path": str(path),
    }
    registry = contract("gold.model_registry")
    tables.merge(spark, settings, registry.fqn, spark.createDataFrame([row], registry.struct_type()))
    log.info("trained %s: %s", version, {k: metrics[k] for k in ("train_rows", "valid_rows", "valid_auc")})
    return row


def current_model(spark, settings: Settings, as_of: dt.date) -> dict:
    """The newest registered model trained as of `as_of` or earlier."""
    from pyspark.sql import functions as F

    rows = (
        tables.read(spark, settings, "gold.model_registry")
        .where(F.col("trained_as_of") <= F.lit(as_of))
        .orderBy(F.col("trained_as_of").desc(), F.col("trained_at").desc())
        .limit(1)
        .collect()
    )
    if not rows:
        raise ModelError(f"no PD model trained as of {as_of} or earlier: run `helicopter train --as-of {as_of}`")
    return rows[0].asDict()


def predict_with_drivers(booster_json: bytearray, spec: FeatureSpec, best_iteration: int, top: int = 3):
    """A pandas-batch function for mapInPandas: PD and the reason codes of the `top` features raising it most."""

    def score(batches):
        import xgboost as xgb

        booster = xgb.Booster()
        booster.load_model(booster_json)
        rounds = (0, best_iteration + 1)
        codes = np.array([spec.reason_codes[n] for n in spec.names])
        for batch in batches:
            matrix = xgb.DMatrix(batch[spec.names].astype("float64"), feature_names=spec.names)
            pd_ = booster.predict(matrix, iteration_range=rounds)
            contributions = booster.predict(matrix, pred_contribs=True, iteration_range=rounds)[:, :-1]
            order = np.argsort(-contributions, axis=1)[:, :top]
            drivers = [[codes[j] for j in row if contributions[i, j] > 0] for i, row in enumerate(order)]
            yield batch.assign(pd=pd_.astype("float64"), drivers=drivers)

    return score

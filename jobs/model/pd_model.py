"""The PD model: XGBoost (hist) trained on gold.training_set, validated on its latest observation dates, calibrated
there (Platt scaling of its margin, stored in the booster so that every PD it gives is the calibrated one),
registered in gold.model_registry with its metrics, the Delta versions of its inputs and the path of its booster. A new
model becomes the champion (the one scoring) only if it beats the champion on the same validation window by the
margin CHALLENGER_MIN_AUC_GAIN sets; `rollback` withdraws the newest champion.

Features, their monotone directions and their reason codes come from the feature contract (gold.feature_vector,
which gathers the families' own contracts).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from jobs import registry, tables
from jobs.catalog import contract
from jobs.errors import ModelError
from jobs.model.metrics import evaluate
from jobs.model.training_set import with_features
from jobs.registry import CHALLENGER, CHAMPION, RegisteredModel
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
REGISTRY = "gold.model_registry"
PLATT_ATTR = "platt"  # the booster attribute holding its calibration: PD = sigmoid(intercept + slope * margin)
MAX_ROUNDS = 600
EARLY_STOPPING_ROUNDS = 40


@dataclass(frozen=True)
class FeatureSpec:
    names: list[str]
    monotone: list[int]
    reason_codes: dict[str, str]
    absent_codes: dict[str, str] = field(default_factory=dict)  # a family's feature -> the family's absence code


def feature_spec(fqn: str = FEATURE_TABLE) -> FeatureSpec:
    """The features of `fqn`'s contract; a family's feature is told, when a business lacks it, by the reason code of
    the family's `has_<family>` indicator (NO_PAYMENT_FLOW, not LOW_SALES_90D, for a farmer without payments)."""
    vector = contract(fqn)
    cols = vector.features
    codes = {c.name: c.feature["reason_code"] for c in cols}
    return FeatureSpec(
        names=[c.name for c in cols],
        monotone=[int(c.feature.get("monotone", 0)) for c in cols],
        reason_codes=codes,
        absent_codes={
            c.name: codes[f"has_{family}"]
            for family, table in vector.extra.get("families", {}).items()
            for c in contract(table).features
        },
    )


def validation_dates(obs_dates: pd.Series, valid_share: float = VALID_SHARE) -> list[dt.date]:
    """The latest observation dates, whole, holding at least `valid_share` of rows (never all dates)."""
    per_date = obs_dates.value_counts().sort_index(ascending=False)
    if len(per_date) < 2:
        raise ModelError(f"need loans observed on at least two dates for a time-based validation, got {len(per_date)}")
    cumulative = per_date.cumsum() / per_date.sum()
    valid_dates = cumulative.index[: int(np.searchsorted(cumulative.values, valid_share) + 1)]
    return list(valid_dates[: len(per_date) - 1])  # always keep a date to train on


def time_split(obs_dates: pd.Series, valid_share: float = VALID_SHARE) -> pd.Series:
    """True for validation rows: those observed on the `validation_dates`."""
    return obs_dates.isin(validation_dates(obs_dates, valid_share))


def booster_params(spec: FeatureSpec) -> dict:
    """PARAMS with the feature contract's monotone directions, in `spec`'s feature order."""
    return {**PARAMS, "monotone_constraints": "(" + ",".join(map(str, spec.monotone)) + ")"}


def local_booster(frame: pd.DataFrame, valid: pd.Series, spec: FeatureSpec, params: dict):
    """`xgb.train` on the driver: learn on the rows not in `valid`, stop early on those in it."""
    import xgboost as xgb

    dtrain, dvalid = (
        xgb.DMatrix(p[spec.names], label=p["bad"], feature_names=spec.names) for p in (frame[~valid], frame[valid])
    )
    return xgb.train(
        params,
        dtrain,
        MAX_ROUNDS,
        evals=[(dvalid, "valid")],
        early_stopping_rounds=EARLY_STOPPING_ROUNDS,
        verbose_eval=False,
    )


def calibrate(booster, margin: np.ndarray, bad: np.ndarray) -> dict:
    """Platt scaling: a logistic regression of the outcome on the booster's margin, stored in the booster (it is saved
    with it). A slope that is not positive (a model ranking the window backwards) leaves the margin as it is."""
    from sklearn.linear_model import LogisticRegression

    fitted = LogisticRegression(C=1e6).fit(margin.reshape(-1, 1), bad)
    platt = {"intercept": float(fitted.intercept_[0]), "slope": float(fitted.coef_[0, 0])}
    if platt["slope"] <= 0:
        log.warning("no calibration: the margin's slope on the validation window is %.3f", platt["slope"])
        platt = {"intercept": 0.0, "slope": 1.0}
    booster.set_attr(**{PLATT_ATTR: json.dumps(platt)})
    return platt


def platt_of(booster) -> tuple[float, float]:
    """(intercept, slope) of the booster's calibration; (0, 1), its own logistic output, when it has none."""
    stored = booster.attr(PLATT_ATTR)
    platt = json.loads(stored) if stored else {"intercept": 0.0, "slope": 1.0}
    return platt["intercept"], platt["slope"]


def calibrated_pd(booster, matrix, rounds: int) -> np.ndarray:
    """The booster's PD for each row of `matrix` from its first `rounds` trees, through its calibration."""
    intercept, slope = platt_of(booster)
    margin = booster.predict(matrix, output_margin=True, iteration_range=(0, rounds))
    return 1.0 / (1.0 + np.exp(-(intercept + slope * margin)))


def spark_workers(spark) -> int:
    """One XGBoost worker per Spark task: the default parallelism, capped at the task slots (the cores; local[2]
    has 2), since a barrier stage needs all its tasks running at once."""
    from xgboost.spark.utils import _get_max_num_concurrent_tasks

    sc = spark.sparkContext
    return max(1, min(sc.defaultParallelism, _get_max_num_concurrent_tasks(sc)))


def spark_estimator_params(params: dict) -> dict:
    """Booster parameters under the names `SparkXGBClassifier` takes. It sets the objective itself (binary for a
    0/1 label) and the threads from `spark.task.cpus`."""
    renamed = {"eta": "learning_rate", "lambda": "reg_lambda", "seed": "random_state"}
    return {renamed.get(k, k): v for k, v in params.items() if k not in ("objective", "nthread")}


def spark_booster(rows, valid_dates: list[dt.date], spec: FeatureSpec, params: dict):
    """The same training through `xgboost.spark` on a Spark DataFrame of the same rows (`bad`, `obs_date` and the
    features): the rows observed on `valid_dates` are marked as validation and stop it early. Returns the booster
    and the number of workers."""
    from pyspark.sql import functions as F
    from xgboost.spark import SparkXGBClassifier

    data = rows.select(
        *(F.col(n).cast("double") for n in spec.names),
        F.col("bad").cast("int"),
        F.col("obs_date").isin(valid_dates).alias("valid"),
    )
    workers = spark_workers(rows.sparkSession)
    estimator = SparkXGBClassifier(
        features_col=spec.names,
        label_col="bad",
        validation_indicator_col="valid",
        num_workers=workers,
        force_repartition=True,  # every worker gets both training and validation rows
        n_estimators=MAX_ROUNDS,
        early_stopping_rounds=EARLY_STOPPING_ROUNDS,
        verbose=False,
        **spark_estimator_params(params),
    )
    return estimator.fit(data).get_booster(), workers


def fit(frame: pd.DataFrame, spec: FeatureSpec, rows=None) -> tuple[object, dict]:
    """Train on the earlier dates, stop early on the later ones; returns the booster and its validation metrics.
    On the driver with `xgb.train`, or, given `rows` (the same rows as a Spark DataFrame), through `xgboost.spark`
    across the Spark tasks; the metrics come from the booster either way."""
    import xgboost as xgb

    valid = time_split(frame["obs_date"])
    params = booster_params(spec)
    if rows is None:
        booster, backend = local_booster(frame, valid, spec, params), "local"
    else:
        booster, workers = spark_booster(rows, validation_dates(frame["obs_date"]), spec, params)
        backend, params = "spark", {**params, "training_backend": "spark", "num_workers": workers}
    train, test = frame[~valid], frame[valid]
    dvalid = xgb.DMatrix(test[spec.names], feature_names=spec.names)
    rounds = booster.best_iteration + 1
    platt = calibrate(booster, booster.predict(dvalid, output_margin=True, iteration_range=(0, rounds)), test["bad"])
    predicted = calibrated_pd(booster, dvalid, rounds)
    metrics = {
        "train_rows": len(train),
        "valid_rows": len(test),
        "train_bad_rate": float(train["bad"].mean()),
        "valid": evaluate(test["bad"], predicted, test["segment"] if "segment" in test else None),
        "best_iteration": int(booster.best_iteration),
        "platt": platt,
        "backend": backend,
        "params": params,  # a Spark-trained model's also name the backend, so it gets a version of its own
    }
    return booster, metrics


def training_backend(settings: Settings, rows: int) -> str:
    """`local` or `spark`: PD_TRAINING_BACKEND, where `auto` means Spark from PD_SPARK_TRAINING_ROWS rows up."""
    if settings.pd_training_backend == "auto":
        return "spark" if rows >= settings.pd_spark_training_rows else "local"
    return settings.pd_training_backend


def training_rows(spark, settings: Settings, as_of: dt.date):
    """The labels known at `as_of` with their point-in-time features (a Spark DataFrame)."""
    from pyspark.sql import functions as F

    labels = tables.read(spark, settings, "gold.training_set").where(F.col("label_as_of") == F.lit(as_of))
    return with_features(labels, tables.read(spark, settings, FEATURE_TABLE))


def training_frame(rows, as_of: dt.date, spec: FeatureSpec) -> pd.DataFrame:
    """The training rows (`training_rows`) on the driver (pandas), in a stable order."""
    frame = rows.toPandas()
    if frame.empty or frame["bad"].nunique() < 2:
        raise ModelError(
            f"no usable training set as of {as_of}: {len(frame)} matured loans "
            f"({int(frame['bad'].sum()) if len(frame) else 0} bad); loans need 12 months of outcome history"
        )
    frame[spec.names] = frame[spec.names].astype("float64")
    return frame.sort_values(["obs_date", "loan_id"]).reset_index(drop=True)


def model_spec(model: RegisteredModel) -> FeatureSpec:
    """The feature spec a registered model was trained with (its own features, in its order)."""
    spec = feature_spec()
    known = dict(zip(spec.names, spec.monotone, strict=True))
    missing = [n for n in model.features if n not in known]
    if missing:
        raise ModelError(f"model {model.model_version} needs features the contract no longer has: {missing[:5]}")
    names = list(model.features)
    return FeatureSpec(
        names,
        [known[n] for n in names],
        {n: spec.reason_codes[n] for n in names},
        {n: spec.absent_codes[n] for n in names if n in spec.absent_codes},
    )


def rounds(model: RegisteredModel) -> int:
    """The boosting rounds a registered PD model keeps (early stopping's best)."""
    return int(model.params["rounds"])


def predict(model: RegisteredModel, frame: pd.DataFrame) -> np.ndarray:
    """A registered model's PD for each row of `frame`."""
    import xgboost as xgb

    spec = model_spec(model)
    booster = xgb.Booster()
    booster.load_model(model.artifact_path)
    matrix = xgb.DMatrix(frame[spec.names].astype("float64"), feature_names=spec.names)
    return calibrated_pd(booster, matrix, rounds(model))


def validation_predictions(spark, settings: Settings, model: RegisteredModel) -> pd.DataFrame:
    """The registered model's validation window again: `bad` and the model's `pd` for each loan in it."""
    as_of = model.trained_as_of
    frame = training_frame(training_rows(spark, settings, as_of), as_of, model_spec(model))
    valid = frame[time_split(frame["obs_date"])]
    return pd.DataFrame({"bad": valid["bad"].to_numpy(), "pd": predict(model, valid)})


def challenge(champion: RegisteredModel | None, version: str, auc: float | None, valid: pd.DataFrame, margin: float):
    """(promote?, why): a challenger replaces the champion only if its AUC beats the champion's on the same
    validation loans by at least `margin`."""
    if champion is None:
        return True, "no champion as of this date"
    rival = champion.model_version
    if rival == version:
        return True, "the champion again: same labels, features and parameters"
    try:
        champion_auc = evaluate(valid["bad"], predict(champion, valid))["auc"]
    except (ModelError, KeyError) as e:
        return True, f"champion {rival} cannot score tonight's features ({e})"
    if auc is None or champion_auc is None:
        return False, f"champion {rival} kept: the validation window holds one class only"
    gain = auc - champion_auc
    verdict = "replaces" if gain >= margin else "does not replace"
    why = f"{verdict} {rival}: AUC {auc:.4f} against {champion_auc:.4f} on the same {len(valid)} loans"
    return gain >= margin, f"{why} (gain {gain:+.4f}, margin {margin})"


def table_version(spark, settings: Settings, fqn: str) -> int:
    """The Delta version a table is at: what a model was trained on, to reproduce it."""
    from delta.tables import DeltaTable

    return DeltaTable.forPath(spark, contract(fqn).path(settings)).history(1).first()["version"]


def train(spark, settings: Settings, as_of: dt.date) -> RegisteredModel:
    """Train on the labels known at `as_of`, save the booster, register it as champion if it beats the champion as of
    `as_of` on the same validation window (else as a challenger); returns its record."""
    spec = feature_spec()
    rows = training_rows(spark, settings, as_of).persist()  # Spark training reads them again: not the query twice
    try:
        frame = training_frame(rows, as_of, spec)
        booster, metrics = fit(frame, spec, rows if training_backend(settings, len(frame)) == "spark" else None)
    finally:
        rows.unpersist()
    fingerprint = hashlib.sha256(  # the data (labels and features) and the parameters name the model
        pd.util.hash_pandas_object(frame[["loan_id", "bad", *spec.names]], index=False).values.tobytes()
        + json.dumps(metrics["params"], sort_keys=True).encode()
    ).hexdigest()[:10]
    version = f"pd-{as_of.isoformat()}-{fingerprint}"
    path = Path(settings.model_dir) / f"{version}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    booster.save_model(str(path))
    valid_rows = time_split(frame["obs_date"])
    promoted, why = challenge(
        champion(spark, settings, as_of),
        version,
        metrics["valid"]["auc"],
        frame[valid_rows],
        settings.challenger_margin,
    )
    model = RegisteredModel(
        model_version=version,
        trained_as_of=as_of,
        algorithm=f"xgboost hist binary:logistic ({metrics['backend']} training)",
        features=spec.names,
        params={**metrics["params"], "rounds": metrics["best_iteration"] + 1},
        training={
            "train_rows": metrics["train_rows"],
            "valid_rows": metrics["valid_rows"],
            "train_bad_rate": metrics["train_bad_rate"],
            "train_dates": date_range(frame.loc[~valid_rows, "obs_date"]),
            "valid_dates": date_range(frame.loc[valid_rows, "obs_date"]),
        },
        metrics={"valid": metrics["valid"], "platt": metrics["platt"]},
        artifact_path=str(path),
        input_versions={fqn: table_version(spark, settings, fqn) for fqn in ("gold.training_set", FEATURE_TABLE)},
        status=CHAMPION if promoted else CHALLENGER,
        decision=why,
    )
    registry.register(spark, settings, REGISTRY, model)
    log.info("trained %s (%s): %s", version, model.status, why)
    return model


def date_range(dates: pd.Series) -> list[str]:
    return [str(dates.min()), str(dates.max())]


def summary(model: RegisteredModel) -> dict:
    """A PD model's headline: version, status and why, rows, and its validation figures."""
    valid = model.metrics["valid"]
    return {
        "model_version": model.model_version,
        "trained_as_of": model.trained_as_of.isoformat(),
        "status": model.status,
        "decision": model.decision,
        "train_rows": model.training["train_rows"],
        "valid_rows": model.training["valid_rows"],
        **{f"valid_{k}": valid[k] for k in ("auc", "ks", "brier")},
    }


def champion(spark, settings: Settings, as_of: dt.date) -> RegisteredModel | None:
    return registry.champion(spark, settings, REGISTRY, as_of)


def current_model(spark, settings: Settings, as_of: dt.date) -> RegisteredModel:
    """The model to score with as of `as_of`: the newest champion trained as of `as_of` or earlier."""
    model = champion(spark, settings, as_of)
    if model is None:
        raise ModelError(f"no PD model trained as of {as_of} or earlier: run `helicopter train --as-of {as_of}`")
    return model


def rollback(spark, settings: Settings) -> RegisteredModel:
    """Withdraw the newest champion (status rolled_back); the champion before it scores again. Returns that one."""
    restored = registry.rollback(spark, settings, REGISTRY)
    log.warning("rolled back the newest PD champion: %s is the champion again", restored.model_version)
    return restored


def predict_with_drivers(booster_json: bytearray, spec: FeatureSpec, rounds: int, top: int = 3):
    """A pandas-batch function for mapInPandas: PD and the distinct reason codes of the `top` features raising it most
    (their contributions to the margin, which the calibration's positive slope keeps in order); a feature the business
    lacks is told by its family's absence code."""
    codes = [spec.reason_codes[n] for n in spec.names]
    absent = [spec.absent_codes.get(n, code) for n, code in zip(spec.names, codes, strict=True)]

    def told(contributions: np.ndarray, missing: np.ndarray) -> list[str]:
        found = []
        for j in np.argsort(-contributions)[: 4 * top]:
            if contributions[j] <= 0 or len(found) == top:
                break
            code = absent[j] if missing[j] else codes[j]
            if code not in found:
                found.append(code)
        return found

    def score(batches):
        import xgboost as xgb

        booster = xgb.Booster()
        booster.load_model(booster_json)
        for batch in batches:
            values = batch[spec.names].astype("float64")
            matrix = xgb.DMatrix(values, feature_names=spec.names)
            pd_ = calibrated_pd(booster, matrix, rounds)
            contributions = booster.predict(matrix, pred_contribs=True, iteration_range=(0, rounds))[:, :-1]
            missing = values.isna().to_numpy()
            drivers = [told(c, m) for c, m in zip(contributions, missing, strict=True)]
            yield batch.assign(pd=pd_.astype("float64"), drivers=drivers)

    return score

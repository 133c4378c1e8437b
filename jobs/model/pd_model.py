"""The PD model: XGBoost (hist) trained on gold.training_set, in three parts of time (`time_parts`): it is fitted on
the earliest loans, stopped early and calibrated on later ones (Platt scaling of its margin, stored in the booster so
that every PD it gives is the calibrated one), and tested out of time on the latest disbursement months. Each part is
a whole outcome horizon after the one before, so nothing fitted knew a test outcome. Registered in gold.model_registry
with its metrics, the Delta versions of its inputs and the path of its booster. A new model becomes the champion (the
one scoring) only if it beats the champion on the same out-of-time test by the margin CHALLENGER_MIN_AUC_GAIN sets;
`rollback` withdraws the newest champion. A history too short for three parts is fitted and stopped on two, and
every figure of that model is labelled in-sample.

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
from jobs.model import model_card
from jobs.model.metrics import auc as auc_of
from jobs.model.metrics import evaluate, psi
from jobs.model.model_card import FIT, GAP, JUDGED_ON, STOP, TEST, judged_part
from jobs.model.training_set import HORIZON_DAYS, with_features
from jobs.registry import CHALLENGER, CHAMPION, RegisteredModel
from jobs.settings import Settings

log = logging.getLogger(__name__)
FEATURE_TABLE = "gold.feature_vector"
TEST_SHARE = 0.25  # the latest disbursement months holding about this share of loans: the out-of-time test
STOP_SHARE = 0.25  # of the loans a horizon before the test, the latest months holding this share stop and calibrate
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


def latest_months(obs_dates: pd.Series, share: float) -> pd.Series:
    """True for the rows of the latest calendar months of `obs_date`, whole, that hold at least `share` of the rows,
    never every month."""
    months = pd.PeriodIndex(pd.to_datetime(obs_dates), freq="M")
    per_month = pd.Series(months).value_counts().sort_index(ascending=False)
    cumulative = per_month.cumsum() / per_month.sum()
    latest = cumulative.index[: min(int(np.searchsorted(cumulative.values, share) + 1), len(per_month) - 1)]
    return pd.Series(months.isin(latest), index=obs_dates.index)


def time_parts(
    obs_dates: pd.Series,
    bad: pd.Series,
    gap_days: int = HORIZON_DAYS,
    test_share: float = TEST_SHARE,
    stop_share: float = STOP_SHARE,
) -> pd.Series:
    """Each loan's part, by its disbursement date: `test` (the latest whole months, about `test_share` of the loans),
    `stop` (early stopping and calibration: the latest months, about `stop_share`, of the loans disbursed at least
    `gap_days`, the outcome horizon, before the first test loan), `fit` (disbursed `gap_days` or more before the first
    stop loan) and `gap` (used for nothing). Three parts need fit and stop to hold both outcomes (`bad`) and fit at
    least as many loans as stop; when the history cannot give that, there is no test: `stop` is the latest months
    (`stop_share`) and `fit` the rest, so every figure is in-sample."""
    dates = pd.to_datetime(obs_dates)
    months = dates.dt.to_period("M").nunique()
    if months < 2:
        raise ModelError(f"need loans disbursed in at least two months for a time-based split, got {months}")
    parts = pd.Series(GAP, index=obs_dates.index)
    test = latest_months(obs_dates, test_share)
    before_test = dates <= dates[test].min() - pd.Timedelta(days=gap_days)
    if dates[before_test].dt.to_period("M").nunique() > 1:
        stop = latest_months(obs_dates[before_test], stop_share).reindex(obs_dates.index, fill_value=False)
        fit = dates <= dates[stop].min() - pd.Timedelta(days=gap_days)
        if bad[fit].nunique() == bad[stop].nunique() == 2 and fit.sum() >= stop.sum():
            return parts.mask(fit, FIT).mask(stop, STOP).mask(test, TEST)
    stop = latest_months(obs_dates, stop_share)
    if bad[stop].nunique() < 2 or bad[~stop].nunique() < 2:
        raise ModelError(
            f"the latest {int(stop.sum())} loans (to stop and calibrate on) or the {int((~stop).sum())} before them "
            "(to fit on) hold one outcome only: no model can be fitted and calibrated on them yet"
        )
    return parts.mask(~stop, FIT).mask(stop, STOP)


def has_test(parts: pd.Series) -> bool:
    return bool((parts == TEST).any())


def booster_params(spec: FeatureSpec) -> dict:
    """PARAMS with the feature contract's monotone directions, in `spec`'s feature order."""
    return {**PARAMS, "monotone_constraints": "(" + ",".join(map(str, spec.monotone)) + ")"}


def local_booster(fitted: pd.DataFrame, stop: pd.DataFrame, spec: FeatureSpec, params: dict):
    """`xgb.train` on the driver: learn on `fitted`, stop early on `stop`."""
    import xgboost as xgb

    dtrain, dvalid = (xgb.DMatrix(p[spec.names], label=p["bad"], feature_names=spec.names) for p in (fitted, stop))
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
        log.warning("no calibration: the margin's slope on the stopping loans is %.3f", platt["slope"])
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


def spark_booster(rows, fit_dates: list[dt.date], stop_dates: list[dt.date], spec: FeatureSpec, params: dict):
    """The same training through `xgboost.spark` on a Spark DataFrame of the same rows (`bad`, `obs_date` and the
    features): it learns on the rows observed on `fit_dates` and stops early on those of `stop_dates`; no other row
    reaches it. Returns the booster and the number of workers."""
    from pyspark.sql import functions as F
    from xgboost.spark import SparkXGBClassifier

    data = rows.where(F.col("obs_date").isin([*fit_dates, *stop_dates])).select(
        *(F.col(n).cast("double") for n in spec.names),
        F.col("bad").cast("int"),
        F.col("obs_date").isin(stop_dates).alias("valid"),
    )
    workers = spark_workers(rows.sparkSession)
    estimator = SparkXGBClassifier(
        features_col=spec.names,
        label_col="bad",
        validation_indicator_col="valid",
        num_workers=workers,
        force_repartition=True,  # every worker gets both fitting and stopping rows
        n_estimators=MAX_ROUNDS,
        early_stopping_rounds=EARLY_STOPPING_ROUNDS,
        verbose=False,
        **spark_estimator_params(params),
    )
    return estimator.fit(data).get_booster(), workers


def fit(frame: pd.DataFrame, spec: FeatureSpec, rows=None) -> tuple[object, dict]:
    """Fit on the `fit` part, stop early and calibrate on the `stop` part, test on the `test` part (`time_parts`);
    returns the booster and its metrics. On the driver with `xgb.train`, or, given `rows` (the same rows as a Spark
    DataFrame), through `xgboost.spark` across the Spark tasks; the metrics come from the booster either way."""
    import xgboost as xgb

    parts = time_parts(frame["obs_date"], frame["bad"])
    params = booster_params(spec)
    fitted, stop, test = (frame[parts == part] for part in (FIT, STOP, TEST))
    if rows is None:
        booster, backend = local_booster(fitted, stop, spec, params), "local"
    else:
        dates = [sorted(set(p["obs_date"])) for p in (fitted, stop)]
        booster, workers = spark_booster(rows, *dates, spec, params)
        backend, params = "spark", {**params, "training_backend": "spark", "num_workers": workers}
    rounds = booster.best_iteration + 1
    dstop = xgb.DMatrix(stop[spec.names], feature_names=spec.names)
    platt = calibrate(booster, booster.predict(dstop, output_margin=True, iteration_range=(0, rounds)), stop["bad"])

    def scored(rows: pd.DataFrame) -> np.ndarray:
        return calibrated_pd(booster, xgb.DMatrix(rows[spec.names], feature_names=spec.names), rounds)

    def measured(rows: pd.DataFrame) -> dict:
        return evaluate(rows["bad"], scored(rows), rows["segment"] if "segment" in rows else None)

    judged = test if has_test(parts) else stop
    metrics = {
        "out_of_time": has_test(parts),
        "parts": {
            part: {"rows": int((parts == part).sum()), "dates": date_range(frame.loc[parts == part, "obs_date"])}
            for part in (FIT, STOP, TEST, GAP)
        },
        "gap_days": HORIZON_DAYS,
        "fit_bad_rate": float(fitted["bad"].mean()),
        "stop": measured(stop),  # in-sample: these loans stopped the boosting and fitted the calibration
        "test": measured(test) if has_test(parts) else None,
        "stability": {  # PSI of the loans it is judged on against those it was fitted on (None: no values to compare)
            "pd": finite(psi(scored(fitted), scored(judged))),
            "features": {n: finite(psi(fitted[n].to_numpy(), judged[n].to_numpy())) for n in spec.names},
        },
        "best_iteration": int(booster.best_iteration),
        "platt": platt,
        "backend": backend,
        "params": params,  # a Spark-trained model's also name the backend, so it gets a version of its own
    }
    return booster, metrics


def finite(value: float) -> float | None:
    return None if np.isnan(value) else value


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


def judged_predictions(spark, settings: Settings, model: RegisteredModel) -> pd.DataFrame:
    """The loans of the registered model's headline figures (`judged_part`) again: `bad` and the model's `pd`."""
    as_of = model.trained_as_of
    frame = training_frame(training_rows(spark, settings, as_of), as_of, model_spec(model))
    judged = frame[time_parts(frame["obs_date"], frame["bad"]) == judged_part(model.metrics)]
    return pd.DataFrame({"bad": judged["bad"].to_numpy(), "pd": predict(model, judged)})


def challenge(champion: RegisteredModel | None, version: str, auc: float | None, judged: pd.DataFrame, margin: float):
    """(promote?, why): a challenger replaces the champion only if its AUC beats the champion's on the same loans
    (the challenger's out-of-time test) by at least `margin`."""
    if champion is None:
        return True, "no champion as of this date"
    rival = champion.model_version
    if rival == version:
        return True, "the champion again: same labels, features and parameters"
    try:
        champion_auc = auc_of(judged["bad"], predict(champion, judged))
    except (ModelError, KeyError) as e:
        return True, f"champion {rival} cannot score tonight's features ({e})"
    if auc is None or champion_auc is None:
        return False, f"champion {rival} kept: the loans compared on hold one class only"
    gain = auc - champion_auc
    verdict = "replaces" if gain >= margin else "does not replace"
    why = f"{verdict} {rival}: AUC {auc:.4f} against {champion_auc:.4f} on the same {len(judged)} loans"
    return gain >= margin, f"{why} (gain {gain:+.4f}, margin {margin})"


def table_version(spark, settings: Settings, fqn: str) -> int:
    """The Delta version a table is at: what a model was trained on, to reproduce it."""
    from delta.tables import DeltaTable

    return DeltaTable.forPath(spark, contract(fqn).path(settings)).history(1).first()["version"]


def fingerprint(frame: pd.DataFrame, features: list[str], params: dict) -> str:
    """What names a model: its training data (loans, labels, features) and parameters. Features count to 6 decimals:
    Spark's sums of doubles differ from run to run in their last bits, and the same data must name the same model."""
    data = frame[["loan_id", "bad", *features]].round(6)
    digest = hashlib.sha256(pd.util.hash_pandas_object(data, index=False).values.tobytes())
    digest.update(json.dumps(params, sort_keys=True).encode())
    return digest.hexdigest()[:10]


def train(spark, settings: Settings, as_of: dt.date) -> RegisteredModel:
    """Train on the labels known at `as_of`, save the booster, register it as champion if it beats the champion as of
    `as_of` on the same out-of-time test (else as a challenger); returns its record."""
    spec = feature_spec()
    rows = training_rows(spark, settings, as_of).persist()  # Spark training reads them again: not the query twice
    try:
        frame = training_frame(rows, as_of, spec)
        booster, metrics = fit(frame, spec, rows if training_backend(settings, len(frame)) == "spark" else None)
    finally:
        rows.unpersist()
    version = f"pd-{as_of.isoformat()}-{fingerprint(frame, spec.names, metrics['params'])}"
    path = Path(settings.model_dir) / f"{version}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    booster.save_model(str(path))
    part = judged_part(metrics)
    promoted, why = challenge(
        champion(spark, settings, as_of),
        version,
        metrics[part]["auc"],
        frame[time_parts(frame["obs_date"], frame["bad"]) == part],
        settings.challenger_margin,
    )
    why = f"{why}; judged on its {JUDGED_ON[part]}"
    model = RegisteredModel(
        model_version=version,
        trained_as_of=as_of,
        algorithm=f"xgboost hist binary:logistic ({metrics['backend']} training)",
        features=spec.names,
        params={**metrics["params"], "rounds": metrics["best_iteration"] + 1},
        training={k: metrics[k] for k in ("out_of_time", "parts", "gap_days", "fit_bad_rate")}
        | {"graph_window_days": settings.graph_window_days},
        metrics={k: metrics[k] for k in ("test", "stop", "stability", "platt")},
        artifact_path=str(path),
        input_versions={fqn: table_version(spark, settings, fqn) for fqn in ("gold.training_set", FEATURE_TABLE)},
        status=CHAMPION if promoted else CHALLENGER,
        decision=why,
    )
    model_card.write(model, spec)
    registry.register(spark, settings, REGISTRY, model)
    log.info("trained %s (%s): %s", version, model.status, why)
    return model


def date_range(dates: pd.Series) -> list[str]:
    """The first and last date (none for no rows)."""
    return [str(dates.min()), str(dates.max())] if len(dates) else []


def summary(model: RegisteredModel) -> dict:
    """A PD model's headline: version, status and why, rows per part, and the figures it is judged by, with what they
    were measured on."""
    part = judged_part(model.metrics)
    judged = model.metrics[part]
    return {
        "model_version": model.model_version,
        "trained_as_of": model.trained_as_of.isoformat(),
        "status": model.status,
        "decision": model.decision,
        **{f"{part}_rows": model.training["parts"][part]["rows"] for part in (FIT, STOP, TEST)},
        "judged_on": JUDGED_ON[part],
        **{k: judged[k] for k in ("auc", "auc_95", "ks", "brier", "ece")},
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
        booster.set_param({"nthread": 1})  # one Spark task per core: each task's booster on both would fight the other
        for batch in batches:
            values = batch[spec.names].astype("float64")
            matrix = xgb.DMatrix(values, feature_names=spec.names, nthread=1)
            pd_ = calibrated_pd(booster, matrix, rounds)
            contributions = booster.predict(matrix, pred_contribs=True, iteration_range=(0, rounds))[:, :-1]
            missing = values.isna().to_numpy()
            drivers = [told(c, m) for c, m in zip(contributions, missing, strict=True)]
            yield batch.assign(pd=pd_.astype("float64"), drivers=drivers)

    return score

"""What grows on each parcel, from its season curve: a multi-class XGBoost model trained on the parcels whose farmers
declared a crop the model knows. It reads the filled curve, the phenology and how closely the parcel's clear
observations follow each crop's template curve (`crop_templates`, learnt from the same labelled parcels).

Trained on a night's season features (every parcel then at the same stage of the season), so a July snapshot is judged
by a model of July curves; retrained on a schedule (`CROP_MODEL_EVERY_DAYS`), and at once when the season or the crop
mix (the crops with enough labelled parcels) changes. The nights between use the registered model.
A labelled parcel's detected crop comes from 5-fold cross-validation: the model that names it never saw its own
declaration, so a wrong declaration shows as a mismatch instead of being learnt; on the nights between, it keeps that
held-out reading (saved with the model), and a parcel the model never learnt from is named by the model. A rerun of a
training night trains again; a night whose new model cannot be trained (too few labelled parcels) keeps the season's.
Accuracy, per-class F1, Cohen's kappa and the confusion matrix of the held-out predictions (against the declared
crops) are recorded with the model in gold.crop_model_registry; the model and templates fitted on every labelled
parcel are saved beside them and name the parcels whose crop nobody declared.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from jobs import registry
from jobs.features import crop_templates
from jobs.features.parcel_season import CURVE_DOYS
from jobs.settings import Settings

REGISTRY = "gold.crop_model_registry"
CROPS_FILE = Path(__file__).with_name("crops.yaml")  # the crops gold.feat_farm can value
KNOWN_CROPS = tuple(yaml.safe_load(CROPS_FILE.read_text())["crops"])
PHENOLOGY = ("green_up_doy", "peak_ndvi", "peak_doy", "senescence_doy", "season_length_days", "ndvi_integral")
FEATURES = tuple(f"ndvi_doy{d}" for d in CURVE_DOYS) + PHENOLOGY
MIN_CLEAR_OBSERVATIONS = 3  # a curve with fewer clear scenes teaches nothing
MIN_PER_CLASS = 5  # a crop with fewer labelled parcels is left out of the model
FOLDS = 5
PARAMS = {"n_estimators": 200, "max_depth": 4, "learning_rate": 0.08, "tree_method": "hist", "n_jobs": 2}
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CropModel:
    """A fitted crop model, as the nights after its training use it."""

    version: str
    trained_as_of: dt.date
    season_year: int
    classes: list[str]
    model: object  # xgboost.XGBClassifier
    templates: crop_templates.Templates
    held_out: pd.DataFrame  # its labelled parcels' held-out readings: parcel_id, detected_crop, its probability


def series(seasons: pd.DataFrame) -> list[tuple[np.ndarray, np.ndarray]]:
    """Each parcel's clear observations (days of year, NDVI)."""
    return [
        (np.asarray(d if d is not None else [], float), np.asarray(v if v is not None else [], float))
        for d, v in zip(seasons["clear_doys"], seasons["clear_ndvi"])
    ]


def design(seasons: pd.DataFrame, templates: crop_templates.Templates) -> pd.DataFrame:
    """The model's matrix: the season curve at CURVE_DOYS, the phenology and the match to each crop's template, as
    floats (NaN where unseen)."""
    curve = pd.DataFrame(
        [list(c) if c is not None else [None] * len(CURVE_DOYS) for c in seasons["ndvi_curve"]],
        columns=FEATURES[: len(CURVE_DOYS)],
        index=seasons.index,
    )
    matched = pd.DataFrame(
        crop_templates.match(series(seasons), templates),
        columns=[f"match_{c}" for c in templates.crops],
        index=seasons.index,
    )
    return pd.concat([curve, seasons[list(PHENOLOGY)], matched], axis=1).astype(float)


def labelled(seasons: pd.DataFrame) -> pd.DataFrame:
    """Parcels with a known declared crop and enough clear scenes, of the crops with at least MIN_PER_CLASS."""
    ok = seasons[seasons["declared_crop"].isin(KNOWN_CROPS) & (seasons["clear_observations"] >= MIN_CLEAR_OBSERVATIONS)]
    counts = ok["declared_crop"].value_counts()
    return ok[ok["declared_crop"].isin(counts[counts >= MIN_PER_CLASS].index)]


def crop_mix(seasons: pd.DataFrame) -> list[str]:
    """The crops a model trained on these seasons would know."""
    return sorted(labelled(seasons)["declared_crop"].unique())


def retrain_reason(current: CropModel | None, seasons: pd.DataFrame, as_of: dt.date, every_days: int) -> str | None:
    """Why the night needs a new crop model, or None when `current` (the newest trained at or before `as_of`) still
    serves."""
    if current is None:
        return "no crop model to serve"
    if current.season_year != int(seasons["season_year"].iloc[0]):
        return "a new season"
    if current.trained_as_of == as_of:  # a rerun of its own night learns from the night's data as it is now
        return f"a rerun of {current.version}'s night"
    if (as_of - current.trained_as_of).days >= every_days:
        return (
            f"{(as_of - current.trained_as_of).days} days since {current.version} (CROP_MODEL_EVERY_DAYS={every_days})"
        )
    mix = crop_mix(seasons)
    if current.classes != mix:
        return f"the crop mix changed: {', '.join(mix) or 'none'} (was {', '.join(current.classes)})"
    return None


def named(seasons: pd.DataFrame, proba: np.ndarray, classes: list[str]) -> pd.DataFrame:
    """Each parcel's detected crop and its probability (none for a parcel with too few clear scenes), and whether its
    declared crop is one the model knows (a mismatch is only told for these)."""
    names = np.array(classes)
    observed = seasons["clear_observations"] >= MIN_CLEAR_OBSERVATIONS
    return pd.DataFrame(
        {
            "parcel_id": seasons["parcel_id"],
            "detected_crop": pd.Series(names[proba.argmax(axis=1)], index=seasons.index).where(observed),
            "detected_crop_probability": pd.Series(proba.max(axis=1), index=seasons.index)
            .astype(object)
            .where(observed, None),
            "declared_in_model": seasons["declared_crop"].isin(classes),
        }
    )


def detect_with(current: CropModel, seasons: pd.DataFrame) -> pd.DataFrame:
    """The detections of a night between trainings: the parcels `current` learnt from keep their held-out readings,
    every other parcel is named by it."""
    x = design(seasons, current.templates)
    detections = named(
        seasons, current.model.predict_proba(x[current.model.get_booster().feature_names]), current.classes
    )
    kept = detections[["parcel_id"]].merge(current.held_out, on="parcel_id", how="left").set_index(detections.index)
    learnt = kept["detected_crop"].notna() & detections["detected_crop"].notna()  # observed enough tonight too
    for column in ("detected_crop", "detected_crop_probability"):
        detections.loc[learnt, column] = kept.loc[learnt, column]
    return detections


def metrics(declared: np.ndarray, detected: np.ndarray, classes: list[str]) -> dict:
    from sklearn.metrics import accuracy_score, cohen_kappa_score, confusion_matrix, f1_score

    return {
        "accuracy": float(accuracy_score(declared, detected)),
        "kappa": float(cohen_kappa_score(declared, detected)),
        "f1": dict(zip(classes, map(float, f1_score(declared, detected, labels=classes, average=None)))),
        "confusion": {"labels": classes, "matrix": confusion_matrix(declared, detected, labels=classes).tolist()},
    }


def fit_and_detect(
    seasons: pd.DataFrame, seed: int = 0
) -> tuple[pd.DataFrame, dict, object, crop_templates.Templates] | None:
    """(detections per parcel: detected_crop, its probability and whether the declared crop is one the model knows;
    metrics; the model and the templates fitted on every labelled parcel)
    or None when fewer than two crops have enough labelled parcels."""
    import xgboost as xgb
    from sklearn.model_selection import StratifiedKFold

    train = labelled(seasons)
    classes = sorted(train["declared_crop"].unique())
    if len(classes) < 2:
        return None
    y = train["declared_crop"].map({c: i for i, c in enumerate(classes)}).to_numpy()
    labels, observed_series = train["declared_crop"].to_numpy(), series(train)
    held_out = np.zeros((len(train), len(classes)))
    folds = StratifiedKFold(min(FOLDS, int(np.bincount(y).min())), shuffle=True, random_state=seed)
    for fit_rows, test_rows in folds.split(train, y):  # templates too are learnt on the fold's own parcels
        templates = crop_templates.learn([observed_series[i] for i in fit_rows], labels[fit_rows])
        fold = xgb.XGBClassifier(**PARAMS, random_state=seed).fit(design(train.iloc[fit_rows], templates), y[fit_rows])
        held_out[test_rows] = fold.predict_proba(design(train.iloc[test_rows], templates))
    templates = crop_templates.learn(observed_series, labels)
    x = design(seasons, templates)  # every parcel's matrix once: the labelled ones train, all are named
    model = xgb.XGBClassifier(**PARAMS, random_state=seed).fit(x.loc[train.index], y)
    proba = pd.DataFrame(model.predict_proba(x), index=seasons.index)
    proba.loc[train.index] = held_out
    detections = named(seasons, proba.to_numpy(), classes)
    names = np.array(classes)
    scores = metrics(train["declared_crop"].to_numpy(), names[held_out.argmax(axis=1)], classes) | {
        "parcels": len(train),
        "classes": classes,
        "features": list(model.get_booster().feature_names),
        "held_out": detections.loc[train.index, ["parcel_id", "detected_crop", "detected_crop_probability"]],
    }
    return detections, scores, model, templates


def saved(settings: Settings, fitted: CropModel, scores: dict, reason: str) -> registry.RegisteredModel:
    """Save the model (its crop templates and held-out readings beside it); returns its registry record (one per
    snapshot date: a rerun replaces it)."""
    artifact = Path(settings.model_dir) / "crop" / f"{fitted.version}.json"
    artifact.parent.mkdir(parents=True, exist_ok=True)
    fitted.model.save_model(artifact)
    fitted.templates.save(artifact.with_suffix(".templates.json"))
    fitted.held_out.to_parquet(artifact.with_suffix(".held_out.parquet"), index=False)
    log.info("crop model %s: accuracy %.3f, kappa %.3f on %d parcels", fitted.version, scores["accuracy"],
             scores["kappa"], scores["parcels"])  # fmt: skip
    return registry.RegisteredModel(
        model_version=fitted.version,
        trained_as_of=fitted.trained_as_of,
        algorithm=f"xgboost hist multi:softprob, crops named by {FOLDS}-fold held-out predictions",
        features=scores["features"],
        params=PARAMS,
        training={"season_year": fitted.season_year, "parcels": scores["parcels"], "classes": fitted.classes},
        metrics={k: scores[k] for k in ("accuracy", "kappa", "f1", "confusion")},
        artifact_path=str(artifact),
        decision=f"trained on the night's season curves: {reason}",
    )


def load(record: registry.RegisteredModel) -> CropModel | None:
    """A registered crop model as the nights after its training use it; None when one of its files is missing (it
    is then trained again)."""
    import xgboost as xgb

    artifact = Path(record.artifact_path)
    files = (artifact, artifact.with_suffix(".templates.json"), artifact.with_suffix(".held_out.parquet"))
    if not all(f.exists() for f in files):
        missing = ", ".join(f.name for f in files if not f.exists())
        log.warning("crop model %s: %s not in %s; training a new one", record.model_version, missing, artifact.parent)
        return None
    model = xgb.XGBClassifier()
    model.load_model(artifact)
    held_out = pd.read_parquet(files[2])
    trained = record.training
    return CropModel(
        record.model_version, record.trained_as_of, int(trained["season_year"]), list(trained["classes"]), model,
        crop_templates.Templates.load(files[1]),
        held_out.reindex(columns=["parcel_id", "detected_crop", "detected_crop_probability"]),
    )  # fmt: skip


def detect(
    seasons: pd.DataFrame, as_of: dt.date, current: CropModel | None, every_days: int
) -> tuple[pd.DataFrame, CropModel | None, tuple[dict, str] | None]:
    """(detected crop per parcel of one snapshot (`seasons` with declared_crop); the model that serves the nights after
    it; when one was trained for it, its scores and why). `current` is the newest model trained at or before `as_of`.
    Without enough labelled parcels for a new one, the season's `current` serves on; without one, every detection is
    null."""
    reason = retrain_reason(current, seasons, as_of, every_days)
    if reason is None:
        return detect_with(current, seasons), current, None
    season_year = int(seasons["season_year"].iloc[0])
    found = fit_and_detect(seasons)
    if found is None:
        log.info("crop model as of %s: fewer than two crops with %d labelled parcels", as_of, MIN_PER_CLASS)
        if current is not None and current.season_year == season_year:
            return detect_with(current, seasons), current, None  # the season's last model serves on
        return pd.DataFrame(
            {"parcel_id": seasons["parcel_id"], "detected_crop": None, "detected_crop_probability": None,
             "declared_in_model": False}
        ), current, None  # fmt: skip
    detections, scores, model, templates = found
    fitted = CropModel(f"crop-{as_of.isoformat()}", as_of, season_year, scores["classes"], model, templates,
                       scores["held_out"])  # fmt: skip
    log.info("crop model as of %s: trained, %s", as_of, reason)
    return detections, fitted, (scores, reason)

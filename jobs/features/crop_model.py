"""What grows on each parcel, from its season curve: a multi-class XGBoost model trained on the parcels whose farmers
declared a crop the model knows. It reads the filled curve, the phenology and how closely the parcel's clear
observations follow each crop's template curve (`crop_templates`, learnt from the same labelled parcels).

Trained each night on that night's season features (every parcel then at the same stage of the season), so a July
snapshot is judged by a model of July curves. A parcel's detected crop comes from 5-fold cross-validation: the model
that names it never saw its own declaration, so a wrong declaration shows as a mismatch instead of being learnt.
Accuracy, per-class F1, Cohen's kappa and the confusion matrix of those held-out predictions (against the declared
crops) are recorded with the model in gold.crop_model_registry; the model and templates fitted on every labelled
parcel are saved beside them and name the parcels whose crop nobody declared.
"""

from __future__ import annotations

import datetime as dt
import logging
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
    names = np.array(classes)
    observed = seasons["clear_observations"] >= MIN_CLEAR_OBSERVATIONS
    detections = pd.DataFrame(
        {
            "parcel_id": seasons["parcel_id"],
            "detected_crop": pd.Series(names[proba.to_numpy().argmax(axis=1)], index=seasons.index).where(observed),
            "detected_crop_probability": proba.max(axis=1).astype(object).where(observed, None),
            "declared_in_model": seasons["declared_crop"].isin(classes),  # a mismatch is only told for these
        }
    )
    scores = metrics(train["declared_crop"].to_numpy(), names[held_out.argmax(axis=1)], classes) | {
        "parcels": len(train),
        "classes": classes,
        "features": list(model.get_booster().feature_names),
    }
    return detections, scores, model, templates


def saved(settings: Settings, as_of: dt.date, season_year: int, scores: dict, model, templates):
    """Save the model (its crop templates beside it); returns its registry record (one per snapshot date: a rerun
    replaces it)."""
    version = f"crop-{as_of.isoformat()}"
    artifact = Path(settings.model_dir) / "crop" / f"{version}.json"
    artifact.parent.mkdir(parents=True, exist_ok=True)
    model.save_model(artifact)
    templates.save(artifact.with_suffix(".templates.json"))
    log.info("crop model %s: accuracy %.3f, kappa %.3f on %d parcels", version, scores["accuracy"], scores["kappa"],
             scores["parcels"])  # fmt: skip
    return registry.RegisteredModel(
        model_version=version,
        trained_as_of=as_of,
        algorithm=f"xgboost hist multi:softprob, crops named by {FOLDS}-fold held-out predictions",
        features=scores["features"],
        params=PARAMS,
        training={"season_year": season_year, "parcels": scores["parcels"], "classes": scores["classes"]},
        metrics={k: scores[k] for k in ("accuracy", "kappa", "f1", "confusion")},
        artifact_path=str(artifact),
        decision="the night's crop model: trained on that night's season curves",
    )


def detect(seasons: pd.DataFrame, as_of: dt.date):
    """(detected crop per parcel of one snapshot (`seasons` with declared_crop), the model fitted for it: the arguments
    of `saved` after the settings, or None without enough labelled parcels, when every detection is null)."""
    found = fit_and_detect(seasons)
    if found is None:
        log.info("crop model as of %s: fewer than two crops with %d labelled parcels", as_of, MIN_PER_CLASS)
        return pd.DataFrame(
            {"parcel_id": seasons["parcel_id"], "detected_crop": None, "detected_crop_probability": None,
             "declared_in_model": False}
        ), None  # fmt: skip
    detections, scores, model, templates = found
    return detections, (as_of, int(seasons["season_year"].iloc[0]), scores, model, templates)

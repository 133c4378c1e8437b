"""The PD model trained both ways on the same small frame: on the driver (`xgb.train`) and through `xgboost.spark`."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from test_model import synthetic

from jobs.model import pd_model
from jobs.model.metrics import evaluate
from jobs.settings import load_settings


@pytest.fixture(scope="module")
def both(spark):
    frame, spec = synthetic()  # PD driven down by sales (gmv_90d, constraint -1) and up by refunds
    frame.loc[frame.index % 10 == 3, "tenure_months"] = np.nan  # missing values travel both ways
    local = pd_model.fit(frame, spec)
    on_spark = pd_model.fit(frame, spec, spark.createDataFrame(frame))
    return frame, spec, local, on_spark


def pds(booster, frame, spec):
    import xgboost as xgb

    matrix = xgb.DMatrix(frame[spec.names], feature_names=spec.names)
    return booster.predict(matrix, iteration_range=(0, booster.best_iteration + 1))


def test_spark_training_learns_what_local_training_learns(both):
    from scipy.stats import spearmanr

    frame, spec, (local, local_metrics), (booster, metrics) = both
    assert metrics["backend"] == "spark" and local_metrics["backend"] == "local"
    assert metrics["params"]["training_backend"] == "spark" and metrics["params"]["num_workers"] == 2  # local[2]
    assert metrics["parts"] == local_metrics["parts"] and metrics["parts"]["test"]["rows"] == 1200  # the same parts
    assert metrics["test"]["auc"] > 0.7
    assert abs(metrics["test"]["auc"] - local_metrics["test"]["auc"]) < 0.03
    assert 0 < metrics["best_iteration"] < pd_model.MAX_ROUNDS - 1  # stopped early on the stopping rows
    assert spearmanr(pds(booster, frame, spec), pds(local, frame, spec)).statistic > 0.9


def test_spark_trained_booster_keeps_the_monotone_constraints(both):
    frame, spec, _, (booster, _) = both
    bases = frame[spec.names].sample(3, random_state=0)
    for name, direction in zip(spec.names, spec.monotone, strict=True):
        if direction == 0:
            continue
        grid = np.linspace(frame[name].min(), frame[name].max(), 25)
        for _, base in bases.iterrows():
            probe = pd.DataFrame([base] * len(grid))
            probe[name] = grid
            steps = np.diff(pds(booster, probe, spec)) * direction
            assert np.all(steps >= -1e-7), f"{name} (constraint {direction}) moves PD the wrong way"


@pytest.mark.integration
def test_train_on_spark_registers_its_backend_and_scores_like_any_model(spark, settings):
    from pyspark.sql import functions as F

    from jobs import tables

    as_of = dt.date(2026, 6, 30)
    frame, _ = synthetic(n=1200)
    frame["loan_id"] = frame["entity_id"] = [f"E{i:05d}" for i in range(len(frame))]
    loans = spark.createDataFrame(frame.assign(segment="store")).withColumn("label_as_of", F.lit(as_of))
    tables.merge(spark, settings, "gold.training_set", loans)
    features = loans.withColumnRenamed("obs_date", "as_of_date").withColumn("computed_at", F.current_timestamp())
    tables.merge(spark, settings, "gold.feature_vector", features)
    trained = pd_model.train(spark, replace(settings, pd_training_backend="spark"), as_of)
    assert trained.algorithm.endswith("(spark training)")
    assert trained.params["training_backend"] == "spark"
    model = pd_model.current_model(spark, settings, as_of)
    assert model == trained and model.status == "champion"
    judged = pd_model.judged_predictions(spark, settings, model)  # the saved booster, read back as scoring does
    assert len(judged) == trained.training["parts"]["test"]["rows"] == 300  # out of time: the latest 12 months
    assert evaluate(judged["bad"], judged["pd"])["auc"] == pytest.approx(trained.metrics["test"]["auc"])


def test_the_backend_setting():
    def backend(rows, **env):
        return pd_model.training_backend(load_settings(env), rows)

    assert backend(10_000) == "local" and backend(2_000_000) == "spark"  # auto, at PD_SPARK_TRAINING_ROWS
    assert backend(10, PD_TRAINING_BACKEND="spark") == "spark"
    assert backend(10**9, PD_TRAINING_BACKEND="local") == "local"
    assert backend(500, PD_SPARK_TRAINING_ROWS="500") == "spark"
    with pytest.raises(ValueError, match="PD_TRAINING_BACKEND"):
        load_settings({"PD_TRAINING_BACKEND": "gpu"})

"""gold.preapproved_limits: every known entity scored with the current PD model, then the limit policy."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import ArrayType, DoubleType, StringType, StructField, StructType

from jobs import tables
from jobs.errors import ContractError, ModelError
from jobs.ingest.outcomes import delinquent_entities
from jobs.model import pd_model
from jobs.model.limit_policy import Policy, apply_policy, load_policy
from jobs.quality import validate
from jobs.registry import RegisteredModel
from jobs.settings import Settings


def scoring_frame(vectors: DataFrame, loan_events: DataFrame, as_of: dt.date) -> DataFrame:
    """Every borrower's feature vector as of `as_of` (the vectors hold every borrower registered by then), and
    `overdue`: whether it has a loan past due then."""
    overdue = delinquent_entities(loan_events, as_of).withColumn("overdue", F.lit(True))
    return (
        vectors.where(F.col("as_of_date") == F.lit(as_of))
        .drop("as_of_date", "computed_at")
        .join(overdue, "entity_id", "left")
        .fillna(False, ["overdue"])
    )


def decide(booster_json: bytearray, spec: pd_model.FeatureSpec, rounds: int, policy: Policy):
    """A pandas-batch function: each business's PD and drivers (`pd_model.predict_with_drivers`), then the limit
    policy. The night runs it with mapInPandas; one business on demand calls it on its own row."""
    predict = pd_model.predict_with_drivers(booster_json, spec, rounds)

    def run(batches):
        for scored in predict(batches):
            yield apply_policy(scored, policy)

    return run


DECIDED = [  # the columns `decide` adds
    StructField("pd", DoubleType()),
    StructField("drivers", ArrayType(StringType())),
    StructField("monthly_capacity", DoubleType()),
    StructField("reason_codes", ArrayType(StringType())),
    StructField("decision", StringType()),
    StructField("limit_amount", DoubleType()),
    StructField("currency", StringType()),
    StructField("policy_version", StringType()),
]


def limits(frame: DataFrame, model: RegisteredModel, spec: pd_model.FeatureSpec, as_of: dt.date) -> DataFrame:
    booster_json = bytearray(Path(model.artifact_path).read_bytes())
    fn = decide(booster_json, spec, pd_model.rounds(model), load_policy())
    return (
        frame.mapInPandas(fn, StructType([*frame.schema.fields, *DECIDED]))
        .withColumn("limit_amount", F.col("limit_amount").cast("decimal(18,2)"))
        .withColumn("as_of_date", F.lit(as_of))
        .withColumn("model_version", F.lit(model.model_version))
        .withColumn("scored_at", F.current_timestamp())
    )


def run(spark, settings: Settings, as_of: dt.date) -> int:
    """Score every entity as of `as_of`, gate the result, replace that date's limits; returns rows written."""
    if (policy_currency := load_policy().currency) != settings.reporting_currency:
        raise ContractError(
            f"the limit policy's amounts are in {policy_currency}, the lakehouse's in {settings.reporting_currency} "
            "(REPORTING_CURRENCY): set one to the other"
        )
    vectors = tables.read(spark, settings, pd_model.FEATURE_TABLE)
    if vectors.where(F.col("as_of_date") == F.lit(as_of)).limit(1).count() == 0:
        raise ModelError(
            f"{pd_model.FEATURE_TABLE} has no snapshot as of {as_of}: run `helicopter features --as-of {as_of}`"
        )
    model = pd_model.current_model(spark, settings, as_of)
    trained_window = model.training.get("graph_window_days", Settings.graph_window_days)  # older models: the default
    if trained_window != settings.graph_window_days:
        raise ModelError(
            f"{model.model_version} learnt from graph features over {trained_window} days, GRAPH_WINDOW_DAYS is "
            f"{settings.graph_window_days}: retrain (`helicopter train --as-of {as_of}`) or set it back"
        )
    frame = scoring_frame(vectors, tables.read(spark, settings, "silver.loan_events"), as_of)
    result = limits(frame, model, pd_model.model_spec(model), as_of).persist()
    validate(result, "gold.preapproved_limits")  # table-level: a failure stops the run before anything is written
    tables.replace_where(spark, settings, "gold.preapproved_limits", result, f"as_of_date = '{as_of.isoformat()}'")
    result.unpersist()
    return tables.read(spark, settings, "gold.preapproved_limits").where(F.col("as_of_date") == F.lit(as_of)).count()

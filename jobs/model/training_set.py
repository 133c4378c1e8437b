"""gold.training_set: loans whose 12-month outcome window had closed by the training date, labelled bad or good.

The snapshot of a loan is its disbursement date (obs_date); features are read as of obs_date, so no feature can
see the outcome window. Only events known by `label_as_of` count.
"""

from __future__ import annotations

import datetime as dt

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from jobs import tables
from jobs.features import feature_vector
from jobs.settings import Settings

HORIZON_DAYS = 365  # "bad": 90+ days past due within 12 months after the snapshot


def labelled_loans(events: DataFrame, label_as_of: dt.date, horizon_days: int = HORIZON_DAYS) -> DataFrame:
    """silver.loan_events -> one row per matured loan: (label_as_of, loan_id, entity_id, obs_date, bad)."""
    known = events.where(F.col("event_date") <= F.lit(label_as_of))
    disbursed = known.where("event_type = 'disbursed'").select(
        "loan_id", "entity_id", F.col("event_date").alias("obs_date")
    )
    matured = disbursed.where(F.col("obs_date") <= F.date_sub(F.lit(label_as_of), horizon_days))
    first_dpd90 = known.where("event_type = 'dpd90'").groupBy("loan_id").agg(F.min("event_date").alias("dpd90_date"))
    in_window = F.col("dpd90_date").isNotNull() & (F.col("dpd90_date") <= F.date_add("obs_date", horizon_days))
    return matured.join(first_dpd90, "loan_id", "left").select(
        F.lit(label_as_of).alias("label_as_of"), "loan_id", "entity_id", "obs_date", in_window.cast("int").alias("bad")
    )


def run(spark, settings: Settings, label_as_of: dt.date) -> int:
    """Write the labels known at `label_as_of` and the feature vectors missing at their obs_dates; returns the
    labelled rows."""
    labels = labelled_loans(tables.read(spark, settings, "silver.loan_events"), label_as_of)
    tables.replace_where(spark, settings, "gold.training_set", labels, f"label_as_of = '{label_as_of.isoformat()}'")
    written = tables.read(spark, settings, "gold.training_set").where(F.col("label_as_of") == F.lit(label_as_of))
    # vectors already assembled (by an earlier night or training) are kept as they were: never recomputed from data
    # that arrived later, and never overwriting the features tonight's limits were scored on
    feature_vector.backfill(
        spark, settings, written.select("entity_id", F.col("obs_date").alias("as_of_date")).distinct()
    )
    return written.count()


def with_features(labels: DataFrame, features: DataFrame) -> DataFrame:
    """Point-in-time join: each labelled loan gets the features as of its obs_date (null where the entity had none)."""
    snapshot = features.withColumnRenamed("as_of_date", "obs_date").drop("computed_at")
    return labels.join(snapshot, ["entity_id", "obs_date"], "left")

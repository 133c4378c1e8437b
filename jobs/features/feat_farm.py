"""gold.parcel_season and gold.feat_farm: each parcel's season, crop and harvest value, and each farmer's sum of them.

Per parcel and snapshot (gold.parcel_season): the season features (`parcel_season`), the crop the night's crop model
detects (`crop_model`), the planted area the pixels measure against the declared one, and the expected harvest value:
the crop's typical yield (crops.yaml) scaled by the parcel's vigour (its peak NDVI against the median of the same crop
in its region that night, clipped to VIGOUR_RANGE), times the measured area, times the crop's price. The crop valued
is the detected one when the model is confident (TRUST_DETECTION), else the declared one. Vigour reads the peak, not
the NDVI integral: while a season is still being observed, the integral also measures when the field was sown and
which days the clouds left clear (on a simulated world, peak NDVI follows a field's true vigour with a rank
correlation of 0.94 to 0.97 within each crop, the integral with 0.58 to 0.89).

Per farmer and snapshot (gold.feat_farm): parcels, areas and their ratio, crop mix by measured area, vigour against
the region, expected harvest value and observation coverage.
"""

from __future__ import annotations

import datetime as dt
from functools import cache

import yaml
from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from jobs import registry, tables
from jobs.features import crop_model, parcel_season
from jobs.settings import Settings
from jobs.tables import in_list

TRUST_DETECTION = 0.6  # a detected crop at least this probable is the one valued
VIGOUR_RANGE = (0.5, 1.5)
OVER_DECLARED = 0.85  # measured / declared area below this flags the parcel as over-declared
REGION_DEGREES = 1.0  # vigour is compared within cells of this many degrees of latitude and longitude


@cache
def load_crops() -> dict:
    return yaml.safe_load(crop_model.CROPS_FILE.read_text())


def table_lookup(column: str, values: dict[str, float]):
    """A Spark column: `values[column]`, null for a key not in `values`."""
    return F.coalesce(*[F.when(F.col(column) == k, F.lit(float(v))) for k, v in values.items()], F.lit(None))


def with_detections(seasons: DataFrame, detections: DataFrame) -> DataFrame:
    known = F.col("declared_crop").isin(*crop_model.KNOWN_CROPS)
    trusted = F.col("detected_crop_probability") >= TRUST_DETECTION
    return (
        seasons.join(detections, ["parcel_id", "as_of_date"], "left")
        .withColumn("valued_crop", F.when(trusted, F.col("detected_crop")).when(known, F.col("declared_crop")))
        .withColumn(
            "crop_mismatch",
            F.coalesce("declared_in_model", F.lit(False))
            & F.col("detected_crop").isNotNull()
            & (F.col("detected_crop") != F.col("declared_crop")),
        )
    )


def valued(seasons: DataFrame, crops: dict) -> DataFrame:
    """Measured area, area ratio, vigour against the region's same crop, expected yield and harvest value."""
    table = crops["crops"]
    observed_enough = F.col("clear_observations") >= crop_model.MIN_CLEAR_OBSERVATIONS
    region = F.concat_ws(
        ":", F.floor(F.col("centroid_lat") / REGION_DEGREES), F.floor(F.col("centroid_lon") / REGION_DEGREES)
    )
    same_crop = Window.partitionBy("as_of_date", "_region", "valued_crop")
    median = F.percentile_approx(F.when(observed_enough, F.col("peak_ndvi")), 0.5).over(same_crop)
    ratio = F.try_divide(F.col("peak_ndvi"), median)
    vigour = F.when(ratio.isNotNull(), F.least(F.greatest(ratio, F.lit(VIGOUR_RANGE[0])), F.lit(VIGOUR_RANGE[1])))
    measured = F.when(observed_enough, F.col("planted_share") * F.col("area_m2_drawn"))
    typical = table_lookup("valued_crop", {c: v["yield_t_per_ha"] for c, v in table.items()})
    price = table_lookup("valued_crop", {c: v["price_per_t"] for c, v in table.items()})
    return (
        seasons.withColumn("_region", region)
        .withColumn("vigour_index", F.when(observed_enough & F.col("valued_crop").isNotNull(), vigour))
        .drop("_region")
        .withColumn("measured_area_m2", measured)
        .withColumn("area_ratio", F.try_divide(F.col("measured_area_m2"), F.col("declared_area_m2")))
        .withColumn("over_declared", F.col("area_ratio") < OVER_DECLARED)
        .withColumn("expected_yield_t_per_ha", typical * F.col("vigour_index"))
        .withColumn("harvest_value", F.col("expected_yield_t_per_ha") * F.col("measured_area_m2") / 10_000 * price)
        .withColumn("currency", F.lit(crops["currency"]))
        .withColumn("crops_version", F.lit(crops["version"]))
    )


def per_farmer(parcels: DataFrame) -> DataFrame:
    """gold.feat_farm rows: each farmer's parcels summed, as of each snapshot (a ratio without a denominator is
    null)."""
    measured = F.col("measured_area_m2").isNotNull()
    total = F.sum("measured_area_m2")

    def share(part, whole):
        return F.try_divide(F.coalesce(part, F.lit(0.0)), whole)

    mix = [
        share(F.sum(F.when(F.col("valued_crop") == c, F.col("measured_area_m2"))), total).alias(f"share_{c}")
        for c in crop_model.KNOWN_CROPS
    ]
    told = F.count(F.when(F.col("declared_in_model") & F.col("detected_crop").isNotNull(), 1))
    vigour_area = F.sum(F.when(F.col("vigour_index").isNotNull(), F.col("measured_area_m2")))
    return (
        parcels.groupBy("entity_id", "as_of_date")
        .agg(
            F.count("*").cast("double").alias("parcels"),
            F.sum("declared_area_m2").alias("declared_area_m2"),
            total.alias("measured_area_m2"),
            F.try_divide(total, F.sum(F.when(measured, F.col("declared_area_m2")))).alias("area_ratio"),
            F.count(F.when(F.col("over_declared"), 1)).cast("double").alias("over_declared_parcels"),
            share(F.count(F.when(F.col("crop_mismatch"), 1)), told).alias("crop_mismatch_share"),
            *mix,
            F.try_divide(F.sum(F.col("vigour_index") * F.col("measured_area_m2")), vigour_area).alias("vigour_index"),
            F.sum("harvest_value").alias("expected_harvest_value"),
            share(F.sum(F.when(measured, F.col("declared_area_m2"))), F.sum("declared_area_m2")).alias(
                "observation_coverage"
            ),
            F.max("season_year").alias("season_year"),
            F.first("crops_version").alias("crops_version"),
        )
        .fillna(0.0, subset=["observation_coverage"])
        .withColumn("computed_at", F.current_timestamp())
    )


def detections(spark, settings: Settings, seasons: DataFrame) -> DataFrame:
    """The crop detected on each parcel of each snapshot date (one row per parcel), by the newest crop model trained
    at or before the date, or by one trained for it (on the driver) when that one is due (`crop_model.retrain_reason`;
    each registered). The seasons are collected once, with the columns the model reads."""
    needed = ["parcel_id", "as_of_date", "season_year", "declared_crop", "clear_observations", "clear_doys",
              "clear_ndvi", "ndvi_curve",
              *crop_model.PHENOLOGY]  # fmt: skip
    registered = registry.records(spark, settings, crop_model.REGISTRY, registry.CHAMPION)  # newest first
    current, frames, trained = None, [], []
    for day, night in seasons.select(*needed).toPandas().groupby("as_of_date"):  # oldest first
        newest = next((r for r in registered if r.trained_as_of <= day), None)
        if newest is not None and (current is None or newest.trained_as_of > current.trained_as_of):
            current = crop_model.load(newest)
        detected, current, scores = crop_model.detect(
            night.reset_index(drop=True), day, current, settings.crop_model_every_days
        )
        frames.append(detected.assign(as_of_date=day))
        if scores is not None:
            trained.append((current, *scores))
    if trained:  # every date's model fitted before any is saved; all registered in one commit
        registry.register(spark, settings, crop_model.REGISTRY, *[crop_model.saved(settings, *t) for t in trained])
    columns = ["parcel_id", "detected_crop", "detected_crop_probability", "declared_in_model", "as_of_date"]
    schema = "parcel_id string, detected_crop string, detected_crop_probability double, declared_in_model boolean"
    schema += ", as_of_date date"
    if not frames:
        return spark.createDataFrame([], schema)
    import pandas as pd

    return spark.createDataFrame(pd.concat(frames)[columns].astype(object).where(lambda f: f.notna(), None), schema)


def snapshots(spark, settings: Settings, as_of_dates: list[dt.date]) -> int:
    """Compute gold.parcel_season and gold.feat_farm for `as_of_dates` (each replaces its own dates); returns the
    feat_farm rows written."""
    dates = sorted(set(as_of_dates))
    snapshots = spark.createDataFrame(
        [(d, parcel_season.season_year(d)) for d in dates], "as_of_date date, season_year int"
    )
    parcels = tables.read(spark, settings, "silver.parcels").select(
        "parcel_id", "entity_id", "declared_crop", "declared_area_m2", "area_m2_drawn", "centroid_lon",
        "centroid_lat", "arrived_date",
    )  # fmt: skip
    observations = tables.read(spark, settings, "silver.parcel_observations")
    seasons = parcel_season.season_features(observations, parcels, snapshots).localCheckpoint()
    found = detections(spark, settings, seasons)
    parcels_valued = seasons.transform(with_detections, found).transform(valued, load_crops())
    parcels_valued = parcels_valued.withColumn("computed_at", F.current_timestamp()).localCheckpoint()
    where = in_list("as_of_date", [d.isoformat() for d in dates])
    tables.replace_where(spark, settings, "gold.parcel_season", parcels_valued, where)
    tables.replace_where(spark, settings, "gold.feat_farm", per_farmer(parcels_valued), where)
    return tables.read(spark, settings, "gold.feat_farm").where(where).count()


def run(spark, settings: Settings, as_of: dt.date) -> int:
    """The night's parcel seasons, crop model and farm features: `snapshots` as of `as_of` alone."""
    return snapshots(spark, settings, [as_of])

"""Farm parcels: GeoJSON FeatureCollections to bronze.parcels (one row per feature), typed to silver.parcels with the
drawn area measured in the plot's UTM zone."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import DoubleType, StringType, StructField, StructType

from jobs.errors import FileProblem
from jobs.ingest.file_units import group_units, read_units
from jobs.ingest.landing import LandingFile
from jobs.ingest.source import Source, blank, reject_reasons

PROPERTIES = ("parcel_id", "entity_id", "declared_crop", "declared_area_m2", "drawn_date")
GEOMETRY_FACTS = StructType(
    [StructField(n, DoubleType()) for n in ("area_m2", "lon", "lat")] + [StructField("problem", StringType())]
)


def as_text(value) -> str | None:
    """A property as bronze keeps it: strings as they are, other JSON values as JSON text."""
    return value if isinstance(value, str) or value is None else json.dumps(value)


def positions(coordinates) -> Iterator[list]:
    """Every position ([x, y, ...]) in a GeoJSON geometry's nested coordinates."""
    if isinstance(coordinates, list) and coordinates and all(isinstance(c, int | float) for c in coordinates):
        yield coordinates
    elif isinstance(coordinates, list):
        for part in coordinates:
            yield from positions(part)


def outside_lonlat(geometry: dict) -> tuple[float, float] | None:
    """The first position outside [-180, 180] x [-90, 90] in a GeoJSON geometry, or None."""
    for x, y, *_ in positions(geometry.get("coordinates")):
        if abs(x) > 180.0 or abs(y) > 90.0:
            return x, y
    return None


def read_feature_collection(unit: dict) -> list[dict]:
    """One bronze row per feature of a GeoJSON FeatureCollection; FileProblem when the file is not one, or when any
    coordinate is not a longitude and latitude in degrees (a projected CRS: wrong_crs)."""
    path = Path(unit["folder"]) / f"{unit['unit']}.geojson"
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise FileProblem(f"not GeoJSON: {e}") from None
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection" or not isinstance(doc.get("features"), list):
        raise FileProblem("not GeoJSON: not a FeatureCollection with a features list")
    rows = []
    for feature in doc["features"]:
        if not isinstance(feature, dict) or not isinstance(feature.get("properties"), dict):
            rows.append({"_corrupt_record": json.dumps(feature)[:10_000]})
            continue
        geometry = feature.get("geometry")
        if isinstance(geometry, dict) and (xy := outside_lonlat(geometry)) is not None:
            raise FileProblem(
                f"wrong CRS: coordinate ({xy[0]:.6g}, {xy[1]:.6g}) lies outside [-180, 180] x [-90, 90];"
                " RFC 7946 wants EPSG:4326 degrees"
            )
        props = feature["properties"]
        rows.append(
            {
                **{name: as_text(props.get(name)) for name in PROPERTIES},
                "geometry": None if geometry is None else json.dumps(geometry, separators=(",", ":")),
            }
        )
    return rows


def read_parcels(spark, files: list[LandingFile], run_id: str, max_bytes: int) -> DataFrame:
    """A `Source.read`: every feature of the batch's GeoJSON files, read on the executors."""
    units = group_units(files, (".geojson",))
    return read_units(spark, units, read_feature_collection, "bronze.parcels", run_id, max_bytes)


def utm_epsg(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """EPSG code of the WGS 84 / UTM zone holding each point (326zz north, 327zz south)."""
    zone = np.floor((lon + 180.0) / 6.0).astype(int) % 60 + 1
    return np.where(lat >= 0, 32600, 32700) + zone


def geometry_facts(geojson: pd.Series) -> pd.DataFrame:
    """Per GeoJSON polygon (EPSG:4326): its area in square metres in the UTM zone of its centroid, the centroid's
    longitude and latitude, and `problem` when it is not a valid simple polygon."""
    import rasterio.warp
    import shapely

    geoms = shapely.from_geojson(geojson.fillna("null").to_numpy(), on_invalid="ignore")
    polygon = shapely.get_type_id(geoms) == 3  # Polygon (a missing geometry: -1)
    valid = polygon & shapely.is_valid(geoms) & (shapely.get_num_interior_rings(geoms) == 0)
    problem = np.full(len(geoms), None, dtype=object)
    problem[~valid] = "invalid polygon (self-intersecting or with holes)"
    problem[~polygon] = "not a Polygon geometry"
    area, lon, lat = (np.full(len(geoms), np.nan) for _ in range(3))
    if valid.any():
        centroids = shapely.centroid(geoms[valid])
        lon[valid], lat[valid] = shapely.get_x(centroids), shapely.get_y(centroids)
        epsg = utm_epsg(lon[valid], lat[valid])
        projected = geoms[valid].copy()
        for code in np.unique(epsg):
            here = epsg == code
            coords = shapely.get_coordinates(projected[here])
            xs, ys = rasterio.warp.transform("EPSG:4326", f"EPSG:{code}", coords[:, 0], coords[:, 1])
            projected[here] = shapely.set_coordinates(projected[here].copy(), np.column_stack([xs, ys]))
        area[valid] = shapely.area(projected)
    return pd.DataFrame({"area_m2": area, "lon": lon, "lat": lat, "problem": problem})


@F.pandas_udf(GEOMETRY_FACTS)
def geometry_facts_udf(geojson: pd.Series) -> pd.DataFrame:
    return geometry_facts(geojson)


def typed_parcels(bronze: DataFrame) -> DataFrame:
    """Bronze feature rows -> silver.parcels columns, with `_reject_reason` where a field cannot be typed or the
    geometry is not a valid polygon."""
    facts = geometry_facts_udf(F.col("geometry"))
    typed = (
        bronze.withColumn("declared_area_m2", F.expr("try_cast(declared_area_m2 AS DOUBLE)"))
        .withColumn("drawn_date", F.try_to_date(F.col("drawn_date"), "yyyy-MM-dd"))
        .withColumn("_geometry", facts)
        .withColumn("area_m2_drawn", F.round("_geometry.area_m2", 1))
        .withColumn("centroid_lon", F.col("_geometry.lon"))
        .withColumn("centroid_lat", F.col("_geometry.lat"))
        .withColumn("arrived_date", F.col("_dt"))
    )
    return reject_reasons(
        typed,
        {
            "malformed feature": F.col("_corrupt_record").isNotNull(),
            "missing parcel_id": blank("parcel_id"),
            "missing entity_id": blank("entity_id"),
            "missing declared_crop": blank("declared_crop"),
            "unparseable declared_area_m2": F.col("declared_area_m2").isNull(),
            "unparseable drawn_date": F.col("drawn_date").isNull(),
            "missing geometry": F.col("geometry").isNull(),
        },
    ).transform(with_geometry_problem)


def with_geometry_problem(typed: DataFrame) -> DataFrame:
    """Append the geometry's problem (if any) to `_reject_reason`."""
    problem = F.when(F.col("geometry").isNotNull(), F.col("_geometry.problem"))
    reason = F.concat_ws("; ", "_reject_reason", problem)
    return typed.withColumn("_reject_reason", F.when(reason != "", reason)).drop("_geometry")


SOURCE = Source(
    name="parcels",
    silver="silver.parcels",
    typed=typed_parcels,
    entity_columns=("entity_id",),
    read=read_parcels,
)

"""silver.parcel_observations: what each satellite scene sees of each parcel.

Scenes (silver.scenes) and parcels (silver.parcels) are paired where the parcel's box meets the scene's footprint;
the pairs are grouped by scene into chunks of parcels, and each group runs on an executor: it opens the GeoTIFF once,
reads the window its parcels cover, projects each parcel into the scene's CRS, and keeps the pixels whose centres
fall inside it. NDVI comes from the red and near-infrared bands (or a delivered NDVI band), EVI where the blue band
is there too and the bands are reflectances; the scene's mask (SCL or CLM) says which pixels are cloud.

Incremental: only new or re-delivered scenes and new or re-drawn plots are paired, and a pair already observed with
the same GeoTIFF (checksum) and the same drawn plot (geometry checksum) is not read again; a re-delivered scene or a
re-drawn plot is, and replaces its rows (MERGE on the keys). A scene over no plot, or a plot under no scene, is paired
again each night (cheaply: nothing meets).
"""

from __future__ import annotations

import datetime as dt
import json
import math

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import DoubleType, StructField, StructType

from jobs import tables
from jobs.catalog import contract
from jobs.settings import Settings

TABLE = "silver.parcel_observations"
PARCELS_PER_TASK = 500  # parcels one executor task observes in one scene
# A planted pixel is within GREEN_MARGIN of the plot's p90 and greener than halfway from bare soil to it (grass
# strips and fallow ground stay below); counted only when the plot is green (its p90 at least GREEN_P90_NDVI).
BARE_SOIL_NDVI = 0.15
GREEN_MARGIN = 0.12
GREEN_P90_NDVI = 0.5
SCL_NOT_CLEAR = (0, 1, 3, 8, 9, 10, 11)  # no data, defective, shadow, cloud medium / high, cirrus, snow
# Band names by role: Sentinel-2's names, Landsat-8 OLI's where the platform is a Landsat (its B4 is red, B5 NIR).
SENTINEL2_BANDS = {"blue": "B02", "red": "B04", "nir": "B08", "ndvi": "NDVI", "scl": "SCL", "cloud": "CLM"}
LANDSAT_BANDS = {"blue": "B2", "red": "B4", "nir": "B5", "ndvi": "NDVI", "cloud": "CLM"}
BOX = StructType([StructField(n, DoubleType()) for n in ("min_lon", "min_lat", "max_lon", "max_lat")])


def band_roles(platform: str, bands: list[str]) -> dict[str, int]:
    """Role (red, nir, blue, ndvi, scl, cloud) -> 0-based band index, for the roles the scene's bands fill."""
    names = LANDSAT_BANDS if platform.lower().startswith("landsat") else SENTINEL2_BANDS
    return {role: list(bands).index(name) for role, name in names.items() if name in bands}


# ---------------------------------------------------------------------------------------------------------------
# Pixels (numpy, on the executors)


def scene_layers(stack: np.ndarray, roles: dict[str, int], nodata: float, scale: float | None) -> dict:
    """From a (bands, rows, cols) window: `valid` pixels (no band at nodata), `clear` ones (None without a mask),
    and `ndvi` and `evi` (None where the bands do not allow it) as float arrays."""
    data = stack.astype(np.float64)
    valid = ~np.isnan(data).any(axis=0) if np.isnan(nodata) else np.all(stack != nodata, axis=0)
    clear = None
    if "scl" in roles:
        clear = ~np.isin(stack[roles["scl"]], SCL_NOT_CLEAR)
    elif "cloud" in roles:
        clear = stack[roles["cloud"]] == 0
    ndvi = evi = None
    if "ndvi" in roles:
        ndvi = data[roles["ndvi"]] / (scale or 1.0)
    elif {"red", "nir"} <= roles.keys():
        red, nir = data[roles["red"]], data[roles["nir"]]
        with np.errstate(divide="ignore", invalid="ignore"):
            ndvi = np.where(nir + red > 0, (nir - red) / (nir + red), np.nan)
        if "blue" in roles and scale:
            r, n, b = red / scale, nir / scale, data[roles["blue"]] / scale
            with np.errstate(divide="ignore", invalid="ignore"):
                evi = 2.5 * (n - r) / (n + 6.0 * r - 7.5 * b + 1.0)
    return {"valid": valid, "clear": clear, "ndvi": ndvi, "evi": evi}


def pixel_stats(layers: dict, inside: np.ndarray) -> dict:
    """Statistics of the pixels whose centres lie in the parcel (`inside`): counts, cloud-free share, NDVI mean,
    median, p10, p90 over the clear pixels, EVI mean, and the planted (green) pixels."""
    pixels = inside & layers["valid"]
    count = int(pixels.sum())
    clear = pixels if layers["clear"] is None else pixels & layers["clear"]
    n_clear = int(clear.sum())
    row = {
        "pixel_count": count,
        "clear_pixel_count": n_clear if layers["clear"] is not None else None,
        "clear_share": n_clear / count if layers["clear"] is not None and count else None,
    }
    ndvi = layers["ndvi"][clear] if layers["ndvi"] is not None else np.empty(0)
    ndvi = ndvi[np.isfinite(ndvi)]
    if ndvi.size:
        p10, median, p90 = np.percentile(ndvi, [10, 50, 90])
        split = max((BARE_SOIL_NDVI + p90) / 2.0, p90 - GREEN_MARGIN)
        row |= {
            "ndvi_mean": float(ndvi.mean()),
            "ndvi_median": float(median),
            "ndvi_p10": float(p10),
            "ndvi_p90": float(p90),
            "green_pixel_count": int((ndvi > split).sum()) if p90 >= GREEN_P90_NDVI else None,
        }
    evi = layers["evi"][clear] if layers["evi"] is not None else np.empty(0)
    evi = evi[np.isfinite(evi)]
    row["evi_mean"] = float(evi.mean()) if evi.size else None
    return row


def pixel_window(bounds, transform, height: int, width: int) -> tuple[slice, slice]:
    """(rows, cols) of the pixels a box (left, bottom, right, top, in the raster's CRS) covers, clipped to the
    raster."""
    (c0, r0), (c1, r1) = ~transform * (bounds[0], bounds[3]), ~transform * (bounds[2], bounds[1])
    rows = slice(min(max(math.floor(r0), 0), height), min(max(math.ceil(r1), 0), height))
    cols = slice(min(max(math.floor(c0), 0), width), min(max(math.ceil(c1), 0), width))
    return rows, cols


def observe_scene(scene: dict, parcels: pd.DataFrame) -> list[dict]:
    """One row of statistics per parcel of one scene: the scene's GeoTIFF is read once, over the window that holds
    every parcel, and each parcel (GeoJSON, EPSG:4326) is projected into the scene's CRS and masked over its own
    box."""
    import rasterio
    import rasterio.features
    import rasterio.warp
    import rasterio.windows
    import shapely

    shapes = [rasterio.warp.transform_geom("EPSG:4326", scene["crs"], json.loads(g)) for g in parcels["geometry"]]
    bounds = np.array([shapely.geometry.shape(s).bounds for s in shapes])
    with rasterio.open(scene["tif_path"]) as src:
        rows, cols = pixel_window(
            [*bounds[:, :2].min(axis=0), *bounds[:, 2:].max(axis=0)], src.transform, src.height, src.width
        )
        span = rasterio.windows.Window.from_slices(rows, cols)
        stack = src.read(window=span)
        transform = src.window_transform(span)
    layers = scene_layers(stack, band_roles(scene["platform"], scene["bands"]), scene["nodata"], scene["scale"])
    found = []
    for shape, box, parcel in zip(shapes, bounds, parcels.itertuples(index=False)):
        rows, cols = pixel_window(box, transform, *stack.shape[1:])
        part = {k: None if v is None else v[rows, cols] for k, v in layers.items()}
        shape_px = (rows.stop - rows.start, cols.stop - cols.start)
        inside = np.zeros(shape_px, bool)
        if inside.size:
            offset = transform * rasterio.Affine.translation(cols.start, rows.start)
            inside = ~rasterio.features.geometry_mask([shape], shape_px, offset)
        found.append({"parcel_id": parcel.parcel_id} | pixel_stats(part, inside))
    return found


# ---------------------------------------------------------------------------------------------------------------
# Pairs and groups (Spark)


@F.pandas_udf(BOX)
def scene_box(crs: pd.Series, bounds: pd.Series) -> pd.DataFrame:
    """A scene's footprint as a longitude / latitude box."""
    import rasterio.warp

    boxes = [rasterio.warp.transform_bounds(c, "EPSG:4326", *b) for c, b in zip(crs, bounds)]
    return pd.DataFrame(boxes, columns=BOX.fieldNames())


@F.pandas_udf(BOX)
def parcel_box(geometry: pd.Series) -> pd.DataFrame:
    """A parcel's longitude / latitude box."""
    import shapely

    return pd.DataFrame(shapely.bounds(shapely.from_geojson(geometry.to_numpy())), columns=BOX.fieldNames())


def scene_parcel_pairs(scenes: DataFrame, parcels: DataFrame) -> DataFrame:
    """Every (scene, parcel) whose boxes meet, with what observing the parcel in the scene needs."""
    s = scenes.select(
        "scene_id", "tif_path", "tif_checksum", "crs", "platform", "bands", "scale", "nodata", "acquisition_date",
        F.col("arrived_date").alias("scene_arrived_date"), scene_box("crs", "bounds").alias("s_box"),
    )  # fmt: skip
    p = parcels.select(
        "parcel_id", "entity_id", "geometry", F.sha2("geometry", 256).alias("geometry_checksum"),
        F.col("arrived_date").alias("parcel_arrived_date"), parcel_box("geometry").alias("p_box"),
    )  # fmt: skip
    meet = (
        (F.col("p_box.min_lon") <= F.col("s_box.max_lon"))
        & (F.col("p_box.max_lon") >= F.col("s_box.min_lon"))
        & (F.col("p_box.min_lat") <= F.col("s_box.max_lat"))
        & (F.col("p_box.max_lat") >= F.col("s_box.min_lat"))
    )
    # An observation is known once both the scene and the plot have arrived.
    arrived = F.greatest("scene_arrived_date", "parcel_arrived_date").alias("arrived_date")
    return s.join(p, meet).select("*", arrived).drop("s_box", "p_box", "scene_arrived_date", "parcel_arrived_date")


def new_deliveries(scenes: DataFrame, parcels: DataFrame, observed: DataFrame) -> tuple[DataFrame, DataFrame]:
    """The scenes and the plots (with `geometry_checksum`) that were never observed as they are now: new or
    re-delivered scene files, new or re-drawn plots."""
    seen_scenes = observed.select("scene_id", "tif_checksum").distinct()
    seen_plots = observed.select("parcel_id", "geometry_checksum").distinct()
    new_scenes = scenes.join(seen_scenes, ["scene_id", "tif_checksum"], "left_anti")
    new_plots = parcels.withColumn("geometry_checksum", F.sha2("geometry", 256)).join(
        seen_plots, ["parcel_id", "geometry_checksum"], "left_anti"
    )
    return new_scenes, new_plots


def candidate_pairs(scenes: DataFrame, parcels: DataFrame, new_scenes: DataFrame, new_plots: DataFrame) -> DataFrame:
    """The pairs a night has to look at: new scenes x every parcel, and every scene x new plots, so the footprint join
    grows with the night's deliveries, not with the archive."""
    pairs = scene_parcel_pairs(new_scenes, parcels).unionByName(
        scene_parcel_pairs(scenes, new_plots.drop("geometry_checksum"))
    )
    return pairs.dropDuplicates(["scene_id", "parcel_id"])


def not_observed(pairs: DataFrame, observed: DataFrame) -> DataFrame:
    """The pairs whose scene file or drawn plot differs from what was observed before (or never was)."""
    keys = ["scene_id", "parcel_id", "tif_checksum", "geometry_checksum"]
    return pairs.join(observed.select(*keys), keys, "left_anti")


def observation_schema() -> StructType:
    return StructType([f for f in contract(TABLE).struct_type().fields if f.name != "observed_at"])


def observe(pairs: DataFrame) -> DataFrame:
    """The pairs grouped by scene into chunks of PARCELS_PER_TASK parcels, each observed on an executor."""
    from pyspark.sql import Window

    by_scene = Window.partitionBy("scene_id").orderBy("parcel_id")
    ranked = pairs.withColumn("_chunk", F.floor((F.row_number().over(by_scene) - 1) / PARCELS_PER_TASK))
    schema = observation_schema()
    scene_fields = ["scene_id", "tif_path", "tif_checksum", "crs", "platform", "bands", "scale", "nodata"]
    carried = ["entity_id", "acquisition_date", "arrived_date"]

    def observe_group(group: pd.DataFrame) -> pd.DataFrame:
        first = group.iloc[0]
        scene = {f: first[f] for f in scene_fields} | {"bands": list(first["bands"])}
        scene["scale"] = None if pd.isna(first["scale"]) else float(first["scale"])  # a null scale arrives as NaN
        stats = pd.DataFrame(observe_scene(scene, group))
        out = group[["parcel_id", "geometry_checksum", *carried]].merge(stats, on="parcel_id")
        out = out.assign(scene_id=first["scene_id"], tif_checksum=first["tif_checksum"])
        counts = ["pixel_count", "clear_pixel_count", "green_pixel_count"]
        return out.reindex(columns=schema.fieldNames()).astype(dict.fromkeys(counts, "Int64"))

    return (
        ranked.groupBy("scene_id", "_chunk")
        .applyInPandas(observe_group, schema)
        .withColumn("observed_at", F.current_timestamp())
    )


def run(spark, settings: Settings, as_of: dt.date | None = None) -> int:
    """Observe every (scene, parcel) pair not observed yet (or whose scene or plot changed), whatever the night
    (`as_of`) is; returns rows written."""
    scenes = tables.read(spark, settings, "silver.scenes")
    parcels = tables.read(spark, settings, "silver.parcels")
    observed = tables.read(spark, settings, TABLE)
    new_scenes, new_plots = new_deliveries(scenes, parcels, observed)
    if new_scenes.isEmpty() and new_plots.isEmpty():  # nothing delivered since: no footprint join, no Python worker
        return 0
    todo = not_observed(candidate_pairs(scenes, parcels, new_scenes, new_plots), observed).localCheckpoint()
    rows = todo.count()
    if rows:
        tables.merge(spark, settings, TABLE, observe(todo).localCheckpoint())
    return rows

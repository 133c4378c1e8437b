"""silver.parcel_observations on real satellite data, checked against numpy straight from the source arrays.

The real Sentinel-2 series over Slovenia and the Landsat-8 scene over Parana are adapted to landing files, ingested
through the pipeline into silver.scenes and silver.parcels, and observed by `parcel_observations.run` once for the
module. The expected figures are computed without the project's code: from eo-learn's `.npy` arrays and the source
polygons (EPSG:32633 / EPSG:32621), pixel centres tested with `shapely.contains_xy`. Skips where ../shared/data is
absent.
"""

from __future__ import annotations

import json
import pathlib

import numpy as np
import pandas as pd
import pytest
import rasterio
import rasterio.warp
import shapely
from pyogrio.raw import read as read_vector

from jobs import pipeline, tables
from jobs.adapt.satellite import LANDSAT_SCENE, adapt_satellite
from jobs.settings import load_settings
from jobs.silver import parcel_observations

DATA = pathlib.Path(__file__).resolve().parents[1].parent / "shared" / "data"
PATCH = DATA / "sentinel2_ndvi_slovenia" / "TestEOPatch"
PARANA = DATA / "landsat8_parana"
ENTITY_HEADER = "entity_id,segment,registered_date,city,country,owner_name,owner_id_scheme,owner_id_number,owner_phone"
STATS = ("ndvi_mean", "ndvi_median", "ndvi_p10", "ndvi_p90")

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def lake(spark, tmp_path_factory) -> tuple[pd.DataFrame, pd.DataFrame]:
    """silver.parcel_observations after one ingest and one run (each row with its parcel's declared crop), and
    silver.parcels."""
    if not (DATA / "sentinel2_ndvi_slovenia").is_dir() or not PARANA.is_dir():
        pytest.skip(f"real satellite data not found under {DATA} (it sits beside the project root in CI)")
    tmp = tmp_path_factory.mktemp("observations")
    # the conftest's `settings` is per test; this module ingests once, into a lakehouse of its own made the same way
    settings = load_settings({"LAKEHOUSE_ROOT": str(tmp / "lakehouse"), "SPARK_SHUFFLE_PARTITIONS": "2"})
    adapt_satellite(DATA, tmp)
    landing = tmp / "landing"
    features = [f for p in landing.glob("parcels/*/*.geojson") for f in json.loads(p.read_text())["features"]]
    farmers = sorted({f["properties"]["entity_id"] for f in features})  # the adapter's farmers, registered first
    registry = landing / "entities" / "dt=2015-01-01" / "farmers.csv"
    registry.parent.mkdir(parents=True)
    registry.write_text("\n".join([ENTITY_HEADER, *(f"{e},farmer,2015-01-01,,,,,," for e in farmers)]) + "\n")

    counts = {
        c["source"]: c for c in pipeline.ingest(str(landing), ["entities", "parcels", "tiles"], settings=settings)
    }
    assert counts["parcels"]["accepted"] == len(features) and counts["tiles"]["accepted"] == 69
    assert counts["parcels"]["quarantined"] == counts["tiles"]["quarantined"] == 0

    written = parcel_observations.run(spark, settings)
    assert parcel_observations.run(spark, settings) == 0  # incremental: nothing changed, nothing is read again
    parcels = tables.read(spark, settings, "silver.parcels").select("parcel_id", "declared_crop", "geometry")
    parcels = parcels.toPandas()
    rows = tables.read(spark, settings, "silver.parcel_observations").toPandas()
    rows = rows.merge(parcels[["parcel_id", "declared_crop"]], on="parcel_id", validate="many_to_one")
    assert written == len(rows)
    return rows, parcels


def source_polygons(path: pathlib.Path, field: str) -> tuple[np.ndarray, np.ndarray]:
    """The polygons of a vector file, in its own CRS, and one attribute of each."""
    info, _, geometry, fields = read_vector(path, columns=[field])
    return shapely.from_wkb(geometry), dict(zip(info["fields"], fields))[field]


def source_polygon(geojson: str, crs: str, polygons: np.ndarray) -> int:
    """Index of the source polygon an ingested parcel (GeoJSON, EPSG:4326) was drawn from: the one it matches, to
    within the 1e-7 degree rounding of its vertices."""
    drawn = shapely.geometry.shape(rasterio.warp.transform_geom("EPSG:4326", crs, json.loads(geojson)))
    overlap = shapely.area(shapely.intersection(polygons, drawn)) / shapely.area(shapely.union(polygons, drawn))
    best = int(np.argmax(overlap))
    assert overlap[best] > 0.99, (overlap[best], drawn.area)  # 0.9988 for the smallest, of 38 m2
    return best


def pixel_centres(transform, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    cols, rows = np.meshgrid(np.arange(width) + 0.5, np.arange(height) + 0.5)
    return transform.c + cols * transform.a, transform.f + rows * transform.e


def expected_slovenia(parcels: pd.DataFrame) -> pd.DataFrame:
    """Per (scene, parcel) of the Slovenian series: pixel and clear counts and NDVI statistics from eo-learn's arrays
    (float32 NDVI, CLM 1 = cloud, IS_DATA) on the 10 m grid of the patch's bbox, inside the land-use polygon each
    parcel was drawn from."""
    ndvi = np.load(PATCH / "data" / "NDVI.npy")[..., 0].astype(np.float64)
    cloud = np.load(PATCH / "mask" / "CLM.npy")[..., 0]
    is_data = np.load(PATCH / "mask" / "IS_DATA.npy")[..., 0].astype(bool)
    stamps = json.loads((PATCH / "timestamps.json").read_text())
    left, bottom, right, top = shapely.geometry.shape(json.loads((PATCH / "bbox.geojson").read_text())).bounds
    _, height, width = ndvi.shape
    grid = rasterio.Affine((right - left) / width, 0, left, 0, -(top - bottom) / height, top)
    x, y = pixel_centres(grid, height, width)
    polygons, land_use = source_polygons(PATCH / "vector_timeless" / "LULC.gpkg", "LULC_NAME")

    drawn_from = {}
    for p in parcels[parcels.parcel_id.str.startswith("SI-")].itertuples():
        k = source_polygon(p.geometry, "EPSG:32633", polygons)
        assert land_use[k] == p.declared_crop
        drawn_from[p.parcel_id] = k
    assert len(set(drawn_from.values())) == len(drawn_from)  # one source polygon per parcel

    rows = []
    for parcel_id, k in drawn_from.items():
        inside = shapely.contains_xy(polygons[k], x, y)
        for t, stamp in enumerate(stamps):
            pixels = inside & is_data[t]
            clear = pixels & (cloud[t] == 0)
            values = ndvi[t][clear]
            row = {
                "scene_id": f"S2_{pd.Timestamp(stamp):%Y%m%dT%H%M%S}_SI-TestEOPatch",
                "parcel_id": parcel_id,
                "pixel_count": int(pixels.sum()),
                "clear_pixel_count": int(clear.sum()),
            }
            if values.size:
                p10, median, p90 = np.percentile(values, [10, 50, 90])
                row |= {"ndvi_mean": values.mean(), "ndvi_median": median, "ndvi_p10": p10, "ndvi_p90": p90}
            rows.append(row)
    return pd.DataFrame(rows)


def test_sentinel2_observations_match_numpy_on_the_source_arrays(lake):
    """Every (scene, parcel) of the 68 scenes x 21 parcels. Measured: pixel and clear counts equal in 1428 of 1428
    rows, NDVI statistics within 5.0e-5 (the GeoTIFF keeps NDVI x10000 rounded to an integer). A count may still
    differ by a pixel whose centre lies within a centimetre of an edge (the nearest lies 1.1 cm from one), as the
    parcel went through EPSG:4326 at 1e-7 degrees: one such pixel is allowed in a few rows."""
    observed, parcels = lake
    expected = expected_slovenia(parcels)
    assert len(expected) == 68 * 21
    got = observed[observed.parcel_id.str.startswith("SI-")]
    both = expected.merge(got, on=["scene_id", "parcel_id"], how="outer", suffixes=("", "_got"), indicator=True)
    assert (both["_merge"] == "both").all(), both.loc[both["_merge"] != "both", ["scene_id", "parcel_id", "_merge"]]

    for count in ("pixel_count", "clear_pixel_count"):
        off = (both[count] - both[f"{count}_got"].astype(int)).abs()
        assert off.max() <= 1 and (off == 0).mean() >= 0.98, both.loc[off > 0, ["scene_id", "parcel_id", count]]
    exact = both[(both.pixel_count == both.pixel_count_got) & (both.clear_pixel_count == both.clear_pixel_count_got)]
    share = exact.clear_pixel_count / exact.pixel_count
    assert np.allclose(exact.clear_share.astype(float), share, equal_nan=True)
    for stat in STATS:
        want, have = exact[stat].to_numpy(float), exact[f"{stat}_got"].to_numpy(float)
        assert (np.isnan(want) == np.isnan(have)).all(), stat  # null exactly where no pixel is clear
        assert np.nanmax(np.abs(want - have)) <= 2e-4, stat
    assert got.evi_mean.isna().all()  # NDVI delivered, no reflectance bands
    assert (exact.clear_pixel_count > 0).mean() > 0.5


def season_levels(observed: pd.DataFrame) -> pd.DataFrame:
    """Per Slovenian parcel: the median of its clear observations' NDVI medians in summer (June to August) and in
    winter (December to February), and the seasonal amplitude, summer - winter."""
    clear = observed[observed.parcel_id.str.startswith("SI-") & (observed.clear_share >= 0.8)].dropna(
        subset=["ndvi_median"]
    )
    month = pd.to_datetime(clear.acquisition_date).dt.month
    season = np.select([month.isin([6, 7, 8]), month.isin([12, 1, 2])], ["summer", "winter"], "")
    levels = clear[season != ""].pivot_table(
        index=["parcel_id", "declared_crop"], columns=season[season != ""], values="ndvi_median", aggfunc="median"
    )
    return levels.assign(amplitude=levels.summer - levels.winter).reset_index(level="declared_crop")


def test_cultivated_land_grassland_and_forest_separate_in_their_season_curves(lake):
    """Season curves of the land-use classes from silver.parcel_observations: clear observations (clear_share
    >= 0.8) of 4 cultivated land parcels (only 11 pixels between them: 1, 1, 2 and 7), 12 grassland and 4 forest
    (one grassland parcel is smaller than a pixel). Per parcel, the median NDVI level in summer (June-August) and
    winter (December-February); per class the median over its parcels. Measured, in 2015-2017:

        class            summer  winter  amplitude
        cultivated land   0.611   0.172   0.457
        grassland         0.673   0.173   0.528
        forest            0.715   0.387   0.328

    Forest is the greenest in summer and stays green in winter (every forest parcel's winter level, 0.369 at least,
    is above every other parcel's, 0.264 at most), so its seasonal amplitude is the smallest. Cultivated land is
    the least green in summer. Its amplitude is not the largest here: grassland falls as low in winter and rises
    higher in summer."""
    levels = season_levels(lake[0])
    assert levels.groupby("declared_crop").size().to_dict() == {"cultivated land": 4, "forest": 4, "grassland": 12}
    by_class = levels.groupby("declared_crop")[["summer", "winter", "amplitude"]].median()
    forest, grass, crop = (by_class.loc[c] for c in ("forest", "grassland", "cultivated land"))
    assert forest.summer >= grass.summer + 0.02 and grass.summer >= crop.summer + 0.03
    assert forest.winter >= max(grass.winter, crop.winter) + 0.15
    assert forest.amplitude + 0.08 <= min(grass.amplitude, crop.amplitude)
    woods = levels.declared_crop == "forest"
    assert levels[woods].winter.min() >= levels[~woods].winter.max() + 0.05


def test_landsat_parcel_counts_its_pixels_and_has_no_ndvi_or_mask(lake):
    """Parana's crop polygon over the Landsat-8 scene (blue, green, red; no near-infrared, no mask): its pixel
    count is numpy's over the source TIFs (fill 0 left out; 192 pixels, none of them fill), every NDVI, EVI and
    clear-sky figure null."""
    observed, parcels = lake
    [row] = observed[observed.parcel_id.str.startswith("PR-")].itertuples()
    assert row.scene_id == LANDSAT_SCENE and row.declared_crop == "unknown"
    bands = []
    for name in ("B2", "B3", "B4"):
        with rasterio.open(PARANA / f"{LANDSAT_SCENE}_{name}.TIF") as src:
            bands.append(src.read(1))
            transform, crs = src.transform, src.crs
    x, y = pixel_centres(transform, *bands[0].shape)
    polygons, names = source_polygons(PARANA / f"{LANDSAT_SCENE}_polygons.gpkg", "name")
    [geometry] = parcels.loc[parcels.parcel_id == row.parcel_id, "geometry"]
    k = source_polygon(geometry, f"EPSG:{crs.to_epsg()}", polygons)
    assert names[k] == "crop"
    inside = shapely.contains_xy(polygons[k], x, y)
    assert row.pixel_count == int((inside & np.all(np.stack(bands) != 0, axis=0)).sum()) > 100
    assert all(pd.isna(getattr(row, c)) for c in ("clear_pixel_count", "clear_share", *STATS, "evi_mean"))
    assert pd.isna(row.green_pixel_count)

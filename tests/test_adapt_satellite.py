"""Real Sentinel-2 and Landsat-8 data written as landing tiles and parcels. Skips where ../shared/data is absent."""

from __future__ import annotations

import json
import pathlib
from collections import Counter

import numpy as np
import pytest
import rasterio
import rasterio.warp
import shapely
from rasterio.crs import CRS

from jobs.adapt.satellite import adapt_satellite

DATA = pathlib.Path(__file__).resolve().parents[1].parent / "shared" / "data"

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def landing(tmp_path_factory) -> tuple[pathlib.Path, dict[str, int]]:
    if not (DATA / "sentinel2_ndvi_slovenia").is_dir() or not (DATA / "landsat8_parana").is_dir():
        pytest.skip(f"real satellite data not found under {DATA} (it sits beside the project root in CI)")
    out = tmp_path_factory.mktemp("adapted")
    return out, adapt_satellite(DATA, out)


def scenes(out: pathlib.Path, pattern: str) -> list[tuple[pathlib.Path, dict]]:
    return [
        (tif, json.loads(tif.with_suffix(".json").read_text()))
        for tif in sorted(out.glob(f"landing/tiles/*/{pattern}"))
    ]


def parcels(out: pathlib.Path, prefix: str) -> list[dict]:
    found = []
    for path in sorted(out.glob("landing/parcels/dt=*/*.geojson")):
        doc = json.loads(path.read_text())
        assert doc["type"] == "FeatureCollection"
        found += [f for f in doc["features"] if f["properties"]["parcel_id"].startswith(prefix)]
    return found


def assert_parcels_inside(features: list[dict], bounds: list[float], crs, crops: set[str]) -> None:
    """Valid simple EPSG:4326 polygons (longitude, latitude) that lie inside the scene once projected to its CRS,
    each declaring one of `crops`."""
    assert features
    scene = shapely.box(*bounds)
    for f in features:
        lonlat = shapely.geometry.shape(f["geometry"])
        lon_min, lat_min, lon_max, lat_max = lonlat.bounds
        assert lonlat.geom_type == "Polygon" and lonlat.is_valid and lonlat.exterior.is_ccw and not lonlat.interiors
        assert -180 <= lon_min <= lon_max <= 180 and -90 <= lat_min <= lat_max <= 90
        projected = shapely.geometry.shape(rasterio.warp.transform_geom("EPSG:4326", crs, f["geometry"]))
        assert scene.contains(projected)
        assert projected.area == pytest.approx(f["properties"]["declared_area_m2"], rel=1e-3, abs=0.5)
        assert f["properties"]["declared_crop"] in crops


def test_absent_datasets_are_skipped(tmp_path):
    assert adapt_satellite(tmp_path / "nowhere", tmp_path / "out") == {
        "sentinel2_ndvi_slovenia": 0,
        "landsat8_parana": 0,
    }
    assert not (tmp_path / "out").exists()


def test_sentinel2_series_becomes_68_ndvi_tiles_in_its_own_crs(landing):
    out, written = landing
    found = scenes(out, "S2_*.tif")
    assert len(found) == 68 and written["sentinel2_ndvi_slovenia"] == 2 * 68 + 1
    source = np.load(DATA / "sentinel2_ndvi_slovenia" / "TestEOPatch" / "data" / "NDVI.npy")[..., 0]
    clouds = np.load(DATA / "sentinel2_ndvi_slovenia" / "TestEOPatch" / "mask" / "CLM.npy")[..., 0]
    for k, (tif, meta) in enumerate(found):
        with rasterio.open(tif) as src:
            assert src.crs == CRS.from_epsg(32633) == CRS.from_user_input(meta["crs"])
            assert np.allclose(tuple(src.bounds), meta["bounds"]) and src.descriptions == ("NDVI", "CLM")
            assert abs(src.res[0] - 10) < 0.01 and abs(src.res[1] - 10) < 0.01
            ndvi, cloud = src.read()
        assert meta["acquisition_time"].endswith("Z") and tif.parent.name == f"dt={meta['acquisition_time'][:10]}"
        assert np.abs(ndvi / 10_000 - source[k]).max() <= 0.51e-4  # rounded to 1e-4 (float32 input)
        assert (cloud == clouds[k]).all() and meta["cloud_cover"] == pytest.approx(100 * clouds[k].mean(), abs=0.01)


def test_landsat_scene_keeps_its_bands_and_says_there_is_no_near_infrared(landing):
    out, written = landing
    [(tif, meta)] = scenes(out, "LC08_*.tif")
    assert written["landsat8_parana"] == 3
    with rasterio.open(tif) as src:
        assert src.crs == CRS.from_epsg(32621) == CRS.from_user_input(meta["crs"])
        assert src.descriptions == ("B2", "B3", "B4") and src.res == (30.0, 30.0) and src.nodata == 0
        red = src.read(3)
    with rasterio.open(DATA / "landsat8_parana" / f"{tif.stem}_B4.TIF") as original:
        assert (red == original.read(1)).all()
    assert not any("nir" in d.lower() or "near-infrared" in d.lower() for d in meta["band_descriptions"])
    assert meta["cloud_cover"] is None and meta["scale"] is None


def test_parcels_are_valid_lonlat_polygons_inside_their_scene(landing):
    out, _ = landing
    [(_, sentinel)] = scenes(out, "S2_20150711*.tif")
    [(_, landsat)] = scenes(out, "LC08_*.tif")
    slovenia = parcels(out, "SI-")
    # the cultivated land, grassland and forest polygons inside the patch, less four grassland ones with holes
    assert Counter(f["properties"]["declared_crop"] for f in slovenia) == {
        "cultivated land": 4,
        "grassland": 13,
        "forest": 4,
    }
    assert_parcels_inside(slovenia, sentinel["bounds"], "EPSG:32633", {"cultivated land", "grassland", "forest"})
    parana = parcels(out, "PR-")
    assert len(parana) == 1
    assert_parcels_inside(parana, landsat["bounds"], "EPSG:32621", {"unknown"})

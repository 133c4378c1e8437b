"""Simulated farms: drawn parcels, Sentinel-2-like tiles, crop curves, clouds, broken files, determinism. No Spark."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import pathlib

import numpy as np
import pandas as pd
import pytest
import rasterio
import rasterio.features
import rasterio.warp
import shapely
from rasterio.crs import CRS

from simulator.farms import BAD_KINDS, BANDS, CROPS, crop_ndvi, draw_parcels, write_farms

START = dt.date(2025, 1, 1)


def farmers(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "entity_id": [f"E{i + 1:06d}" for i in range(n)],
            "quality": rng.normal(size=n),
            "size": np.clip(rng.lognormal(np.log(2.8), 0.7, n), 0.5, 20.0),
            "registered_date": [START - dt.timedelta(days=int(d)) for d in rng.integers(0, 2000, n)],
        }
    )


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A clean year of 60 farmers."""
    out = tmp_path_factory.mktemp("farms")
    truth, counts = write_farms(farmers(60, 1), START, 365, 0.0, np.random.default_rng(5), out)
    return out, truth.to_pandas(), counts


@pytest.fixture(scope="module")
def broken_world(tmp_path_factory):
    out = tmp_path_factory.mktemp("broken_farms")
    truth, counts = write_farms(farmers(20, 2), START, 150, 0.4, np.random.default_rng(6), out)
    return out, counts


def read_features(path: pathlib.Path) -> list[dict]:
    collection = json.loads(path.read_text(encoding="utf-8"))
    assert collection["type"] == "FeatureCollection"
    return collection["features"]


def scenes(out: pathlib.Path) -> list[tuple[pathlib.Path, dict]]:
    return [
        (tif, json.loads(tif.with_suffix(".json").read_text())) for tif in sorted(out.glob("landing/tiles/*/*.tif"))
    ]


def ndvi(bands: np.ndarray) -> np.ndarray:
    red, nir = bands[0].astype(float), bands[1].astype(float)
    return (nir - red) / (nir + red)


# ---------------------------------------------------------------------------------------------------------------
# Parcels


def test_parcels_are_valid_non_overlapping_lonlat_polygons_in_heilongjiang(world):
    out, truth, _ = world
    files = sorted((out / "landing" / "parcels").glob("dt=*/*.geojson"))
    assert [f.relative_to(out).as_posix() for f in files] == ["landing/parcels/dt=2025-01-01/parcels.geojson"]
    features = read_features(files[0])
    props = pd.DataFrame([f["properties"] for f in features])
    assert list(props.columns) == ["parcel_id", "entity_id", "declared_crop", "declared_area_m2", "drawn_date"]
    assert props["parcel_id"].is_unique and set(props["parcel_id"]) == set(truth["parcel_id"])
    per_farmer = props.groupby("entity_id").size()
    assert len(per_farmer) == 60 and per_farmer.between(1, 4).all()
    assert (pd.to_datetime(props["drawn_date"]).dt.date <= START).all()
    assert set(props["declared_crop"]) <= set(CROPS)
    polygons = np.array([shapely.geometry.shape(f["geometry"]) for f in features])
    assert shapely.is_valid(polygons).all() and (shapely.get_num_coordinates(polygons) == 5).all()
    lon_min, lat_min, lon_max, lat_max = shapely.total_bounds(polygons)
    assert 130 < lon_min < lon_max < 134 and 46 < lat_min < lat_max < 48.5  # the Sanjiang Plain
    tree = shapely.STRtree(polygons)
    left, right = tree.query(polygons, predicate="intersects")
    assert (left == right).all(), "drawn plots overlap"


def test_plots_are_drawn_a_few_metres_off_the_true_field_and_over_declared_ones_claim_more(world):
    out, truth, _ = world
    features = read_features(out / "landing" / "parcels" / "dt=2025-01-01" / "parcels.geojson")
    declared = pd.Series({f["properties"]["parcel_id"]: f["properties"]["declared_area_m2"] for f in features})
    truth = truth.set_index("parcel_id")
    assert np.allclose(declared[truth.index], truth["declared_area_m2"])
    assert truth["area_m2"].between(0.2e4 * 0.45, 8e4).all()
    over = truth["over_declared"]
    assert over.any() and (~over).any()
    assert (truth.loc[over, "declared_area_m2"] > 1.25 * truth.loc[over, "area_m2"]).all()
    honest_ratio = truth.loc[~over, "declared_area_m2"] / truth.loc[~over, "area_m2"]
    assert honest_ratio.between(0.9, 1.1).all()
    fields = shapely.from_wkb(truth["field_wkb_utm"].to_numpy())
    for f in features:  # the drawn plot covers its true (planted) field up to the jitter
        utm = shapely.geometry.shape(rasterio.warp.transform_geom("EPSG:4326", "EPSG:32652", f["geometry"]))
        field = fields[truth.index.get_loc(f["properties"]["parcel_id"])]
        assert shapely.hausdorff_distance(utm, field) < 8 or truth.loc[f["properties"]["parcel_id"], "over_declared"]
        assert field.difference(utm.buffer(6)).area < 1.0


def test_worse_farmers_over_declare_more_often():
    crowd = farmers(5000, 3)
    parcels = draw_parcels(crowd, START, np.random.default_rng(0))
    quality = crowd.set_index("entity_id").loc[parcels["entity_id"], "quality"].to_numpy()
    over = parcels["over_declared"].to_numpy()
    assert 0.07 < over.mean() < 0.15
    assert over[quality < -1].mean() > 2 * over[quality > 1].mean()
    assert parcels["vigour"].corr(pd.Series(quality)) > 0.7


# ---------------------------------------------------------------------------------------------------------------
# Tiles


def test_every_scene_opens_and_agrees_with_its_sidecar(world):
    out, _, counts = world
    assert counts == dict.fromkeys(BAD_KINDS, 0)
    found = scenes(out)
    assert len(found) == len(list(out.glob("landing/tiles/*/*.json"))) == 73  # one tile, every 5 days
    days = sorted({dt.date.fromisoformat(tif.parent.name[3:]) for tif, _ in found})
    assert days == [START + dt.timedelta(days=t) for t in range(0, 365, 5)]
    for tif, meta in found:
        assert meta["scene_id"] == tif.stem and meta["scene_id"].endswith(meta["tile_id"])
        when = dt.datetime.strptime(meta["acquisition_time"], "%Y-%m-%dT%H:%M:%SZ")
        assert when.date().isoformat() == tif.parent.name[3:]
        with rasterio.open(tif) as src:
            bands = src.read()
            assert src.crs == CRS.from_user_input(meta["crs"]) == CRS.from_epsg(32652)
            assert np.allclose(tuple(src.bounds), meta["bounds"])
            assert src.descriptions == BANDS == tuple(meta["bands"])
            assert src.dtypes == ("uint16",) * 3 and src.nodata == 0 and src.res == (10.0, 10.0)
        assert meta["cloud_cover"] == pytest.approx(100 * np.isin(bands[2], (8, 9)).mean(), abs=0.01)


def test_clouds_cover_at_least_30_percent_of_a_scene_on_average_and_look_like_clouds(world):
    out, _, _ = world
    found = scenes(out)
    assert np.mean([meta["cloud_cover"] for _, meta in found]) >= 30
    cloudy, clear = [], []
    for tif, _ in found[::6]:
        with rasterio.open(tif) as src:
            bands = src.read()
        cloudy.append(np.c_[ndvi(bands)[bands[2] == 9], bands[0][bands[2] == 9]])
        clear.append(bands[0][np.isin(bands[2], (4, 5))])
    cloudy = np.concatenate(cloudy)
    assert abs(cloudy[:, 0].mean()) < 0.1 and cloudy[:, 1].mean() > 3500  # bright and flat
    assert np.concatenate(clear).mean() < 1500


def crop_profiles(out: pathlib.Path, truth: pd.DataFrame) -> tuple[list[dt.date], np.ndarray]:
    """Mean NDVI of each crop's clear field pixels on each date (NaN where none), from the tiles."""
    fields = shapely.from_wkb(truth["field_wkb_utm"].to_numpy())
    crop = truth["crop"].map({c: i for i, c in enumerate(CROPS)}).to_numpy()
    days, rows = [], []
    raster = None
    for tif, _ in scenes(out):
        with rasterio.open(tif) as src:
            bands = src.read()
            if raster is None:
                shapes = zip(fields, range(1, len(fields) + 1))
                raster = rasterio.features.rasterize(shapes, out_shape=src.shape, transform=src.transform)
        clear = np.isin(bands[2], (4, 5)) & (raster > 0)
        which = crop[raster[clear] - 1]
        sums = np.bincount(which, ndvi(bands)[clear], len(CROPS))
        n = np.bincount(which, minlength=len(CROPS))
        days.append(dt.date.fromisoformat(tif.parent.name[3:]))
        rows.append(np.where(n >= 20, sums / np.maximum(n, 1), np.nan))
    return days, np.array(rows)


def test_fields_follow_their_crop_curves_and_spring_grains_are_the_confusable_pair(world):
    out, truth, _ = world
    days, observed = crop_profiles(out, truth)
    doy = np.array([d.timetuple().tm_yday for d in days])
    factor = truth["yield_index"].mean()
    designed = np.array([[crop_ndvi(np.array([c]), d, np.array([factor]))[0] for c in range(len(CROPS))] for d in doy])
    seen = ~np.isnan(observed)
    assert seen.sum(axis=0).min() >= 20
    assert np.abs(observed - designed)[seen].mean() < 0.05

    summer = seen.all(axis=1) & (doy >= 195) & (doy <= 235)
    peak_observed, peak_designed = observed[summer].mean(axis=0), designed[summer].mean(axis=0)
    for a, b in itertools.combinations(range(len(CROPS)), 2):
        if abs(peak_designed[a] - peak_designed[b]) > 0.08:
            assert np.sign(peak_observed[a] - peak_observed[b]) == np.sign(peak_designed[a] - peak_designed[b])

    both = seen.all(axis=1)
    distance = {
        (CROPS[a], CROPS[b]): np.sqrt(np.mean((observed[both, a] - observed[both, b]) ** 2))
        for a, b in itertools.combinations(range(len(CROPS)), 2)
    }
    assert min(distance, key=distance.get) == ("spring_wheat", "barley")


# ---------------------------------------------------------------------------------------------------------------
# Bad input and determinism


def read_bad_inputs(out: pathlib.Path) -> dict[str, int]:
    """What a careful reader finds: unreadable GeoTIFFs, tiles whose CRS disagrees with the sidecar, and parcels
    files whose coordinates are not longitudes and latitudes."""
    found = dict.fromkeys(BAD_KINDS, 0)
    for tif, meta in scenes(out):
        try:
            with rasterio.open(tif) as src:
                src.read()
                crs = src.crs
        except rasterio.errors.RasterioError:
            found["tiles.corrupt_geotiff"] += 1
            continue
        found["tiles.wrong_crs"] += crs != CRS.from_user_input(meta["crs"])
    for path in out.glob("landing/parcels/*/*.geojson"):
        coords = np.concatenate([np.array(f["geometry"]["coordinates"][0]) for f in read_features(path)])
        found["parcels.wrong_crs"] += bool((np.abs(coords[:, 0]) > 180).any() or (np.abs(coords[:, 1]) > 90).any())
    return found


def test_bad_input_counts_equal_what_a_reader_finds(broken_world, world):
    out, counts = broken_world
    assert all(counts.values()), counts
    assert read_bad_inputs(out) == counts
    assert all(tif.with_suffix(".json").is_file() for tif in out.glob("landing/tiles/*/*.tif"))
    clean, _, clean_counts = world
    assert read_bad_inputs(clean) == clean_counts == dict.fromkeys(BAD_KINDS, 0)


def file_bytes(out: pathlib.Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def test_same_rng_state_gives_identical_bytes_and_another_seed_differs(tmp_path):
    crowd = farmers(12, 4)
    runs = [(tmp_path / name, seed) for name, seed in (("a", 9), ("b", 9), ("c", 10))]
    truths = [write_farms(crowd, START, 40, 0.2, np.random.default_rng(seed), out)[0] for out, seed in runs]
    a, b, c = (file_bytes(out) for out, _ in runs)
    assert len(a) > 10 and a == b
    assert truths[0].equals(truths[1]) and not truths[0].equals(truths[2])
    assert a.keys() & c.keys() and all(a[k] != c[k] for k in a.keys() & c.keys())


def test_no_farmers_means_an_empty_parcels_file_and_no_tiles(tmp_path):
    truth, counts = write_farms(farmers(0, 0), START, 30, 0.1, np.random.default_rng(0), tmp_path)
    assert truth.num_rows == 0 and counts == dict.fromkeys(BAD_KINDS, 0)
    assert read_features(tmp_path / "landing" / "parcels" / "dt=2025-01-01" / "parcels.geojson") == []
    assert not (tmp_path / "landing" / "tiles").exists()
    with pytest.raises(ValueError, match="bad_rate"):
        write_farms(farmers(3, 0), START, 30, 1.0, np.random.default_rng(0), tmp_path)

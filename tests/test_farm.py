"""Farm features: pixels of a plot in a scene, the season curve and its phenology, the crop model, planted area and
harvest value, on small inline rasters and curves."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import rasterio
import rasterio.warp
import shapely

from jobs import tables
from jobs.catalog import contract
from jobs.features import crop_model, crop_templates, feat_farm, parcel_season
from jobs.silver import parcel_observations
from jobs.silver.parcel_observations import observe_scene, pixel_stats, scene_layers
from simulator import farms

UTM = "EPSG:32652"
ORIGIN = (700_000.0, 5_250_000.0)
SCL_BANDS = ["B04", "B08", "SCL"]


def reflectances(ndvi: np.ndarray, scl: np.ndarray) -> np.ndarray:
    """B04, B08 (x10000) giving `ndvi`, and the SCL band."""
    red = np.full(ndvi.shape, 0.05)
    nir = red * (1 + ndvi) / (1 - ndvi)
    return np.stack([np.rint(red * 1e4), np.rint(nir * 1e4), scl]).astype(np.uint16)


def plot_lonlat(col0: int, row0: int, cols: int, rows: int) -> str:
    """GeoJSON (EPSG:4326) of the block of pixels [row0, row0 + rows) x [col0, col0 + cols), 1 m inside its edges."""
    x0, y0 = ORIGIN[0] + 10 * col0 + 1, ORIGIN[1] - 10 * row0 - 1
    x1, y1 = ORIGIN[0] + 10 * (col0 + cols) - 1, ORIGIN[1] - 10 * (row0 + rows) + 1
    box = shapely.geometry.mapping(shapely.box(x0, y1, x1, y0))
    return json.dumps(rasterio.warp.transform_geom(UTM, "EPSG:4326", box))


def write_scene(path, bands: np.ndarray, names=SCL_BANDS) -> None:
    transform = rasterio.Affine(10.0, 0.0, ORIGIN[0], 0.0, -10.0, ORIGIN[1])
    farms.write_geotiff(path, bands, transform, UTM, 0, names, names)


# ---------------------------------------------------------------------------------------------------------------
# Pixels


def test_plot_statistics_equal_numpy_over_its_clear_pixels():
    rng = np.random.default_rng(1)
    ndvi = rng.uniform(0.2, 0.9, (8, 8))
    scl = np.full((8, 8), 4)
    scl[2, 3] = 9  # a cloud inside the plot
    stack = reflectances(ndvi, scl)
    inside = np.zeros((8, 8), bool)
    inside[1:5, 2:6] = True
    stats = pixel_stats(scene_layers(stack, {"red": 0, "nir": 1, "scl": 2}, 0, 10_000.0), inside)

    clear = inside & (scl != 9)
    expected = (stack[1, clear].astype(float) - stack[0, clear]) / (stack[1, clear].astype(float) + stack[0, clear])
    assert stats["pixel_count"] == 16 and stats["clear_pixel_count"] == 15
    assert stats["clear_share"] == pytest.approx(15 / 16)
    assert stats["ndvi_mean"] == pytest.approx(expected.mean())
    assert stats["ndvi_median"] == pytest.approx(np.median(expected))
    assert [stats["ndvi_p10"], stats["ndvi_p90"]] == pytest.approx(np.percentile(expected, [10, 90]))
    assert stats["evi_mean"] is None  # no blue band


def test_ndvi_band_with_a_cloud_mask_and_a_scene_without_near_infrared():
    ndvi = np.array([[0.5, 0.7], [0.9, -0.2]])
    stack = np.stack([np.rint(ndvi * 1e4), [[0, 1], [0, 0]]]).astype(np.int16)
    stats = pixel_stats(scene_layers(stack, {"ndvi": 0, "cloud": 1}, -32768, 10_000.0), np.ones((2, 2), bool))
    assert (stats["pixel_count"], stats["clear_pixel_count"]) == (4, 3)
    assert stats["ndvi_mean"] == pytest.approx(np.mean([0.5, 0.9, -0.2]))

    landsat = np.ones((3, 2, 2), np.uint16) * 900
    roles = parcel_observations.band_roles("Landsat-8", ["B2", "B3", "B4"])
    stats = pixel_stats(scene_layers(landsat, roles, 0, None), np.ones((2, 2), bool))
    assert stats["pixel_count"] == 4 and stats["clear_share"] is None and "ndvi_mean" not in stats


def test_a_plot_drawn_in_degrees_is_read_in_the_scene_crs(tmp_path):
    ndvi = np.full((20, 20), 0.3)
    ndvi[4:8, 5:11] = 0.8  # the field: 4 x 6 pixels
    write_scene(tmp_path / "s.tif", reflectances(ndvi, np.full((20, 20), 4)))
    scene = {"tif_path": str(tmp_path / "s.tif"), "crs": UTM, "platform": "simulated Sentinel-2", "bands": SCL_BANDS,
             "nodata": 0, "scale": 10_000.0}  # fmt: skip
    plots = pd.DataFrame(
        {"parcel_id": ["field", "half"], "geometry": [plot_lonlat(5, 4, 6, 4), plot_lonlat(2, 4, 6, 4)]}
    )
    rows = {r["parcel_id"]: r for r in observe_scene(scene, plots)}
    assert rows["field"]["pixel_count"] == 24 and rows["field"]["ndvi_median"] == pytest.approx(0.8, abs=1e-3)
    assert rows["field"]["green_pixel_count"] == 24
    assert rows["half"]["pixel_count"] == 24 and rows["half"]["green_pixel_count"] == 3 * 4  # columns 5..7 planted


# ---------------------------------------------------------------------------------------------------------------
# Season


def corn_series(days: np.ndarray, shift: float = 0.0) -> np.ndarray:
    return farms.crop_ndvi(np.zeros(len(days), int), days.astype(float), np.ones(len(days)), shift)


def test_phenology_of_a_crop_curve_with_a_missed_cloud():
    days = np.arange(95, 300, 5)
    ndvi = corn_series(days)
    ndvi[20] -= 0.4  # a thin cloud the mask missed
    d, v = parcel_season.clean_series(days, ndvi)
    assert 95 + 5 * 20 not in d and len(d) == len(days) - 1
    grid, curve = parcel_season.filled_curve(d, v, 91, 304)
    found = parcel_season.phenology(grid, curve)
    assert found["peak_ndvi"] == pytest.approx(farms.PEAK[0], abs=0.02)
    assert abs(found["green_up_doy"] - farms.GREEN_UP[0]) <= 5
    assert abs(found["senescence_doy"] - farms.SENESCENCE[0]) <= 5
    assert found["season_length_days"] == found["senescence_doy"] - found["green_up_doy"]


def test_bare_soil_at_either_end_of_the_season_is_no_missed_cloud():
    d, v = parcel_season.clean_series(np.arange(6) * 20 + 100, np.array([0.15, 0.6, 0.85, 0.3, 0.7, 0.2]))
    assert v.tolist() == [0.15, 0.6, 0.85, 0.7, 0.2]  # only the interior dip goes


def test_a_season_seen_to_july_is_not_extrapolated():
    days = np.arange(95, 190, 5)
    grid, curve = parcel_season.filled_curve(days.astype(float), corn_series(days), 91, 200)
    assert np.isnan(curve[grid > days[-1]]).all() and np.isfinite(curve[(grid >= 95) & (grid <= days[-1])]).all()
    assert (
        parcel_season.season_year(dt.date(2025, 6, 30)) == 2024
        and parcel_season.season_year(dt.date(2025, 7, 1)) == 2025
    )


# ---------------------------------------------------------------------------------------------------------------
# Crop model


def synthetic_seasons(per_crop: int = 25, seed: int = 3) -> pd.DataFrame:
    """Season features of parcels of corn, rice and spring wheat from the simulator's curves, with sowing shifts."""
    rng = np.random.default_rng(seed)
    rows = []
    for crop in ("corn", "rice", "spring_wheat"):
        for i in range(per_crop):
            days = np.arange(95, 300, 5)
            ndvi = farms.crop_ndvi(
                np.full(len(days), farms.CROPS.index(crop)), days, np.ones(len(days)), rng.normal(0, 3)
            )
            features = parcel_season.series_features(days, ndvi + rng.normal(0, 0.02, len(days)), 91, 304)
            rows.append({"parcel_id": f"{crop}-{i}", "declared_crop": crop, "season_year": 2025, **features})
    return pd.DataFrame(rows)


def test_crop_model_names_the_crop_a_farmer_declared_wrongly():
    seasons = synthetic_seasons()
    seasons.loc[seasons["parcel_id"] == "corn-1", "declared_crop"] = "rice"  # a typical corn curve
    detections, scores, *_ = crop_model.fit_and_detect(seasons)
    found = detections.set_index("parcel_id")["detected_crop"]
    assert found["corn-1"] == "corn"  # held out: the model that named it never saw the wrong label
    truth = seasons["parcel_id"].str.rsplit("-", n=1).str[0].to_numpy()
    assert (found.to_numpy() == truth).mean() >= 0.93
    assert scores["classes"] == ["corn", "rice", "spring_wheat"] and scores["parcels"] == 75
    assert 0.9 <= scores["accuracy"] < 1.0 and scores["kappa"] > 0.85  # the wrong declaration counts as an error
    assert set(scores["f1"]) == {"corn", "rice", "spring_wheat"}


def test_too_few_labelled_parcels_train_no_model():
    seasons = synthetic_seasons(per_crop=3)
    assert crop_model.fit_and_detect(seasons) is None


def test_the_crop_model_is_trained_again_after_its_days_for_a_new_season_or_a_new_crop_mix():
    seasons = synthetic_seasons(per_crop=6)
    day = dt.date(2025, 8, 1)
    served = crop_model.CropModel("crop-2025-08-01", day, 2025, ["corn", "rice", "spring_wheat"], None, None, None)
    assert crop_model.retrain_reason(None, seasons, day, 7) == "no crop model to serve"
    assert crop_model.retrain_reason(served, seasons, day, 7) == "a rerun of crop-2025-08-01's night"
    assert crop_model.retrain_reason(served, seasons, day + dt.timedelta(days=6), 7) is None
    assert crop_model.retrain_reason(served, seasons, day + dt.timedelta(days=7), 7).startswith("7 days since crop-")
    assert crop_model.retrain_reason(served, seasons, day + dt.timedelta(days=1), 1) is not None  # every night
    assert crop_model.retrain_reason(served, seasons.assign(season_year=2026), day, 7) == "a new season"
    fewer_rice = seasons.drop(seasons.index[seasons["parcel_id"].isin(["rice-0", "rice-1"])])  # 4 labelled: too few
    changed = crop_model.retrain_reason(served, fewer_rice, day + dt.timedelta(days=1), 7)
    assert changed.startswith("the crop mix changed: corn, spring_wheat")


def test_the_nights_between_trainings_keep_held_out_readings_and_name_new_parcels(tmp_path):
    from jobs.settings import load_settings

    seasons = synthetic_seasons()
    seasons.loc[seasons["parcel_id"] == "corn-1", "declared_crop"] = "rice"  # a typical corn curve
    day = dt.date(2025, 8, 1)
    first, fitted, (scores, reason) = crop_model.detect(seasons, day, None, 7)
    assert reason == "no crop model to serve" and fitted.version == "crop-2025-08-01"
    record = crop_model.saved(load_settings({"LAKEHOUSE_ROOT": str(tmp_path)}), fitted, scores, reason)
    assert record.decision.endswith("no crop model to serve") and record.training["classes"] == fitted.classes
    loaded = crop_model.load(record)

    newcomer = seasons[seasons["parcel_id"] == "rice-2"].assign(parcel_id="new-rice", declared_crop=None)
    tonight = pd.concat([seasons, newcomer], ignore_index=True)
    later, serving, trained = crop_model.detect(tonight, day + dt.timedelta(days=3), loaded, 7)
    assert serving is loaded and trained is None  # no training between the scheduled ones
    found = later.set_index("parcel_id")
    assert found.loc["corn-1", "detected_crop"] == "corn"  # its held-out reading: the model learnt its wrong label
    assert found.loc["new-rice", "detected_crop"] == "rice" and not found.loc["new-rice", "declared_in_model"]
    before = first.set_index("parcel_id")
    assert (found.loc[before.index, "detected_crop"] == before["detected_crop"]).all()
    probability = found.loc[before.index, "detected_crop_probability"].astype(float)
    assert np.array_equal(probability, before["detected_crop_probability"].astype(float))  # saved exactly

    _, again, (_, why) = crop_model.detect(tonight, day + dt.timedelta(days=7), loaded, 7)
    assert again.version == "crop-2025-08-08" and why.startswith("7 days since crop-2025-08-01")
    (Path(record.artifact_path).with_suffix(".held_out.parquet")).unlink()
    assert crop_model.load(record) is None  # its files gone: trained again, not a crash


def test_a_backfill_of_snapshot_dates_trains_only_the_models_due(spark, settings):
    seasons = synthetic_seasons()
    days = [dt.date(2025, 8, 1), dt.date(2025, 8, 4), dt.date(2025, 8, 9)]
    nights = pd.concat([seasons.assign(as_of_date=d) for d in days], ignore_index=True)
    columns = ["parcel_id", "as_of_date", "season_year", "declared_crop", "clear_observations", "clear_doys",
               "clear_ndvi", "ndvi_curve", *crop_model.PHENOLOGY]  # fmt: skip
    frame = spark.createDataFrame(nights[columns].astype(object).where(nights[columns].notna(), None))
    found = feat_farm.detections(spark, settings, frame).toPandas()
    assert len(found) == 3 * 75 and found["detected_crop"].notna().all()
    models = tables.read(spark, settings, crop_model.REGISTRY).orderBy("trained_as_of").collect()
    assert [m.model_version for m in models] == ["crop-2025-08-01", "crop-2025-08-09"]  # 8 August: the one of 1st
    assert "8 days since crop-2025-08-01" in models[1].decision
    rerun = feat_farm.detections(spark, settings, frame.where("as_of_date = DATE'2025-08-04'")).toPandas()
    assert tables.read(spark, settings, crop_model.REGISTRY).count() == 2  # served by the registered model
    by_parcel = found[found["as_of_date"] == dt.date(2025, 8, 4)].set_index("parcel_id")["detected_crop"]
    assert (rerun.set_index("parcel_id")["detected_crop"] == by_parcel).all()
    feat_farm.detections(spark, settings, frame.where("as_of_date = DATE'2025-08-01'"))  # a training night again
    models = tables.read(spark, settings, crop_model.REGISTRY).orderBy("trained_as_of").collect()
    assert len(models) == 2 and models[0].decision.endswith("a rerun of crop-2025-08-01's night")


def test_crop_templates_tell_apart_curves_one_day_of_season_length_apart(tmp_path):
    """Spring wheat and barley as the simulator draws them: 3.5 days apart in timing, 1 in length, each parcel sown
    up to a week early or late. Noise-free, the template match separates them whatever the sowing shift, which
    timing alone cannot; the template of a crop recovers a parcel's shift; templates survive a save and load."""
    rng = np.random.default_rng(5)
    days = np.arange(95.0, 300.0, 5.0)
    crops = np.repeat([farms.CROPS.index("spring_wheat"), farms.CROPS.index("barley")], 40)
    shifts = rng.uniform(-7, 7, crops.size)
    series = [
        (days, farms.crop_ndvi(np.full(days.size, c), days, np.ones(days.size), s)) for c, s in zip(crops, shifts)
    ]
    labels = np.array(farms.CROPS, dtype=object)[crops]
    templates = crop_templates.learn(series, labels)
    assert templates.crops == ("barley", "spring_wheat")
    matched = crop_templates.match(series, templates)
    assert (np.array(templates.crops)[matched.argmax(axis=1)] == labels).all()

    wheat = templates.curves[1]
    late = crop_templates.best_fits(days, np.interp(days - 6.0, crop_templates.DAYS, wheat), wheat[None])
    assert late[0][0] < 1e-6 and late[1][0] == 6.0

    templates.save(tmp_path / "t.json")
    again = crop_templates.Templates.load(tmp_path / "t.json")
    assert again.crops == templates.crops and np.allclose(again.curves, templates.curves, atol=1e-5)
    assert np.isnan(crop_templates.match([(days[:3], days[:3] * 0)], templates)).all()  # too few points to fit


# ---------------------------------------------------------------------------------------------------------------
# Through the lakehouse: observations (incremental, point in time), seasons, crops, areas and values


def write_silver(spark, settings, fqn: str, rows: list[dict]) -> None:
    c = contract(fqn)
    tables.merge(
        spark,
        settings,
        fqn,
        spark.createDataFrame([{n: r.get(n) for n in c.column_names} for r in rows], c.struct_type()),
    )


def scene_row(tmp_path, day: dt.date, arrived: dt.date, ndvi: np.ndarray) -> dict:
    path = tmp_path / f"S_{day:%Y%m%d}.tif"
    write_scene(path, reflectances(ndvi, np.full(ndvi.shape, 4)))
    when = dt.datetime.combine(day, dt.time(2, 41))
    return {
        "scene_id": path.stem, "tile_id": "T", "sensor": "MSI", "platform": "simulated Sentinel-2",
        "processing_level": "L2A",
        "acquisition_time": when, "acquisition_date": day, "acquisition_time_precision": "second", "cloud_cover": 0.0,
        "crs": UTM, "bounds": [ORIGIN[0], ORIGIN[1] - 200, ORIGIN[0] + 200, ORIGIN[1]], "resolution_m": 10.0,
        "width": 20, "height": 20, "band_count": 3, "bands": SCL_BANDS, "band_descriptions": SCL_BANDS,
        "dtype": "uint16", "scale": 10_000.0, "nodata": 0.0, "tif_path": str(path), "tif_checksum": f"sha-{day}",
        "arrived_date": arrived, "_source_file": str(path), "_ingested_at": when,
    }  # fmt: skip


@pytest.mark.integration
def test_farm_features_through_the_lakehouse(spark, settings, tmp_path):
    field = np.full((20, 20), 0.25)
    days = [dt.date(2025, 6, 20) + dt.timedelta(days=10 * k) for k in range(6)]
    scenes = []
    for k, day in enumerate(days):
        ndvi = field.copy()
        ndvi[4:8, 5:8] = 0.4 + 0.08 * min(k, 5 - k + 1)  # planted: columns 5..7 of the plot's 5..10
        late = day + dt.timedelta(days=30 if k == 5 else 1)  # the last scene arrives a month late
        scenes.append(scene_row(tmp_path, day, late, ndvi))
    write_silver(spark, settings, "silver.scenes", scenes)
    area = 240.0 - 4 * 2 * 10 * 1  # the drawn plot sits 1 m inside the block's edges (approximately)
    write_silver(spark, settings, "silver.parcels", [{
        "parcel_id": "P1", "entity_id": "E1", "declared_crop": "corn", "declared_area_m2": 2400.0,
        "drawn_date": days[0], "geometry": plot_lonlat(5, 4, 6, 4), "area_m2_drawn": area, "centroid_lon": 131.6,
        "centroid_lat": 47.3, "arrived_date": days[0], "_source_file": "p.geojson",
        "_ingested_at": dt.datetime(2025, 6, 20),
    }])  # fmt: skip

    assert parcel_observations.run(spark, settings) == 6
    assert parcel_observations.run(spark, settings) == 0  # nothing new: nothing read again
    write_silver(spark, settings, "silver.scenes", [scenes[0] | {"tif_checksum": "sha-redelivered"}])
    assert parcel_observations.run(spark, settings) == 1  # a re-delivered scene is read again, and only it
    observed = tables.read(spark, settings, "silver.parcel_observations").toPandas()
    assert set(observed["pixel_count"]) == {24} and set(observed["green_pixel_count"].dropna()) == {12}

    as_of = days[5] + dt.timedelta(days=2)  # the last scene was acquired but has not arrived
    assert feat_farm.run(spark, settings, as_of) == 1
    season = tables.read(spark, settings, "gold.parcel_season").toPandas().iloc[0]
    assert season["observations"] == 5 and season["clear_observations"] == 5
    assert season["planted_share"] == pytest.approx(0.5) and season["measured_area_m2"] == pytest.approx(0.5 * area)
    assert season["detected_crop"] is None and season["valued_crop"] == "corn"  # one parcel trains no model
    corn = feat_farm.load_crops()["crops"]["corn"]
    assert season["vigour_index"] == pytest.approx(1.0)  # the region's only corn is its own median
    expected = corn["yield_t_per_ha"] * 0.5 * area / 10_000 * corn["price_per_t"]
    assert season["harvest_value"] == pytest.approx(expected)
    farm = tables.read(spark, settings, "gold.feat_farm").toPandas().iloc[0]
    assert farm["entity_id"] == "E1" and farm["expected_harvest_value"] == pytest.approx(expected)
    assert farm["area_ratio"] == pytest.approx(0.5 * area / 2400.0) and farm["over_declared_parcels"] == 1
    assert farm["share_corn"] == 1.0 and farm["share_rice"] == 0.0 and farm["observation_coverage"] == 1.0

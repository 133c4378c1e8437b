"""`python -m bench.farm`: what the farm features cost at the issue's target size, and how well they see the truth.

One simulated farm region of about 10,000 parcels (`simulator.farms.write_farms` on a synthetic frame of farmers
drawn as `simulator.population` draws them), imaged every 5 days for 180 days from 15 April: 36 scene dates, one
scene per tile of the grid, the whole growing season (first green-up about day 131, last senescence about day 265,
last scene day 280). Its landing files (entities, parcels, tiles) are ingested with `pipeline.ingest`, then, timed:

    ingest              `pipeline.ingest` of each source (one run: a rerun finds nothing new)
    observe             `parcel_observations.run` (Spark local mode, the executors' applyInPandas), every pair on an
                        empty silver.parcel_observations: median of the repeats, each in a fresh lakehouse root holding
                        copies of silver.scenes and silver.parcels
    observe_nothing_new the same again on the last root: every pair already observed
    observe_scene       the pure core in this one process, on chunks of PARCELS_PER_TASK parcels as the executors
                        get them, for one scene per tile on dates spread over the season (median of the repeats)
    feat_farm           `feat_farm.run` as of AS_OF (gold.parcel_season with the night's 5-fold crop model, and
                        gold.feat_farm; one run)

Then the accuracy of gold.parcel_season as of AS_OF against the simulator's truth: detected crop against the true crop
(accuracy, kappa, per-class F1, confusion), and the measured planted area against the true planted area. And the
ceiling the simulator allows for the crop: spring wheat and barley differ by a season about 3.5 days later for wheat
while each parcel's sowing shift is N(0, 4 days). Estimated analytically, as the Bayes error of the pair given their
priors on the season's timing (and on the peak, given the spread of vigour); and empirically, with the crop model's
features, folds and parameters trained on the true crops: on the observed curves, and on the true curves of every
scene date, cloud-free, with the simulator's per-date noise and without any.

Writes bench/results/farm.{json,md}. Run: `python -m bench.farm [--parcels 10000] [--repeats 2]`.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import math
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from bench.common import machine, machine_line, record, timed

START = dt.date(2025, 4, 15)
DAYS = 180  # 36 scene dates, every REVISIT_DAYS
AS_OF = dt.date(2025, 10, 26)  # after the season's last scene (2025-10-07)
SEED = 7
SOURCES = ["entities", "parcels", "tiles"]
DATE_NOISE_SD = 0.02  # farms.write_tiles: each parcel's NDVI on a date gets N(0, 0.02) on top of its crop's curve


# ---- the world ----


def draw_farmers(parcels: int, start: dt.date, rng: np.random.Generator) -> pd.DataFrame:
    """Farmers as `population.draw_population` draws them (quality N(0, 1), size lognormal around 2.8 clipped to
    0.5..20, registered 60 to 3000 days before `start`), as many as `farms.draw_parcels` expects to give `parcels`
    parcels (1 + Binomial(3, p_more(size)) each)."""
    pool = 4 * parcels
    size = np.clip(rng.lognormal(np.log(2.8), 0.7, pool), 0.5, 20.0)
    p_more = np.clip(0.1 + 0.7 * np.log(np.maximum(size, 0.5) / 0.5) / np.log(40.0), 0.05, 0.9)
    n = int(np.searchsorted(np.cumsum(1 + 3 * p_more), parcels)) + 1
    return pd.DataFrame(
        {
            "entity_id": [f"E{i + 1:06d}" for i in range(n)],
            "quality": rng.normal(size=n),
            "size": size[:n],
            "registered_date": [start - dt.timedelta(days=int(d)) for d in rng.integers(60, 3000, n)],
        }
    )


def write_world(parcels: int, out: Path) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Landing files under `out/landing` (entities, parcels, tiles); returns (farmers, truth parcels, summary)."""
    from simulator import farms

    rng = np.random.default_rng(SEED)
    farmers = draw_farmers(parcels, START, rng)
    truth, faults = farms.write_farms(farmers, START, DAYS, 0.0, rng, out)
    entities = pd.DataFrame(
        {
            "entity_id": farmers["entity_id"],
            "segment": "farmer",
            "registered_date": [d.isoformat() for d in farmers["registered_date"]],
            "city": "Fujin",
            "country": "CN",
            "owner_name": None,
            "owner_id_scheme": None,
            "owner_id_number": None,
            "owner_phone": None,
        }
    )
    path = out / "landing" / "entities" / f"dt={START.isoformat()}" / "entities.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    entities.to_csv(path, index=False)
    tifs = sorted((out / "landing" / "tiles").rglob("*.tif"))
    summary = {
        "farmers": len(farmers),
        "parcels": truth.num_rows,
        "scene_dates": len({p.parent.name for p in tifs}),
        "scenes": len(tifs),
        "tiles_per_date": len(tifs) // max(len({p.parent.name for p in tifs}), 1),
        "tile_px": json.loads(tifs[0].with_suffix(".json").read_text())["width"],
        "landing_mb": round(sum(p.stat().st_size for p in (out / "landing").rglob("*") if p.is_file()) / 2**20),
        "faults": faults,
    }
    return farmers, truth.to_pandas(), summary


# ---- observing ----


def scene_chunks(landing: Path, per_task: int) -> list[tuple[dict, pd.DataFrame]]:
    """(scene, parcels) as the executors get them, for one scene per tile on dates spread over the season: the parcels
    whose boxes meet the scene's, by parcel_id, in chunks of `per_task`."""
    import rasterio.warp
    import shapely

    doc = json.loads(next((landing / "parcels").rglob("*.geojson")).read_text())
    parcels = pd.DataFrame(
        {
            "parcel_id": [f["properties"]["parcel_id"] for f in doc["features"]],
            "geometry": [json.dumps(f["geometry"], separators=(",", ":")) for f in doc["features"]],
        }
    ).sort_values("parcel_id")
    boxes = shapely.bounds(shapely.from_geojson(parcels["geometry"].to_numpy()))
    dates = sorted((landing / "tiles").iterdir())
    tiles = sorted(p.stem.rsplit("_", 1)[1] for p in dates[0].glob("*.tif"))
    chunks = []
    for i, tile in enumerate(tiles):
        folder = dates[(2 * i + 1) * len(dates) // (2 * len(tiles))]
        tif = next(folder.glob(f"*_{tile}.tif"))
        meta = json.loads(tif.with_suffix(".json").read_text())
        scene = {k: meta[k] for k in ("crs", "platform", "bands", "scale", "nodata")} | {"tif_path": str(tif)}
        x0, y0, x1, y1 = rasterio.warp.transform_bounds(meta["crs"], "EPSG:4326", *meta["bounds"])
        meet = (boxes[:, 0] <= x1) & (boxes[:, 2] >= x0) & (boxes[:, 1] <= y1) & (boxes[:, 3] >= y0)
        mine = parcels[meet]
        chunks += [(scene, mine.iloc[k : k + per_task]) for k in range(0, len(mine), per_task)]
    return chunks


def pure_rate(landing: Path, repeats: int) -> dict:
    from jobs.silver.parcel_observations import PARCELS_PER_TASK, observe_scene

    chunks = scene_chunks(landing, PARCELS_PER_TASK)
    pairs = sum(len(p) for _, p in chunks)
    seconds, _ = timed(lambda: [observe_scene(s, p) for s, p in chunks], repeats)
    return {
        "scenes": len({s["tif_path"] for s, _ in chunks}),
        "chunks": len(chunks),
        "parcel_scenes": pairs,
        "seconds": seconds,
        "parcel_scenes_per_second": round(pairs / seconds),
    }


def fresh_root(settings, base: Path, name: str):
    """Settings of a new lakehouse root holding copies of silver.scenes and silver.parcels of `settings`'."""
    root = base / name
    for table in ("scenes", "parcels"):
        shutil.copytree(settings.table_path("silver", table), root / "silver" / table)
    return dataclasses.replace(settings, lakehouse_root=str(root), model_dir=str(root / "models"))


# ---- accuracy ----


def crop_scores(truth: np.ndarray, detected: np.ndarray) -> dict:
    from jobs.features.crop_model import KNOWN_CROPS, metrics

    return metrics(truth, detected, list(KNOWN_CROPS))


def area_errors(seasons: pd.DataFrame) -> dict:
    """|measured - true planted area| / true area over the parcels with a measurement, and the same of the drawn plot
    and of the declared area (what trusting the farmer gives), by honesty of the declaration."""
    seen = seasons[seasons["measured_area_m2"].notna()]

    def errors(frame: pd.DataFrame, column: str) -> dict:
        rel = (frame[column] - frame["area_m2"]).abs() / frame["area_m2"]
        return {
            "parcels": len(frame),
            "mean": float(rel.mean()),
            "median": float(rel.median()),
            "p90": float(rel.quantile(0.9)),
            "area_weighted": float((frame[column] - frame["area_m2"]).abs().sum() / frame["area_m2"].sum()),
            "mean_signed": float(((frame[column] - frame["area_m2"]) / frame["area_m2"]).mean()),
        }

    out = {}
    for column in ("measured_area_m2", "area_m2_drawn", "declared_area_m2"):
        out[column] = {
            "all": errors(seen, column),
            "honest": errors(seen[~seen["over_declared_true"]], column),
            "over_declared": errors(seen[seen["over_declared_true"]], column),
        }
    flagged = seen["over_declared"].astype(bool)
    true = seen["over_declared_true"].astype(bool)
    out["over_declared_flag"] = {
        "precision": float((flagged & true).sum() / max(flagged.sum(), 1)),
        "recall": float((flagged & true).sum() / max(true.sum(), 1)),
        "flagged": int(flagged.sum()),
        "true": int(true.sum()),
    }
    out["coverage"] = len(seen) / len(seasons)
    return out


# ---- the ceiling ----


def bayes_error(priors: tuple[float, float], distance: float) -> float:
    """Bayes error of two Gaussian classes with equal covariance, Mahalanobis `distance` apart, with `priors`."""
    p1, p2 = priors
    t = math.log(p2 / p1)

    def phi(x: float) -> float:
        return 0.5 * math.erfc(-x / math.sqrt(2))

    return p1 * phi((t - distance**2 / 2) / distance) + p2 * phi((-t - distance**2 / 2) / distance)


def analytic_ceiling() -> dict:
    """Spring wheat against barley when only their season's timing (the mean of green-up and senescence, each moved by
    the parcel's sowing shift N(0, SOWING_SD)) tells them apart, then with the peak too (log amplitude, against the
    spread of log vigour: 0.12 x quality N(0, 1) plus N(0, 0.06)); every other pair taken as separable (their seasons
    differ by 10 days or more in timing or 16 in length). Their 1-day difference in season length is left out."""
    from simulator import farms

    wheat, barley = farms.CROPS.index("spring_wheat"), farms.CROPS.index("barley")
    share = farms.CROP_SHARE
    priors = (share[wheat] / (share[wheat] + share[barley]), share[barley] / (share[wheat] + share[barley]))
    sowing_sd = 4.0
    mid = (farms.GREEN_UP + farms.SENESCENCE) / 2
    timing = float(mid[wheat] - mid[barley]) / sowing_sd
    log_amp = math.log((farms.PEAK[wheat] - farms.SOIL_NDVI) / (farms.PEAK[barley] - farms.SOIL_NDVI))
    peak = log_amp / math.hypot(0.12, 0.06)
    pair = float(share[wheat] + share[barley])
    out = {
        "pair_share": pair,
        "pair_priors": [float(p) for p in priors],
        "timing_gap_days": float(mid[wheat] - mid[barley]),
        "sowing_shift_sd_days": sowing_sd,
    }
    for name, d in (("timing", timing), ("timing_and_peak", math.hypot(timing, peak))):
        error = bayes_error(priors, d)
        out[name] = {"distance": d, "pair_error": error, "accuracy_ceiling": 1 - pair * error}
    return out


def true_curve_seasons(truth: pd.DataFrame, scene_dates: list[dt.date], noise_sd: float = 0.0) -> pd.DataFrame:
    """Season features of every parcel from its true curve on every scene date, cloud-free, plus N(0, noise_sd)
    per parcel and date (the simulator's own per-date noise is N(0, DATE_NOISE_SD))."""
    from jobs.features import parcel_season
    from simulator import farms

    crop = truth["crop"].map({c: i for i, c in enumerate(farms.CROPS)}).to_numpy()
    factor = truth["vigour"].to_numpy() * truth["weather_factor"].to_numpy()  # one season: one weather factor
    doy = np.array([d.timetuple().tm_yday for d in scene_dates], float)
    ndvi = np.stack([farms.crop_ndvi(crop, day, factor, truth["sowing_shift_days"].to_numpy()) for day in doy], axis=1)
    ndvi = ndvi + np.random.default_rng(SEED).normal(0.0, noise_sd, ndvi.shape) if noise_sd else ndvi
    start, end = parcel_season.season_window(AS_OF.year)
    first, last = start.timetuple().tm_yday, end.timetuple().tm_yday
    rows = [parcel_season.series_features(doy, curve_obs, first, last) for curve_obs in ndvi]
    return pd.DataFrame(rows).assign(parcel_id=truth["parcel_id"].to_numpy(), declared_crop=truth["crop"].to_numpy())


def trained_on_truth(seasons: pd.DataFrame) -> dict:
    """The crop model's features, folds and parameters with the true crops as labels: held-out scores."""
    from jobs.features.crop_model import fit_and_detect

    _, scores, *_ = fit_and_detect(seasons)
    return {k: scores[k] for k in ("accuracy", "kappa", "f1", "confusion", "parcels")}


# ---- the run ----


def run(parcels: int, repeats: int) -> dict:
    from bench.graph import TreeMemory

    work = Path(tempfile.mkdtemp(prefix="helicopter-bench-farm-"))
    os.environ["LAKEHOUSE_ROOT"] = str(work / "lakehouse")
    stages: dict[str, dict] = {}
    start = time.perf_counter()
    _, truth, world = write_world(parcels, work / "world")
    stages["simulate"] = {"seconds": time.perf_counter() - start, "rows": world["parcels"], "unit": "parcels"}
    landing = work / "world" / "landing"
    pure = pure_rate(landing, repeats)
    stages["observe_scene (1 process)"] = {"seconds": pure["seconds"], "rows": pure["parcel_scenes"]}

    from jobs import pipeline, registry, tables
    from jobs.features import crop_model, feat_farm
    from jobs.settings import load_settings
    from jobs.silver import parcel_observations
    from jobs.spark_session import get_spark

    settings = load_settings()
    stages["spark_start"] = {"seconds": timed(lambda: get_spark(settings), 1)[0], "rows": None}
    spark = get_spark(settings)
    for source in SOURCES:
        t, counts = timed(lambda s=source: pipeline.ingest(str(landing), sources=[s], settings=settings), 1)
        stages[f"ingest {source}"] = {"seconds": t, "rows": counts[0]["accepted"], "counts": counts[0]}

    memory = TreeMemory()
    times, roots = [], []
    for r in range(repeats):
        roots.append(fresh_root(settings, work, f"observe-{r}"))
        memory.reset()
        begin = time.perf_counter()
        pairs = parcel_observations.run(spark, roots[-1])
        times.append(time.perf_counter() - begin)
    stages["observe"] = {
        "seconds": statistics.median(times),
        "rows": pairs,
        "repeat_seconds": times,
        "peak_rss_mb": memory.peak_mb,
    }
    observed = roots[-1]
    t, again = timed(lambda: parcel_observations.run(spark, observed), 1)
    stages["observe_nothing_new"] = {"seconds": t, "rows": again}
    memory.reset()
    t, farm_rows = timed(lambda: feat_farm.run(spark, observed, AS_OF), 1)
    stages["feat_farm"] = {"seconds": t, "rows": farm_rows, "unit": "farmers", "peak_rss_mb": memory.peak_mb}
    memory.stop()
    for s in stages.values():
        s["rows_per_second"] = round(s["rows"] / s["seconds"]) if s["rows"] and s["seconds"] else None

    obs = tables.read(spark, observed, parcel_observations.TABLE)
    with_pixels = obs.where("pixel_count > 0").count()
    scene_dates = sorted(r.acquisition_date for r in obs.select("acquisition_date").distinct().collect())
    rate = stages["observe"]["rows_per_second"]
    observe = {
        "pairs": pairs,
        "pairs_with_pixels": with_pixels,
        "parcel_scenes_per_second": rate,
        "seconds": stages["observe"]["seconds"],
        "target_parcel_scenes": 10_000 * 36,
        "target_seconds_at_rate": 10_000 * 36 / rate,
        "pure_parcel_scenes_per_second": pure["parcel_scenes_per_second"],
        "pure": pure,
        "spark_over_pure": rate / pure["parcel_scenes_per_second"],
        "parcels_per_task": parcel_observations.PARCELS_PER_TASK,
    }

    seasons = tables.read(spark, observed, "gold.parcel_season").where(f"as_of_date = '{AS_OF.isoformat()}'").toPandas()
    crop = registry.version(spark, observed, crop_model.REGISTRY, f"crop-{AS_OF.isoformat()}")
    t = truth.rename(columns={"over_declared": "over_declared_true", "declared_crop": "declared_crop_true"})
    seasons = seasons.merge(t[["parcel_id", "crop", "area_m2", "over_declared_true"]], on="parcel_id", how="left")
    detected = seasons[seasons["detected_crop"].notna()]
    crops = crop_scores(detected["crop"].to_numpy(), detected["detected_crop"].to_numpy())
    pair = detected["crop"].isin(["spring_wheat", "barley"])
    wrong = detected["crop"] != detected["detected_crop"]
    crops |= {
        "parcels": len(detected),
        "coverage": len(detected) / len(seasons),
        "errors_within_wheat_barley": float(
            (wrong & pair & detected["detected_crop"].isin(["spring_wheat", "barley"])).sum() / max(wrong.sum(), 1)
        ),
        "accuracy_without_pair": float(1 - wrong[~pair].mean()),
        "declared_vs_truth_accuracy": float((truth["declared_crop"] == truth["crop"]).mean()),
        "registry": {
            "accuracy_vs_declared": crop.metrics["accuracy"],
            "kappa_vs_declared": crop.metrics["kappa"],
            "parcels": crop.training["parcels"],
        },
    }
    areas = area_errors(seasons)

    on_truth = seasons.assign(declared_crop=seasons["crop"])
    ceiling = {
        "analytic": analytic_ceiling(),
        "noise_free_truth_labels": trained_on_truth(true_curve_seasons(truth, scene_dates)),
        "date_noise_truth_labels": trained_on_truth(true_curve_seasons(truth, scene_dates, DATE_NOISE_SD)),
        "observed_truth_labels": trained_on_truth(on_truth),
    }
    shutil.rmtree(work, ignore_errors=True)
    return {
        "start": START.isoformat(),
        "days": DAYS,
        "as_of": AS_OF.isoformat(),
        "date_noise_sd": DATE_NOISE_SD,
        "repeats": repeats,
        "shuffle_partitions": settings.shuffle_partitions,
        "driver_memory": settings.spark_driver_memory,
        "world": world,
        "stages": stages,
        "observe": observe,
        "crop": crops,
        "area": areas,
        "ceiling": ceiling,
    }


# ---- the record ----


def markdown(r: dict) -> str:
    m, w, o, c, a, ce = r["machine"], r["world"], r["observe"], r["crop"], r["area"], r["ceiling"]
    lines = [
        "# Farm features: silver.parcel_observations, gold.parcel_season and gold.feat_farm",
        "",
        f"{machine_line(m)}; Spark local[*], {r['shuffle_partitions']} "
        f"shuffle partitions, driver {r['driver_memory']}. Recorded {r['recorded']}.",
        "",
        f"World: {w['farmers']:,} farmers, {w['parcels']:,} parcels; {w['scene_dates']} scene dates every 5 days "
        f"from {r['start']} ({r['days']} days), {w['tiles_per_date']} tiles of {w['tile_px']} px a date: "
        f"{w['scenes']} scenes, {w['landing_mb']:,} MB of landing files. Crops and areas judged as of {r['as_of']}.",
        "",
        "## Stages",
        "",
        f"observe: median of {r['repeats']} runs of `parcel_observations.run` on an empty silver.parcel_observations "
        f"(repeats {', '.join(f'{s:.1f}' for s in r['stages']['observe']['repeat_seconds'])} s); observe_scene: "
        f"the pure core in one process, median of {r['repeats']}; the rest one run. Rows: parcels, accepted rows, "
        "(scene, parcel) pairs, farmers. Peak RSS: the process tree (Python, JVM, Python workers). The first ingest "
        "(entities) also pays the session's first Delta writes.",
        "",
        "| stage | seconds | rows | rows/s | peak RSS MB |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, s in r["stages"].items():
        rows = f"{s['rows']:,}" if s["rows"] is not None else "-"
        rate = f"{s['rows_per_second']:,}" if s["rows_per_second"] else "-"
        rss = f"{s['peak_rss_mb']:,}" if s.get("peak_rss_mb") else "-"
        lines.append(f"| {name} | {s['seconds']:.1f} | {rows} | {rate} | {rss} |")
    lines += [
        "",
        f"**Parcel-scenes per second (Spark, {m['cores']} cores): {o['parcel_scenes_per_second']:,}**; "
        f"{o['pairs']:,} pairs whose boxes meet ({o['pairs_with_pixels']:,} with pixels inside the plot) in "
        f"{o['seconds']:.0f} s. At that rate 10,000 parcels x 36 scenes ({o['target_parcel_scenes']:,}) take "
        f"**{o['target_seconds_at_rate']:.0f} s**. The pure `observe_scene` in one process: "
        f"{o['pure_parcel_scenes_per_second']:,} parcel-scenes/s ({o['pure']['parcel_scenes']:,} pairs of "
        f"{o['pure']['scenes']} scenes in chunks of {o['parcels_per_task']}); Spark / one process = "
        f"{o['spark_over_pure']:.2f}.",
        "",
        f"## Crop detected (gold.parcel_season.detected_crop) against the true crop, as of {r['as_of']}",
        "",
        f"{c['parcels']:,} parcels with a detection ({c['coverage']:.1%} of all): **accuracy {c['accuracy']:.3f}, "
        f"kappa {c['kappa']:.3f}**; without spring wheat and barley {c['accuracy_without_pair']:.3f}; "
        f"{c['errors_within_wheat_barley']:.0%} of the errors are wheat <-> barley. The registry's own held-out "
        f"scores against the declared crops: accuracy {c['registry']['accuracy_vs_declared']:.3f}, kappa "
        f"{c['registry']['kappa_vs_declared']:.3f}. Declared crop = true crop for "
        f"{c['declared_vs_truth_accuracy']:.1%} of parcels.",
        "",
        "| crop | F1 | " + " | ".join(f"-> {x}" for x in c["confusion"]["labels"]) + " |",
        "|---|---:|" + "---:|" * len(c["confusion"]["labels"]),
    ]
    for label, row in zip(c["confusion"]["labels"], c["confusion"]["matrix"]):
        lines.append(f"| {label} | {c['f1'][label]:.3f} | " + " | ".join(f"{x:,}" for x in row) + " |")
    an = ce["analytic"]
    lines += [
        "",
        "Rows: true crop; columns: detected.",
        "",
        "### The ceiling",
        "",
        f"Analytic (Bayes error of the pair): spring wheat's season lies {an['timing_gap_days']:.1f} days later than "
        f"barley's (the mean of green-up and senescence) while each parcel's sowing shift is "
        f"N(0, {an['sowing_shift_sd_days']:.0f} d); with their priors {an['pair_priors'][0]:.2f} / "
        f"{an['pair_priors'][1]:.2f} the best rule errs on {an['timing']['pair_error']:.1%} of the pair on timing "
        f"alone, {an['timing_and_peak']['pair_error']:.1%} with the peak (against the spread of vigour). The pair is "
        f"{an['pair_share']:.0%} of parcels; taking the other crops as separable (their seasons differ by 10 days or "
        f"more in timing or 16 in length) the **ceiling is {an['timing']['accuracy_ceiling']:.3f}** "
        f"({an['timing_and_peak']['accuracy_ceiling']:.3f} with the peak). The pair's 1-day difference in season "
        "length (green-up 3 days apart, senescence 4) is left out; the rows below show how far curves without "
        "noise, or with the simulator's per-date noise only, get with it.",
        "",
        "Empirically, the crop model's features, 5 folds and XGBoost parameters trained on other labels and curves "
        "(held-out predictions against the true crop):",
        "",
        "| labels | curves | accuracy | kappa | F1 spring_wheat | F1 barley |",
        "|---|---|---:|---:|---:|---:|",
        f"| declared (the nightly model) | observed (gold.parcel_season) | {c['accuracy']:.3f} | {c['kappa']:.3f} | "
        f"{c['f1']['spring_wheat']:.3f} | {c['f1']['barley']:.3f} |",
    ]
    for key, labels, curves in (
        ("observed_truth_labels", "true", "observed (gold.parcel_season)"),
        ("date_noise_truth_labels", "true", f"true, every date, cloud-free, + N(0, {r['date_noise_sd']}) a date"),
        ("noise_free_truth_labels", "true", "true, every date, cloud-free, noise-free"),
    ):
        e = ce[key]
        lines.append(
            f"| {labels} | {curves} | {e['accuracy']:.3f} | {e['kappa']:.3f} | {e['f1']['spring_wheat']:.3f} | "
            f"{e['f1']['barley']:.3f} |"
        )
    lines += [
        "",
        f"## Planted area measured (planted_share x drawn area) against the true planted area, as of {r['as_of']}",
        "",
        f"{a['measured_area_m2']['all']['parcels']:,} parcels with a measurement ({a['coverage']:.1%}). Relative error "
        "|area - true planted area| / true planted area:",
        "",
        "| area | parcels | mean | median | p90 | area-weighted | mean signed |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    names = {"measured_area_m2": "measured", "area_m2_drawn": "drawn plot", "declared_area_m2": "declared"}
    for column, label in names.items():
        for group in ("all", "honest", "over_declared"):
            e = a[column][group]
            lines.append(
                f"| {label} | {group.replace('_', '-')} ({e['parcels']:,}) | {e['mean']:.3f} | {e['median']:.3f} | "
                f"{e['p90']:.3f} | {e['area_weighted']:.3f} | {e['mean_signed']:+.3f} |"
            )
    f = a["over_declared_flag"]
    lines += [
        "",
        f"**Mean absolute relative error of the measured area: {a['measured_area_m2']['all']['mean']:.3f}** "
        f"(honest {a['measured_area_m2']['honest']['mean']:.3f}, over-declared "
        f"{a['measured_area_m2']['over_declared']['mean']:.3f}; area-weighted "
        f"{a['measured_area_m2']['all']['area_weighted']:.3f}). gold.parcel_season.over_declared (area ratio < "
        f"0.85) against the truth: precision {f['precision']:.3f}, recall {f['recall']:.3f} ({f['flagged']:,} "
        f"flagged, {f['true']:,} over-declared).",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--parcels", type=int, default=10_000)
    p.add_argument("--repeats", type=int, default=2)
    a = p.parse_args()
    result = {
        "name": "farm",
        "recorded": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        **run(a.parcels, a.repeats),
    }
    record("farm", result, markdown(result))


if __name__ == "__main__":
    main()

"""Simulated farms: the plots farmers draw on a map and the satellite scenes that watch them grow.

The farm region lies on the Sanjiang Plain near Fujin, Heilongjiang (UTM zone 52N, EPSG:32652): flat, almost all
farmland (maize, soybean, rice, some spring wheat and barley), one growing season from May to September. Each farmer
has 1 to 4 rectangular fields, slightly rotated, packed in rows with margins between them so no two overlap. The
farmer drew each plot on a map a few metres off the true field; about one plot in ten is over-declared (only part of
it is planted, the rest lies fallow), more often for worse farmers.

Every 5 days a Sentinel-2-like sensor images the region, one scene per tile of a fixed grid: red (B04) and
near-infrared (B08) surface reflectance x10000 and a scene classification band (SCL). A field's NDVI follows its
crop's double-logistic season curve, scaled by the field's vigour (its farmer's quality) and the season's weather;
spring wheat and barley are deliberately close. Smooth cloud blobs cover on average about 40 % of each scene; their
thin edges are sometimes missed by the mask, as real masks miss them.

Scenes are computed and written one at a time; only each tile's parcel-id raster and background are kept between
dates. Every draw comes from `rng` (scenes from seeds taken from it), so the same rng state gives identical bytes.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import pathlib
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import rasterio
import rasterio.features
import rasterio.warp
import shapely

from jobs.landing_writers import write_geotiff
from simulator.population import habit_driver

CRS = "EPSG:32652"  # WGS 84 / UTM zone 52N
WRONG_CRS = "EPSG:32651"  # the neighbouring zone: the classic mislabel of a tile header
WEB_MERCATOR = "EPSG:3857"
ORIGIN = (700_000.0, 5_250_000.0)  # north-west corner of the region, near Fujin (47.37 N, 131.65 E)
PIXEL_M = 10.0
MAX_TILE_PX = 1024
REVISIT_DAYS = 5
GAP_M = 12.0  # ditch or track between neighbouring slots; fields sit GAP_M / 2 inside their slot
JITTER_M = 4.0  # farthest a drawn corner lies from the true one (keeps drawn plots apart)
MAX_TILT_DEG = 2.0
ROW_HEIGHTS_M = np.array([30.0, 45.0, 65.0, 95.0, 140.0, 200.0])  # field widths come in a few classes
SENSOR = "MSI"
PLATFORM = "simulated Sentinel-2"
BANDS = ("B04", "B08", "SCL")
BAND_DESCRIPTIONS = (
    "B04 red (665 nm) surface reflectance x10000",
    "B08 near-infrared (842 nm) surface reflectance x10000",
    "SCL scene classification: 0 no data, 4 vegetation, 5 not vegetated, 8 cloud medium probability, "
    "9 cloud high probability",
)
SCL_VEGETATION, SCL_BARE, SCL_CLOUD_MEDIUM, SCL_CLOUD_HIGH = 4, 5, 8, 9
BAD_KINDS = ("tiles.corrupt_geotiff", "tiles.wrong_crs", "parcels.wrong_crs")  # <landing source>.<kind>
SCENE_FAULTS = BAD_KINDS[:2]

# Crop calendars on the Sanjiang Plain: NDVI = base + (peak - base) * vigour * season(doy), season a double logistic
# rising around green_up and falling around senescence (day of year), with slopes rise and fall (days).
CROPS = ("corn", "soybean", "rice", "spring_wheat", "barley")
CROP_SHARE = np.array([0.32, 0.26, 0.22, 0.12, 0.08])
GREEN_UP = np.array([168.0, 178.0, 186.0, 138.0, 135.0])
SENESCENCE = np.array([260.0, 250.0, 242.0, 208.0, 204.0])
RISE = np.array([8.0, 7.0, 6.0, 7.0, 7.0])
FALL = np.array([9.0, 7.0, 6.0, 6.0, 6.0])
PEAK = np.array([0.88, 0.83, 0.80, 0.78, 0.76])
SOIL_NDVI = 0.14
GRASS = (0.45, 130.0, 275.0, 12.0, 12.0)  # amplitude, green_up, senescence, rise, fall of verges and grass strips
CLOUD_RED, CLOUD_NIR = 0.42, 0.44  # bright, flat: NDVI near 0
CLOUD_FLAG_OPACITY = 0.3  # thinner cloud edges go unflagged
CLOUD_EDGE = 0.15  # width of a cloud's edge, in standard deviations of the cloud field
CLOUD_SPACING_PX = (48, 12)  # two octaves of cloud blobs
GRASS_SPACING_PX = 24


@dataclass(frozen=True)
class Grid:
    """The fixed tiling of the region: ny x nx square tiles of `px` pixels, the north-west one at ORIGIN."""

    px: int
    nx: int
    ny: int

    def tiles(self) -> list[tuple[str, int, int]]:
        return [(f"52N{r:02d}{c:02d}", r, c) for r in range(self.ny) for c in range(self.nx)]

    def transform(self, row: int, col: int) -> rasterio.Affine:
        size = self.px * PIXEL_M
        return rasterio.Affine(PIXEL_M, 0.0, ORIGIN[0] + col * size, 0.0, -PIXEL_M, ORIGIN[1] - row * size)


# ---------------------------------------------------------------------------------------------------------------
# Season curves


def double_logistic(doy: float, green_up, senescence, rise, fall):
    """0 before green-up, near 1 at the peak, back to 0 after senescence."""
    return 1.0 / (1.0 + np.exp(-(doy - green_up) / rise)) - 1.0 / (1.0 + np.exp(-(doy - senescence) / fall))


def crop_ndvi(crop: np.ndarray, doy: float, factor: np.ndarray, shift: np.ndarray | float = 0.0) -> np.ndarray:
    """NDVI of fields of crop index `crop` on day of year `doy`, scaled by vigour x weather `factor`."""
    season = double_logistic(doy, GREEN_UP[crop] + shift, SENESCENCE[crop] + shift, RISE[crop], FALL[crop])
    peak = np.minimum(SOIL_NDVI + (PEAK[crop] - SOIL_NDVI) * factor, 0.93)
    return SOIL_NDVI + (peak - SOIL_NDVI) * season


def grass_ndvi(doy: float) -> float:
    amplitude, green_up, senescence, rise, fall = GRASS
    return float(amplitude * double_logistic(doy, green_up, senescence, rise, fall))


# ---------------------------------------------------------------------------------------------------------------
# Parcels


def logit(p: float) -> float:
    return math.log(p / (1.0 - p))


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def draw_parcels(
    farmers: pd.DataFrame, start: dt.date, rng: np.random.Generator, habit_signal: float = 1.0
) -> pd.DataFrame:
    """One row per parcel: owner, crop, field dimensions, honesty of the declaration and the field's vigour, each of
    the last three driven by its own view of the farmer's quality (`habit_signal`, see `population.habit_driver`)."""
    size = farmers["size"].to_numpy(float)
    quality = farmers["quality"].to_numpy(float)
    p_more = np.clip(0.1 + 0.7 * np.log(np.maximum(size, 0.5) / 0.5) / np.log(40.0), 0.05, 0.9)
    count = 1 + rng.binomial(3, p_more)
    owner = np.repeat(np.arange(len(farmers)), count)
    n = owner.size
    farm_ha = size * 1.1 * rng.lognormal(0.0, 0.25, len(farmers))
    weights = rng.gamma(2.0, 1.0, n)
    share = weights / np.bincount(owner, weights, len(farmers))[owner]
    area = np.clip(farm_ha[owner] * share, 0.2, 8.0) * 10_000.0
    aspect = rng.uniform(1.5, 4.0, n)
    width = ROW_HEIGHTS_M[np.abs(np.sqrt(area / aspect)[:, None] - ROW_HEIGHTS_M).argmin(axis=1)]

    def q() -> np.ndarray:  # a farmer's trait, the same on each of its parcels
        return habit_driver(quality, habit_signal, rng)[owner]

    crop = rng.choice(len(CROPS), n, p=CROP_SHARE)
    over = rng.random(n) < sigmoid(logit(0.07) - 0.9 * q())
    miscrop = rng.random(n) < sigmoid(logit(0.02) - 0.6 * q())
    soybean = CROPS.index("soybean")
    declared_crop = np.where(miscrop, np.where(crop == soybean, CROPS.index("corn"), soybean), crop)
    registered = pd.to_datetime(farmers["registered_date"]).to_numpy("datetime64[D]")[owner]
    start64 = np.datetime64(start, "D")
    span = np.maximum((start64 - registered).astype(int), 0)
    drawn = np.minimum(registered + (rng.random(n) * (span + 1)).astype(int), start64)
    return pd.DataFrame(
        {
            "parcel_id": [f"P{i + 1:07d}" for i in range(n)],
            "entity_id": farmers["entity_id"].to_numpy(object)[owner],
            "crop": crop,
            "declared_crop": declared_crop,
            "length_m": area / width,
            "width_m": width,
            "tilt": np.deg2rad(rng.uniform(-MAX_TILT_DEG, MAX_TILT_DEG, n)),
            "over_declared": over,
            "planted_share": np.where(over, rng.uniform(0.45, 0.75, n), 1.0),
            "vigour": np.exp(0.12 * q() + rng.normal(0.0, 0.06, n)),
            "sowing_shift": rng.normal(0.0, 4.0, n),
            "declared_noise": rng.normal(0.0, 0.02, n),
            "drawn_date": drawn,
        }
    )


def pack_slots(parcels: pd.DataFrame, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, float, float]:
    """Slot centres (x, y in UTM) in rows of equal-width fields, rows shuffled; returns (x, y, region w, region h).

    Each slot is the tilted field's bounding box plus GAP_M, so fields (and plots drawn within JITTER_M of them)
    never overlap.
    """
    length, width, tilt = (parcels[c].to_numpy(float) for c in ("length_m", "width_m", "tilt"))
    slot_w = length * np.cos(tilt) + width * np.abs(np.sin(tilt)) + GAP_M
    slot_h = length * np.abs(np.sin(tilt)) + width * np.cos(tilt) + GAP_M
    region_w = max(float(np.sqrt((slot_w * slot_h).sum() * 1.05)), float(slot_w.max(initial=0.0)))
    rows: list[list[int]] = []
    for cls in np.unique(width):
        x = region_w
        for i in rng.permutation(np.flatnonzero(width == cls)).tolist():
            if x + slot_w[i] > region_w:
                rows.append([])
                x = 0.0
            rows[-1].append(i)
            x += slot_w[i]
    cx, cy = np.zeros(len(parcels)), np.zeros(len(parcels))
    top = 0.0
    for r in rng.permutation(len(rows)).tolist():
        members = np.array(rows[r])
        edges = np.cumsum(slot_w[members])
        cx[members] = ORIGIN[0] + edges - slot_w[members] / 2
        height = slot_h[members].max()
        cy[members] = ORIGIN[1] - top - height / 2
        top += height
    return cx, cy, region_w, top


def rectangles(cx, cy, tilt, x0, x1, half_w) -> np.ndarray:
    """Corners (n, 4, 2) of rectangles spanning x0..x1 and -half_w..half_w in the field's frame, counter-clockwise."""
    local_x = np.stack([x0, x1, x1, x0], axis=1)
    local_y = np.stack([-half_w, -half_w, half_w, half_w], axis=1)
    cos, sin = np.cos(tilt)[:, None], np.sin(tilt)[:, None]
    return np.stack([cx[:, None] + cos * local_x - sin * local_y, cy[:, None] + sin * local_x + cos * local_y], axis=2)


def shoelace(corners: np.ndarray) -> np.ndarray:
    x, y = corners[..., 0], corners[..., 1]
    return 0.5 * np.abs((x * np.roll(y, -1, axis=1) - np.roll(x, -1, axis=1) * y).sum(axis=1))


def place_fields(parcels: pd.DataFrame, cx, cy, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(planted field corners, drawn plot corners) in UTM; the drawn plot is the whole slot field, jittered."""
    half = parcels["length_m"].to_numpy() / 2
    half_w = parcels["width_m"].to_numpy() / 2
    tilt = parcels["tilt"].to_numpy()
    planted_end = -half + 2 * half * parcels["planted_share"].to_numpy()
    planted = rectangles(cx, cy, tilt, -half, planted_end, half_w)
    jitter = np.clip(rng.normal(0.0, JITTER_M / 2, (len(parcels), 4, 2)), -JITTER_M / 1.5, JITTER_M / 1.5)
    drawn = rectangles(cx, cy, tilt, -half, half, half_w) + jitter
    return planted, drawn


def to_lonlat(corners: np.ndarray, crs: str = "EPSG:4326") -> np.ndarray:
    xs, ys = rasterio.warp.transform(CRS, crs, corners[..., 0].ravel(), corners[..., 1].ravel())
    return np.stack([np.asarray(xs), np.asarray(ys)], axis=1).reshape(corners.shape)


def parcel_features(parcels: pd.DataFrame, declared_area: np.ndarray, ring: np.ndarray, digits: int) -> list[str]:
    """One GeoJSON Feature (a compact JSON line) per parcel; `ring` holds the (n, 4, 2) corners to write."""
    coords = np.round(ring, digits).tolist()
    crops = np.array(CROPS, dtype=object)[parcels["declared_crop"].to_numpy()]
    drawn = parcels["drawn_date"].dt.strftime("%Y-%m-%d").tolist()
    return [
        json.dumps(
            {
                "type": "Feature",
                "properties": {
                    "parcel_id": pid,
                    "entity_id": eid,
                    "declared_crop": crop,
                    "declared_area_m2": area,
                    "drawn_date": day,
                },
                "geometry": {"type": "Polygon", "coordinates": [c + c[:1]]},
            },
            separators=(",", ":"),
        )
        for pid, eid, crop, area, day, c in zip(
            parcels["parcel_id"], parcels["entity_id"], crops, np.round(declared_area, 1).tolist(), drawn, coords
        )
    ]


def write_feature_collection(features: list[str], path: pathlib.Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    body = ",\n".join(features)
    path.write_text('{"type":"FeatureCollection","features":[\n' + body + "\n]}\n", encoding="utf-8")


# ---------------------------------------------------------------------------------------------------------------
# Rasters


def make_grid(region_w: float, region_h: float) -> Grid:
    """The fewest tiles of at most MAX_TILE_PX (a multiple of 16) that cover the region, as small as they can be."""
    extent = np.array([region_w, region_h]) / PIXEL_M
    count = np.ceil(extent / MAX_TILE_PX)
    px = int(np.ceil((extent / count).max() / 16) * 16)
    return Grid(px=px, nx=int(math.ceil(extent[0] / px)), ny=int(math.ceil(extent[1] / px)))


def kernel(pixels: np.ndarray, spacing: int, nodes: int) -> np.ndarray:
    """Gaussian weights (len(pixels), nodes) of coarse noise nodes every `spacing` px (node 0 sits 3 nodes out)."""
    pos = (pixels + 0.5) / spacing + 3.0
    return np.exp(-0.5 * (pos[:, None] - np.arange(nodes)[None, :]) ** 2).astype(np.float32)


def smooth_field(rows: np.ndarray, cols: np.ndarray, nodes: list[np.ndarray], spacings) -> np.ndarray:
    """Sum of smooth octaves at global pixel rows x cols: weights @ node noise @ weights.T, seamless across tiles."""
    field = np.zeros((rows.size, cols.size), np.float32)
    for node, spacing in zip(nodes, spacings):
        field += kernel(rows, spacing, node.shape[0]) @ node @ kernel(cols, spacing, node.shape[1]).T
    return field


def node_noise(grid: Grid, spacings, weights, rng: np.random.Generator) -> list[np.ndarray]:
    """Coarse standard-normal node grids covering the region with 3 nodes of margin, one per octave."""
    size = max(grid.nx, grid.ny) * grid.px
    return [
        w * rng.standard_normal((size // s + 8, size // s + 8)).astype(np.float32) for s, w in zip(spacings, weights)
    ]


def draw_cloud_cover(rng: np.random.Generator) -> float:
    """Share of the region under cloud on one date: a quarter of dates nearly clear, the rest 10 % to 100 %."""
    return float(rng.uniform(0.0, 0.05)) if rng.random() < 0.25 else float(0.1 + 0.9 * rng.beta(2.0, 2.0))


def cloud_threshold(grid: Grid, nodes: list[np.ndarray], cover: float) -> tuple[float, float]:
    """(threshold, sd) of the cloud field so that about `cover` of the region lies above the threshold."""
    rows = np.arange(0, grid.ny * grid.px, 8)
    cols = np.arange(0, grid.nx * grid.px, 8)
    sample = smooth_field(rows, cols, nodes, CLOUD_SPACING_PX)
    return float(np.quantile(sample, 1.0 - cover)), float(sample.std())


@dataclass(frozen=True)
class TileBase:
    """What a tile keeps between dates: the planted parcel index + 1 per pixel (0 off-field) and the grass share."""

    tile_id: str
    row: int
    col: int
    parcel_raster: np.ndarray
    grass_share: np.ndarray


def tile_base(grid: Grid, tile: tuple[str, int, int], planted: np.ndarray, grass_nodes) -> TileBase:
    tile_id, row, col = tile
    transform = grid.transform(row, col)
    left, top = transform.c, transform.f
    right, bottom = left + grid.px * PIXEL_M, top - grid.px * PIXEL_M
    xs, ys = planted[..., 0], planted[..., 1]
    hit = np.flatnonzero((xs.max(1) > left) & (xs.min(1) < right) & (ys.max(1) > bottom) & (ys.min(1) < top))
    shapes = ((shapely.Polygon(planted[i]), i + 1) for i in hit.tolist())
    raster = rasterio.features.rasterize(
        shapes, out_shape=(grid.px, grid.px), transform=transform, fill=0, dtype="int32"
    )
    rows = np.arange(row * grid.px, (row + 1) * grid.px)
    cols = np.arange(col * grid.px, (col + 1) * grid.px)
    grass = sigmoid(1.5 * smooth_field(rows, cols, grass_nodes, (GRASS_SPACING_PX,))).astype(np.float32)
    return TileBase(tile_id, row, col, raster, grass)


def scene_bands(
    base: TileBase,
    parcel_ndvi: np.ndarray,
    doy: float,
    opacity: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, float]:
    """(3 x px x px uint16 bands B04, B08, SCL; flagged cloud share) of one scene."""
    shape = base.parcel_raster.shape
    lookup = np.concatenate([[0.0], parcel_ndvi]).astype(np.float32)
    background = np.float32(SOIL_NDVI) + base.grass_share * np.float32(grass_ndvi(doy))
    ndvi = np.where(base.parcel_raster > 0, lookup[base.parcel_raster], background)
    ndvi += np.float32(0.03) * rng.standard_normal(shape, dtype=np.float32)
    ndvi = np.clip(ndvi, -0.2, 0.92)
    red = (0.13 - 0.10 * np.clip(ndvi, 0.0, 0.9)) * (
        1.0 + np.float32(0.04) * rng.standard_normal(shape, dtype=np.float32)
    )
    nir = red * (1.0 + ndvi) / (1.0 - ndvi)
    haze = np.float32(0.015) * rng.standard_normal(shape, dtype=np.float32)
    red = red + opacity * (CLOUD_RED + haze - red)
    nir = nir + opacity * (CLOUD_NIR + haze - nir)
    scl = np.where(ndvi >= 0.3, SCL_VEGETATION, SCL_BARE)
    scl = np.where(opacity >= CLOUD_FLAG_OPACITY, SCL_CLOUD_MEDIUM, scl)
    scl = np.where(opacity >= 0.8, SCL_CLOUD_HIGH, scl)
    dn = [np.clip(np.rint(band * 10_000.0), 1, 65_535).astype(np.uint16) for band in (red, nir)]
    flagged = float(np.mean(scl >= SCL_CLOUD_MEDIUM))
    return np.stack([*dn, scl.astype(np.uint16)]), flagged


def sidecar(scene_id: str, tile_id: str, when: str, cloud: float, grid: Grid, transform) -> dict:
    left, top = transform.c, transform.f
    size = grid.px * PIXEL_M
    return {
        "scene_id": scene_id,
        "tile_id": tile_id,
        "sensor": SENSOR,
        "platform": PLATFORM,
        "processing_level": "L2A",
        "acquisition_time": when,
        "acquisition_time_precision": "second",
        "cloud_cover": round(100.0 * cloud, 2),
        "crs": CRS,
        "bounds": [left, top - size, left + size, top],
        "resolution_m": PIXEL_M,
        "width": grid.px,
        "height": grid.px,
        "bands": list(BANDS),
        "band_descriptions": list(BAND_DESCRIPTIONS),
        "dtype": "uint16",
        "scale": 10_000,
        "nodata": 0,
    }


def truncate(path: pathlib.Path, rng: np.random.Generator) -> None:
    """Cut the file short, as an interrupted download leaves it."""
    os.truncate(path, int(path.stat().st_size * rng.uniform(0.2, 0.7)))


# ---------------------------------------------------------------------------------------------------------------
# Truth and entry point


def season_years(start: dt.date, days: int) -> list[int]:
    return list(range(start.year, (start + dt.timedelta(days=max(days - 1, 0))).year + 1))


def main_season(start: dt.date, days: int) -> int:
    """The year whose growing season (May to September) overlaps the simulated days most."""
    end = start + dt.timedelta(days=days)

    def overlap(year: int) -> int:
        return max(0, (min(end, dt.date(year, 10, 1)) - max(start, dt.date(year, 5, 1))).days)

    return max(season_years(start, days), key=overlap)


def parcels_truth(
    parcels: pd.DataFrame, planted: np.ndarray, declared_area: np.ndarray, weather: dict[int, float], season: int
) -> pa.Table:
    crops = np.array(CROPS, dtype=object)
    field = shapely.polygons(np.concatenate([planted, planted[:, :1]], axis=1)) if len(parcels) else []
    schema = pa.schema(
        [
            ("parcel_id", pa.string()),
            ("entity_id", pa.string()),
            ("crop", pa.string()),
            ("area_m2", pa.float64()),
            ("declared_crop", pa.string()),
            ("declared_area_m2", pa.float64()),
            ("over_declared", pa.bool_()),
            ("vigour", pa.float64()),
            ("sowing_shift_days", pa.float64()),
            ("season_year", pa.int32()),
            ("weather_factor", pa.float64()),
            ("yield_index", pa.float64()),
            ("field_wkb_utm", pa.binary()),
        ],
        metadata={"crs_utm": CRS, "weather_by_season": json.dumps({str(k): v for k, v in weather.items()})},
    )
    return pa.table(
        {
            "parcel_id": parcels["parcel_id"].to_numpy(object),
            "entity_id": parcels["entity_id"].to_numpy(object),
            "crop": crops[parcels["crop"].to_numpy()],
            "area_m2": np.round(shoelace(planted), 1) if len(parcels) else np.zeros(0),
            "declared_crop": crops[parcels["declared_crop"].to_numpy()],
            "declared_area_m2": np.round(declared_area, 1),
            "over_declared": parcels["over_declared"].to_numpy(bool),
            "vigour": parcels["vigour"].to_numpy(float),
            "sowing_shift_days": parcels["sowing_shift"].to_numpy(float),
            "season_year": np.full(len(parcels), season, np.int32),
            "weather_factor": np.full(len(parcels), weather[season]),
            "yield_index": parcels["vigour"].to_numpy(float) * weather[season],
            "field_wkb_utm": shapely.to_wkb(field) if len(parcels) else np.zeros(0, object),
        },
        schema=schema,
    )


def write_late_parcels(
    parcels: pd.DataFrame, declared_area, drawn, day: dt.date, share: float, rng: np.random.Generator, landing
) -> None:
    """A late delivery re-sending a `share` of the plots, wrongly in EPSG:3857 metres (a broken file)."""
    resent = np.sort(rng.choice(len(parcels), max(1, round(share * len(parcels))), replace=False))
    late = parcels.iloc[resent].assign(drawn_date=pd.Timestamp(day))
    features = parcel_features(late, declared_area[resent], to_lonlat(drawn[resent], WEB_MERCATOR), 2)
    write_feature_collection(features, landing / "parcels" / f"dt={day.isoformat()}" / "parcels_update.geojson")


def write_scene(
    base: TileBase, grid: Grid, day: dt.date, parcel_ndvi, cloud_field, bad_rate: float, rng, folder: pathlib.Path
) -> str | None:
    """Write one scene's GeoTIFF and sidecar; return the kind of breakage written, if any."""
    threshold, sd, nodes = cloud_field
    rows = np.arange(base.row * grid.px, (base.row + 1) * grid.px)
    cols = np.arange(base.col * grid.px, (base.col + 1) * grid.px)
    opacity = np.clip((smooth_field(rows, cols, nodes, CLOUD_SPACING_PX) - threshold) / (CLOUD_EDGE * sd), 0.0, 1.0)
    bands, cloud = scene_bands(base, parcel_ndvi, day.timetuple().tm_yday, opacity, rng)
    scene_id = f"SIMS2_{day:%Y%m%d}_{base.tile_id}"
    when = f"{day.isoformat()}T02:41:{17 + (4 * base.row) % 40:02d}Z"  # descending pass: northern tiles first
    transform = grid.transform(base.row, base.col)
    kind = SCENE_FAULTS[int(rng.integers(len(SCENE_FAULTS)))] if rng.random() < bad_rate else None
    tif = folder / f"{scene_id}.tif"
    crs = WRONG_CRS if kind == "tiles.wrong_crs" else CRS
    tags = {"scene_id": scene_id, "scale": "10000", "bands": ",".join(BANDS)}
    write_geotiff(tif, bands, transform, crs, 0, BANDS, BAND_DESCRIPTIONS, tags)
    if kind == "tiles.corrupt_geotiff":
        truncate(tif, rng)
    meta = sidecar(scene_id, base.tile_id, when, cloud, grid, transform)
    (folder / f"{scene_id}.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return kind


def write_tiles(
    parcels: pd.DataFrame,
    planted: np.ndarray,
    grid: Grid,
    weather: dict[int, float],
    start: dt.date,
    days: int,
    bad_rate: float,
    seed: int,
    landing: pathlib.Path,
) -> dict[str, int]:
    """Every 5 days from `start`, one scene per grid tile, written as computed; returns {bad kind: count}."""
    counts = dict.fromkeys(BAD_KINDS, 0)
    grass_nodes = node_noise(grid, (GRASS_SPACING_PX,), (1.0,), np.random.default_rng([seed, 1]))
    bases = [tile_base(grid, tile, planted, grass_nodes) for tile in grid.tiles()]
    crop, shift, vigour = (parcels[c].to_numpy() for c in ("crop", "sowing_shift", "vigour"))
    for t in range(0, days, REVISIT_DAYS):
        day = start + dt.timedelta(days=t)
        day_rng = np.random.default_rng([seed, 2, t])
        factor = vigour * weather[day.year]
        parcel_ndvi = crop_ndvi(crop, day.timetuple().tm_yday, factor, shift) + day_rng.normal(0.0, 0.02, len(crop))
        nodes = node_noise(grid, CLOUD_SPACING_PX, (1.0, 0.35), day_rng)
        cloud_field = (*cloud_threshold(grid, nodes, draw_cloud_cover(day_rng)), nodes)
        folder = landing / "tiles" / f"dt={day.isoformat()}"
        folder.mkdir(parents=True, exist_ok=True)
        for i, base in enumerate(bases):
            scene_rng = np.random.default_rng([seed, 3, t, i])
            kind = write_scene(base, grid, day, parcel_ndvi, cloud_field, bad_rate, scene_rng, folder)
            if kind is not None:
                counts[kind] += 1
    return counts


def write_farms(
    farmers: pd.DataFrame,
    start: dt.date,
    days: int,
    bad_rate: float,
    rng: np.random.Generator,
    out: pathlib.Path,
    habit_signal: float = 1.0,
) -> tuple[pa.Table, dict[str, int]]:
    """Write landing/parcels and landing/tiles under `out`; return (truth parcels table, {bad kind: count}).

    Bad inputs are whole files, each scene broken with probability `bad_rate`: `tiles.corrupt_geotiff` (a truncated
    .tif, sidecar intact) or `tiles.wrong_crs` (a .tif georeferenced in EPSG:32651 while its sidecar says
    EPSG:32652); when `bad_rate` > 0 one late parcels delivery re-sends some plots in EPSG:3857 metres
    (`parcels.wrong_crs`).
    """
    if not 0.0 <= bad_rate < 1.0:
        raise ValueError(f"bad_rate must be in [0, 1), got {bad_rate}")
    landing = pathlib.Path(out) / "landing"
    parcels = draw_parcels(farmers, start, rng, habit_signal)
    cx, cy, region_w, region_h = pack_slots(parcels, rng)
    planted, drawn = place_fields(parcels, cx, cy, rng)
    declared_area = np.where(
        parcels["over_declared"].to_numpy(), shoelace(drawn), shoelace(planted) * (1.0 + parcels["declared_noise"])
    )
    weather = {year: float(np.exp(rng.normal(0.0, 0.08))) for year in season_years(start, days)}
    seed = int(rng.integers(2**63))
    truth = parcels_truth(parcels, planted, declared_area, weather, main_season(start, days))

    features = parcel_features(parcels, declared_area, to_lonlat(drawn), 7)
    write_feature_collection(features, landing / "parcels" / f"dt={start.isoformat()}" / "parcels.geojson")
    if len(parcels) == 0:
        return truth, dict.fromkeys(BAD_KINDS, 0)
    counts = write_tiles(parcels, planted, make_grid(region_w, region_h), weather, start, days, bad_rate, seed, landing)
    if bad_rate > 0:
        late_day = start + dt.timedelta(days=days // 2)
        write_late_parcels(parcels, declared_area, drawn, late_day, bad_rate, np.random.default_rng([seed, 0]), landing)
        counts["parcels.wrong_crs"] += 1
    return truth, counts

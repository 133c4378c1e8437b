"""Real satellite data in the landing formats of the farm sources (landing/tiles and landing/parcels).

Two public datasets from `../shared/data` (see its README):

- `sentinel2_ndvi_slovenia/TestEOPatch`: 68 Sentinel-2 L1C acquisitions over 1 km2 of central Slovenia, delivered
  by eo-learn as NDVI arrays (no reflectance bands) with an s2cloudless cloud mask. Each acquisition becomes one
  GeoTIFF of two int16 bands, NDVI x10000 and CLM (1 = cloud), in the patch's own CRS (EPSG:32633); the cultivated
  land, grassland and forest polygons of its land-use layer that lie inside the patch become parcels, one farmer
  each, their declared crop the land-use class (a polygon with holes is left out: a parcel is a simple polygon).
- `landsat8_parana`: one Landsat-8 L1TP scene on the Parana / Paraguay border, bands B2, B3, B4 (blue, green, red,
  quantised DN, no near-infrared). They become one three-band GeoTIFF as they are (EPSG:32621); the `crop` polygon
  of the labelled polygons becomes a parcel.

Parcels are written as RFC 7946 GeoJSON in EPSG:4326, their declared crop the land-use class where the source has
one (Slovenia) and `unknown` where it has none (Parana), their declared area the polygon's area in its source CRS.
Nothing is invented: what a source does not give is null or says so.
"""

from __future__ import annotations

import datetime as dt
import json
import pathlib

import numpy as np
import rasterio
import rasterio.warp
import shapely
from pyogrio.raw import read as read_vector

from jobs.landing_writers import landing_path, write_geotiff

SLOVENIA = "sentinel2_ndvi_slovenia"
PARANA = "landsat8_parana"
LANDSAT_SCENE = "LC08_L1TP_224078_20200518_20200518_01_RT"
NDVI_NODATA = -32768
LAND_USE_PARCELS = ("cultivated land", "grassland", "forest")  # the Slovenian land-use classes written as parcels


def write_json(path: pathlib.Path, doc: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")


def epsg(crs) -> str:
    return f"EPSG:{rasterio.crs.CRS.from_user_input(crs).to_epsg()}"


def sidecar(scene_id: str, tile_id: str, when: str, precision: str, cloud: float | None, crs, transform, shape, **rest):
    height, width = shape
    bounds = rasterio.transform.array_bounds(height, width, transform)
    return {
        "scene_id": scene_id,
        "tile_id": tile_id,
        "acquisition_time": when,
        "acquisition_time_precision": precision,
        "cloud_cover": None if cloud is None else round(100.0 * cloud, 2),
        "crs": epsg(crs),
        "bounds": [bounds[0], bounds[1], bounds[2], bounds[3]],
        "resolution_m": round(abs(transform.a), 3),
        "width": width,
        "height": height,
    } | rest


def parcel_features(polygons, crs, prefix: str, drawn: list[str], crops: list[str]) -> list[dict]:
    """GeoJSON Features (EPSG:4326, counter-clockwise exterior rings) of one farmer per polygon."""
    features = []
    for i, (polygon, day, crop) in enumerate(zip(polygons, drawn, crops, strict=True), start=1):
        lonlat = shapely.geometry.shape(
            rasterio.warp.transform_geom(crs, "EPSG:4326", shapely.geometry.mapping(polygon))
        )
        lonlat = shapely.geometry.polygon.orient(shapely.set_precision(lonlat, 1e-7), 1.0)
        features.append(
            {
                "type": "Feature",
                "properties": {
                    "parcel_id": f"{prefix}-P{i:04d}",
                    "entity_id": f"{prefix}-{i:04d}",
                    "declared_crop": crop,
                    "declared_area_m2": round(float(polygon.area), 1),
                    "drawn_date": day,
                },
                "geometry": shapely.geometry.mapping(lonlat),
            }
        )
    return features


def write_parcels(features: list[dict], path: pathlib.Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ",\n".join(json.dumps(f, separators=(",", ":")) for f in features)
    path.write_text('{"type":"FeatureCollection","features":[\n' + lines + "\n]}\n", encoding="utf-8")


def adapt_slovenia(folder: pathlib.Path, out: pathlib.Path) -> int:
    """One NDVI + cloud-mask GeoTIFF (and sidecar) per acquisition, and the cultivated land, grassland and forest
    parcels; files written."""
    box = json.loads((folder / "bbox.geojson").read_text())
    crs = box["crs"]["properties"]["name"]
    left, bottom, right, top = shapely.geometry.shape(box).bounds
    ndvi = np.load(folder / "data" / "NDVI.npy")[..., 0]
    cloud = np.load(folder / "mask" / "CLM.npy")[..., 0]
    is_data = np.load(folder / "mask" / "IS_DATA.npy")[..., 0].astype(bool)
    times = json.loads((folder / "timestamps.json").read_text())
    _, height, width = ndvi.shape
    transform = rasterio.Affine((right - left) / width, 0.0, left, 0.0, -(top - bottom) / height, top)
    written = 0
    for k, stamp in enumerate(times):
        when = dt.datetime.fromisoformat(stamp)
        scene_id = f"S2_{when:%Y%m%dT%H%M%S}_SI-TestEOPatch"
        scaled = np.where(is_data[k], np.rint(ndvi[k] * 10_000.0), NDVI_NODATA).astype(np.int16)
        mask = np.where(is_data[k], cloud[k], NDVI_NODATA).astype(np.int16)
        folder_out = landing_path(out, "tiles", when.date(), "")
        names = ("NDVI", "CLM")
        descriptions = (
            "NDVI x10000, by eo-learn from Sentinel-2 L1C B04 and B08 (the reflectance bands are not delivered)",
            "CLM s2cloudless cloud mask: 0 clear, 1 cloud",
        )
        write_geotiff(
            folder_out / f"{scene_id}.tif", np.stack([scaled, mask]), transform, crs, NDVI_NODATA, names, descriptions
        )
        meta = sidecar(
            scene_id,
            "SI-TestEOPatch",
            f"{stamp}Z",
            "second",
            float(cloud[k][is_data[k]].mean()) if is_data[k].any() else None,
            crs,
            transform,
            (height, width),
            sensor="MSI",
            platform="Sentinel-2",
            processing_level="L1C",
            bands=list(names),
            band_descriptions=list(descriptions),
            dtype="int16",
            scale=10_000,
            nodata=NDVI_NODATA,
        )
        write_json(folder_out / f"{scene_id}.json", meta)
        written += 2

    info, _, geometry, fields = read_vector(folder / "vector_timeless" / "LULC.gpkg", columns=["DATE", "LULC_NAME"])
    field = dict(zip(info["fields"], fields))  # pyogrio returns the columns in the file's order
    polygons = shapely.from_wkb(geometry)
    keep = (
        np.isin(field["LULC_NAME"], LAND_USE_PARCELS)
        & shapely.within(polygons, shapely.box(left, bottom, right, top))
        & (shapely.get_num_interior_rings(polygons) == 0)
    )
    drawn = [str(d) for d in field["DATE"][keep]]
    if keep.any():
        features = parcel_features(polygons[keep], crs, "SI", drawn, [str(c) for c in field["LULC_NAME"][keep]])
        write_parcels(features, landing_path(out, "parcels", dt.date.fromisoformat(max(drawn)), "parcels.geojson"))
        written += 1
    return written


def adapt_parana(folder: pathlib.Path, out: pathlib.Path) -> int:
    """The Landsat-8 blue, green and red bands as one GeoTIFF (and sidecar), and the `crop` polygon as a parcel."""
    names = ("B2", "B3", "B4")
    bands = []
    for name in names:
        with rasterio.open(folder / f"{LANDSAT_SCENE}_{name}.TIF") as src:
            bands.append(src.read(1))
            crs, transform = src.crs, src.transform
    day = dt.date(2020, 5, 18)  # from the product id; the scene's metadata file (with the time) is not delivered
    descriptions = (
        "B2 blue (0.45-0.51 um), Landsat-8 OLI Level-1 quantised calibrated DN (not reflectance), 0 = fill",
        "B3 green (0.53-0.59 um), Landsat-8 OLI Level-1 quantised calibrated DN (not reflectance), 0 = fill",
        "B4 red (0.64-0.67 um), Landsat-8 OLI Level-1 quantised calibrated DN (not reflectance), 0 = fill",
    )
    folder_out = landing_path(out, "tiles", day, "")
    stack = np.stack(bands)
    write_geotiff(folder_out / f"{LANDSAT_SCENE}.tif", stack, transform, crs, 0, names, descriptions)
    meta = sidecar(
        LANDSAT_SCENE,
        "WRS2-224078",
        f"{day.isoformat()}T00:00:00Z",
        "day",
        None,
        crs,
        transform,
        stack.shape[1:],
        sensor="OLI",
        platform="Landsat-8",
        processing_level="L1TP",
        bands=list(names),
        band_descriptions=list(descriptions),
        dtype="uint16",
        scale=None,
        nodata=0,
    )
    write_json(folder_out / f"{LANDSAT_SCENE}.json", meta)

    info_crs = epsg(crs)
    _, _, geometry, fields = read_vector(folder / f"{LANDSAT_SCENE}_polygons.gpkg", columns=["name"])
    crops = shapely.from_wkb(geometry)[fields[0] == "crop"]
    # The polygons were labelled on this scene and carry no date of their own: the scene's date stands for it.
    features = parcel_features(crops, info_crs, "PR", [day.isoformat()] * len(crops), ["unknown"] * len(crops))
    write_parcels(features, landing_path(out, "parcels", day, "parcels.geojson"))
    return 3


ADAPTERS = {SLOVENIA: ("TestEOPatch", adapt_slovenia), PARANA: ("", adapt_parana)}


def adapt_satellite(data_dir: pathlib.Path, out: pathlib.Path) -> dict[str, int]:
    """Write the real datasets found under `data_dir` as landing tiles and parcels under `out`; return the number of
    files written per dataset (0 for a dataset whose folder is absent)."""
    data_dir, out = pathlib.Path(data_dir), pathlib.Path(out)
    written = {}
    for name, (sub, adapt) in ADAPTERS.items():
        folder = data_dir / name / sub if sub else data_dir / name
        written[name] = adapt(folder, out) if folder.is_dir() else 0
    return written

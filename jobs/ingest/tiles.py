"""Satellite scenes: each GeoTIFF with its sidecar to bronze.tiles (a reference to the file, its checksum and what
its header says, never the pixels), typed to silver.scenes."""

from __future__ import annotations

from pathlib import Path

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from jobs.catalog import contract
from jobs.errors import FileProblem
from jobs.ingest.file_units import group_units, read_sidecar, read_units
from jobs.ingest.landing import LandingFile, sha256
from jobs.ingest.source import Source, blank, reject_reasons

ISO_UTC = "yyyy-MM-dd'T'HH:mm:ssX"
BOUNDS_TOLERANCE = 0.01  # in the CRS's units (metres, or degrees for a geographic CRS)


def crs_name(crs) -> str | None:
    """`EPSG:<code>` as sidecars write it, or the CRS's own string when it has no EPSG code."""
    if crs is None:
        return None
    code = crs.to_epsg()
    return f"EPSG:{code}" if code else crs.to_string()


def read_geotiff_header(path: Path) -> dict:
    """What the GeoTIFF's header says (crs, size, band count, data type, bounds), after reading every block of every
    band, so a file cut short is found; FileProblem when it cannot be opened or read in full."""
    import rasterio
    import rasterio.errors

    try:
        with rasterio.Env(GDAL_DISABLE_READDIR_ON_OPEN="EMPTY_DIR"), rasterio.open(path) as src:
            for _, window in src.block_windows(1):
                src.read(window=window)
            return {
                "file_crs": crs_name(src.crs),
                "file_width": src.width,
                "file_height": src.height,
                "band_count": src.count,
                "file_dtype": ",".join(dict.fromkeys(src.dtypes)),
                "file_bounds": [float(b) for b in src.bounds],
            }
    except (rasterio.errors.RasterioError, OSError) as e:
        raise FileProblem(f"corrupt GeoTIFF: {path.name} cannot be read in full ({str(e)[:200]})") from None


def read_scene(unit: dict) -> list[dict]:
    """One bronze row for a scene (its .tif and .json sidecar); FileProblem when a file is missing or unreadable, or
    when the GeoTIFF's CRS is not its sidecar's (wrong_crs)."""
    folder, stem = Path(unit["folder"]), unit["unit"]
    tif = folder / f"{stem}.tif"
    if not tif.exists():
        raise FileProblem(f"incomplete scene: {tif.name} is missing beside its sidecar")
    sidecar, meta = read_sidecar(folder / f"{stem}.json", missing="incomplete scene")
    header = read_geotiff_header(tif)
    if header["file_crs"] != meta.get("crs"):
        raise FileProblem(f"wrong CRS: the GeoTIFF says {header['file_crs']}, its sidecar {meta.get('crs')}")
    checksum = unit["main_checksum"] or sha256(tif)
    return [{"sidecar": sidecar, "tif_path": str(tif), "tif_checksum": checksum, **header}]


def read_tiles(spark, files: list[LandingFile], run_id: str, max_bytes: int) -> DataFrame:
    """A `Source.read`: one row per scene of the batch, its files opened and checked on the executors."""
    units = group_units(files, (".tif",), (".json",))
    return read_units(spark, units, read_scene, "bronze.tiles", run_id, max_bytes)


def typed_scenes(bronze: DataFrame) -> DataFrame:
    """Bronze scene rows -> silver.scenes columns: the sidecar's fields typed by the landing contract, the header
    read from the file, and `_reject_reason` where a field is missing or the sidecar disagrees with the file."""
    meta = F.from_json("sidecar", contract("landing.tiles").struct_type())
    from_file = ("width", "height", "dtype", "bounds")  # the header's word, once the sidecar is found to agree
    sidecar_fields = [c for c in contract("landing.tiles").column_names if c not in from_file]
    ts = F.try_to_timestamp(F.col("_meta.acquisition_time"), F.lit(ISO_UTC))
    off_bounds = F.exists(
        F.zip_with("_meta.bounds", "file_bounds", lambda a, b: F.abs(a - b) > BOUNDS_TOLERANCE), lambda x: x
    )
    typed = (
        bronze.withColumn("_meta", meta)
        .withColumns({c: F.col(f"_meta.{c}") for c in sidecar_fields})
        .withColumn("acquisition_time", ts)
        .withColumn("acquisition_date", F.to_date(ts))
        .withColumn("width", F.col("file_width"))
        .withColumn("height", F.col("file_height"))
        .withColumn("dtype", F.col("file_dtype"))
        .withColumn("bounds", F.col("file_bounds"))
        .withColumn("arrived_date", F.col("_dt"))
    )
    required = ["scene_id", "tile_id", "sensor", "platform", "processing_level", "acquisition_time_precision"]
    return reject_reasons(
        typed,
        {
            **{f"missing {c}": blank(c) for c in required},
            "unparseable acquisition_time": F.col("acquisition_time").isNull(),
            "missing resolution_m": F.col("resolution_m").isNull(),
            "missing nodata": F.col("nodata").isNull(),
            "scene_id is not the file's name": F.col("scene_id") != F.regexp_extract("tif_path", r"([^/]+)\.tif$", 1),
            "sidecar width is not the file's": ~F.col("_meta.width").eqNullSafe(F.col("file_width")),
            "sidecar height is not the file's": ~F.col("_meta.height").eqNullSafe(F.col("file_height")),
            "sidecar dtype is not the file's": ~F.col("_meta.dtype").eqNullSafe(F.col("file_dtype")),
            "sidecar bands are not the file's": F.coalesce(F.size("bands"), F.lit(-1)) != F.col("band_count"),
            "sidecar bounds are not the file's": F.coalesce((F.size("_meta.bounds") != 4) | off_bounds, F.lit(True)),
        },
    ).drop("_meta")


SOURCE = Source(name="tiles", silver="silver.scenes", typed=typed_scenes, read=read_tiles)

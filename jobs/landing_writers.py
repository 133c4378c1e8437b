"""Landing files as the landing contracts (`schemas/landing/`) describe them, for anyone who brings data: the
adapters of real public data, the simulator, a bank's own extracts. One place for the landing layout
(`<out>/landing/<source>/dt=YYYY-MM-DD/<file>`) and for each file format's writer."""

from __future__ import annotations

import datetime as dt
import json
import pathlib

import numpy as np
import pandas as pd
import rasterio

from jobs.catalog import contract


def landing_path(out: pathlib.Path, source: str, day: dt.date, name: str) -> pathlib.Path:
    return pathlib.Path(out) / "landing" / source / f"dt={day.isoformat()}" / name


def write_csv(rows: pd.DataFrame, out: pathlib.Path, source: str, day: dt.date) -> pathlib.Path:
    """One day's rows of a CSV source as `<source>.csv`: UTF-8, comma-separated, a header in the contract's column
    order, amounts with two decimals."""
    path = landing_path(out, source, day, f"{source}.csv")
    path.parent.mkdir(parents=True, exist_ok=True)
    columns = contract(f"landing.{source}").column_names
    text = rows[columns].to_csv(index=False, float_format="%.2f", lineterminator="\n")
    path.write_bytes(text.encode("utf-8"))
    return path


def write_geotiff(
    path: pathlib.Path, bands: np.ndarray, transform, crs, nodata, names, descriptions, tags: dict | None = None
) -> None:
    """Deflate-compressed, tiled, named bands, no timestamp: identical bands give identical bytes. `tags` go on the
    dataset."""
    path.parent.mkdir(parents=True, exist_ok=True)
    count, height, width = bands.shape
    blocks = {"tiled": True, "blockxsize": 256, "blockysize": 256} if min(width, height) >= 256 else {}
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=width,
        height=height,
        count=count,
        dtype=bands.dtype.name,
        crs=crs,
        transform=transform,
        nodata=nodata,
        compress="deflate",
        zlevel=1,  # noisy reflectance: level 1 is as small as 6 and twice as fast
        **blocks,
    ) as dst:
        dst.write(bands)
        for i, (name, description) in enumerate(zip(names, descriptions), start=1):
            dst.set_band_description(i, name)
            dst.update_tags(i, description=description)
        if tags:
            dst.update_tags(**tags)


def voucher_sidecar(
    voucher_id: str,
    entity_id: str,
    voucher_type: str,
    submitted_at: str,
    image: bool,
    file_name: str,
    ocr_file: str | None,
) -> str:
    """A voucher's metadata sidecar (`<voucher_id>.json`) for its document `file_name` and, when one came, the
    upstream OCR's reading `ocr_file`."""
    meta = {
        "voucher_id": voucher_id,
        "entity_id": entity_id,
        "declared_type": voucher_type,
        "submitted_at": submitted_at,
        "file_name": file_name,
        "image": image,
        "ocr_file": ocr_file,
    }
    return json.dumps(meta, indent=2) + "\n"

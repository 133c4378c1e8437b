"""File-based landing sources (parcels, tiles, vouchers) -> bronze -> silver: whole bad files to quarantine with the
simulator's counts, the rest accepted once, real data accepted, and the pure transforms on inline rows."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from pyspark.sql import functions as F

from jobs import pipeline, tables
from jobs.documents.taxonomy import load_taxonomy
from jobs.ingest.file_units import group_units
from jobs.ingest.landing import LandingFile, discover
from jobs.ingest.parcels import geometry_facts, outside_lonlat, typed_parcels
from jobs.ingest.source import of_files
from jobs.ingest.tiles import typed_scenes
from jobs.quality import suite_json
from simulator.world import WorldSpec, simulate

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
FILE_SOURCES = ["entities", "parcels", "tiles", "vouchers"]
ENTITY_HEADER = "entity_id,segment,registered_date,city,country,owner_name,owner_id_scheme,owner_id_number,owner_phone"


def by_source(counts):
    return {c["source"]: c for c in counts}


def file_rejects(spark, settings, source: str) -> dict[str, int]:
    """Quarantined whole files of a source, counted by the reason's kind (the words before its colon)."""
    rows = tables.read(spark, settings, f"quarantine.{source}").where("stage = 'file'").collect()
    kinds: dict[str, int] = {}
    for r in rows:
        kind = r.reason.split(":", 1)[0]
        kinds[kind] = kinds.get(kind, 0) + 1
    return kinds


@pytest.mark.integration
def test_a_simulated_world_quarantines_exactly_its_broken_files(spark, settings, tmp_path):
    world = simulate(WorldSpec(entities=60, days=30, start=dt.date(2025, 6, 1), seed=49, bad_rate=0.05), tmp_path)
    bad = world["bad_inputs"]
    kinds = ["tiles.corrupt_geotiff", "parcels.wrong_crs", "vouchers.corrupt_pdf", "vouchers.encrypted_pdf"]
    assert all(bad[k] > 0 for k in [*kinds, "vouchers.bad_sidecar"]), bad
    landing = str(tmp_path / "landing")
    counts = by_source(pipeline.ingest(landing, FILE_SOURCES, settings=settings))

    tiles, parcels, vouchers = (file_rejects(spark, settings, s) for s in ("tiles", "parcels", "vouchers"))
    assert tiles.get("corrupt GeoTIFF", 0) == bad["tiles.corrupt_geotiff"]
    assert tiles.get("wrong CRS", 0) == bad["tiles.wrong_crs"]
    assert parcels["wrong CRS"] == bad["parcels.wrong_crs"]
    assert vouchers.get("corrupt PDF", 0) == bad["vouchers.corrupt_pdf"]
    assert vouchers.get("encrypted PDF", 0) == bad["vouchers.encrypted_pdf"]
    assert vouchers.get("bad sidecar", 0) == bad["vouchers.bad_sidecar"]
    assert set(tiles) <= {"corrupt GeoTIFF", "wrong CRS"} and set(parcels) == {"wrong CRS"}

    truth_parcels = pq.read_table(tmp_path / "truth" / "parcels.parquet").to_pandas()
    truth_vouchers = pq.read_table(tmp_path / "truth" / "vouchers.parquet").to_pandas()
    scenes_delivered = len(list((tmp_path / "landing" / "tiles").glob("*/*.tif")))
    for source, c in counts.items():
        assert c["bronze_rows"] == c["accepted"] + c["duplicates"] + c["quarantined"], c
        assert c["quarantined"] == 0, (source, c)  # every fault the simulator injects is a whole file
    assert counts["parcels"]["accepted"] == len(truth_parcels) and counts["parcels"]["rejected_files"] == 1
    assert counts["tiles"]["accepted"] == scenes_delivered - sum(tiles.values())
    assert counts["tiles"]["rejected_files"] == sum(tiles.values())
    assert counts["vouchers"]["accepted"] == (truth_vouchers["bad_input"].isna()).sum()
    assert counts["vouchers"]["rejected_files"] == sum(vouchers.values())

    silver = tables.read(spark, settings, "silver.voucher_documents").toPandas().set_index("voucher_id")
    truth = truth_vouchers.set_index("voucher_id").loc[silver.index]
    assert (silver["image"] == truth["image"]).all() and (silver["has_text_layer"] == ~truth["image"]).all()
    assert (
        silver.loc[silver["image"], "ocr_path"].notna().all() and silver.loc[~silver["image"], "ocr_path"].isna().all()
    )
    assert (silver["page_count"] == 1).all()
    owners = pq.read_table(tmp_path / "truth" / "entities.parquet").column("owner_name").to_pylist()
    text = " ".join(
        str(v)
        for t in ("bronze.vouchers", "silver.voucher_documents")
        for r in tables.read(spark, settings, t).collect()
        for v in r
    )
    assert not [o for o in owners if o and o in text], "owners' names printed on documents stay in the files"

    drawn = tables.read(spark, settings, "silver.parcels").toPandas().set_index("parcel_id")
    over = truth_parcels.set_index("parcel_id").query("over_declared")
    assert len(over) > 0  # over-declared plots declare their drawn area: shapely measures it back
    ratio = drawn.loc[over.index, "area_m2_drawn"] / over["declared_area_m2"]
    assert ratio.between(0.999, 1.001).all(), ratio.describe()

    scene = tables.read(spark, settings, "silver.scenes").first()
    assert scene.crs == "EPSG:32652" and scene.band_count == 3 and scene.dtype == "uint16"
    assert Path(scene.tif_path).exists() and len(scene.tif_checksum) == 64

    snapshot = {
        t: tables.read(spark, settings, t).count()
        for t in [f"{layer}.{s}" for s in ("parcels", "tiles", "vouchers") for layer in ("bronze", "quarantine")]
        + ["silver.parcels", "silver.scenes", "silver.voucher_documents"]
    }
    again = pipeline.ingest(landing, FILE_SOURCES, settings=settings)
    assert [c["files"] for c in again] == [0, 0, 0, 0]
    assert {t: tables.read(spark, settings, t).count() for t in snapshot} == snapshot


def registry_for(landing: Path, entity_ids: list[str], segment: str, name: str) -> None:
    """An entities landing file registering the real data's synthetic entities."""
    path = landing / "entities" / "dt=2015-01-01" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [f"{e},{segment},2015-01-01,,,,,," for e in entity_ids]
    path.write_text("\n".join([ENTITY_HEADER, *lines]) + "\n", encoding="utf-8")


@pytest.mark.realdata
def test_real_satellite_data_and_invoices_ingest_without_rejects(spark, settings, tmp_path):
    from jobs.adapt.invoices import adapt_invoices
    from jobs.adapt.satellite import adapt_satellite

    needed = [DATA / "sentinel2_ndvi_slovenia", DATA / "landsat8_parana", DATA / "invoices"]
    if not all(p.is_dir() for p in needed):
        pytest.skip(f"real satellite data and invoices not found under {DATA} (it sits beside the project root in CI)")
    adapt_satellite(DATA, tmp_path)
    invoices = adapt_invoices(DATA, tmp_path)["invoices"]
    landing = tmp_path / "landing"
    features = [f for p in landing.glob("parcels/*/*.geojson") for f in json.loads(p.read_text())["features"]]
    farmers = sorted({f["properties"]["entity_id"] for f in features})
    registry_for(landing, farmers, "farmer", "farmers.csv")
    owners = sorted(json.loads(p.read_text())["entity_id"] for p in landing.glob("vouchers/*/RV-*.json"))
    registry_for(landing, owners, "offline_merchant", "invoice_owners.csv")
    scenes = len(list(landing.glob("tiles/*/*.tif")))

    counts = by_source(pipeline.ingest(str(landing), FILE_SOURCES, settings=settings))
    for source in ("parcels", "tiles", "vouchers"):
        c = counts[source]
        assert (c["quarantined"], c["rejected_files"], c["duplicates"]) == (0, 0, 0), c
        assert tables.read(spark, settings, f"quarantine.{source}").count() == 0
    assert counts["parcels"]["accepted"] == len(features) > 1
    assert counts["tiles"]["accepted"] == scenes == 69  # 68 Sentinel-2 acquisitions and one Landsat-8 scene
    assert counts["vouchers"]["accepted"] == invoices == 9
    landsat = tables.read(spark, settings, "silver.scenes").where("platform = 'Landsat-8'").first()
    assert (landsat.crs, landsat.width, landsat.height, landsat.band_count) == ("EPSG:32621", 2041, 1860, 3)
    assert landsat.cloud_cover is None and landsat.acquisition_time_precision == "day"
    docs = tables.read(spark, settings, "silver.voucher_documents")
    assert docs.where("has_text_layer AND NOT image").count() == invoices
    assert {r.page_count for r in docs.collect()} == {1, 2}
    areas = tables.read(spark, settings, "silver.parcels").select("area_m2_drawn", "declared_area_m2").collect()
    assert all(abs(r.area_m2_drawn / r.declared_area_m2 - 1) < 0.01 for r in areas)  # UTM area of the source's


def test_units_group_a_document_with_its_sidecars(tmp_path):
    folder = tmp_path / "vouchers" / "dt=2025-06-01"
    folder.mkdir(parents=True)
    for name in ("V1.pdf", "V1.json", "V1.ocr.json", "V2.json", "notes.txt"):
        (folder / name).write_text("x")
    units = {u["unit"]: u for u in group_units(discover(tmp_path, "vouchers"), (".pdf",), (".json", ".ocr.json"))}
    assert sorted(units) == ["V1", "V2", "notes.txt"]
    assert units["V1"]["_source_file"].endswith("V1.pdf") and units["V1"]["main_checksum"]
    assert units["V2"]["_source_file"].endswith("V2.json") and units["V2"]["main_checksum"] is None
    assert units["notes.txt"]["problem"].startswith("unexpected file")


def test_a_unit_with_a_file_over_the_limit_is_not_opened(spark, tmp_path):
    """A sidecar over LANDING_MAX_FILE_MB is quarantined, and its document with it, unopened; so is a document
    delivered before whose corrected sidecar comes now. The rest of the batch is read."""
    from jobs.ingest import vouchers
    from jobs.ingest.source import read_batch

    folder = tmp_path / "vouchers" / "dt=2025-06-01"
    folder.mkdir(parents=True)
    (folder / "V1.pdf").write_text("%PDF-1.4 small")
    (folder / "V1.json").write_text("{" + " " * 2000 + "}")  # 2,002 bytes, over the limit of 1,000
    (folder / "V2.pdf").write_text("%PDF-1.4 small, not a PDF")
    (folder / "V2.json").write_text("{}")
    (folder / "V3.pdf").write_bytes(b"%PDF" + b"\0" * 5000)  # delivered in an earlier batch
    (folder / "V3.json").write_text("{}")
    batch = [f for f in discover(tmp_path, "vouchers") if not f.name.endswith("V3.pdf")]

    landed, rejected = read_batch(spark, vouchers.SOURCE, batch, str(tmp_path), "run-1", max_bytes=1000)
    landed.unpersist()
    reasons = {name.rsplit("/", 1)[1]: reason for name, reason in rejected.items()}
    limit = "over the limit of 1,000 (LANDING_MAX_FILE_MB): not read"
    assert reasons["V1.json"] == f"too large: 2,002 bytes, {limit}"
    assert reasons["V1.pdf"] == f"its file V1.json is too large: 2,002 bytes, {limit}"
    assert reasons["V3.json"] == f"its file V3.pdf is too large: 5,004 bytes, {limit}"
    assert reasons["V2.pdf"].startswith("corrupt PDF")  # opened and read: the rest of the batch goes on


def test_a_photo_is_a_document_and_a_broken_one_is_quarantined_with_its_reason(spark, tmp_path):
    from PIL import Image

    from jobs.ingest import vouchers
    from jobs.ingest.source import read_batch

    folder = tmp_path / "vouchers" / "dt=2025-06-01"
    folder.mkdir(parents=True)
    Image.new("RGB", (40, 30), "white").save(folder / "V4.jpg")
    (folder / "V4.json").write_text('{"voucher_id": "V4"}')
    (folder / "V5.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 40)  # a PNG's signature, then nothing
    (folder / "V5.json").write_text('{"voucher_id": "V5"}')

    landed, rejected = read_batch(spark, vouchers.SOURCE, discover(tmp_path, "vouchers"), str(tmp_path), "r", 10**6)
    rows = landed.where(F.col("_file_problem").isNull()).select("pdf_path", "page_count", "has_text_layer").collect()
    landed.unpersist()
    assert [(Path(r.pdf_path).name, r.page_count, r.has_text_layer) for r in rows] == [("V4.jpg", 1, False)]
    reasons = {name.rsplit("/", 1)[1]: reason for name, reason in rejected.items()}
    assert list(reasons) == ["V5.png"] and reasons["V5.png"].startswith("corrupt image: V5.png cannot be read")


def test_geometry_facts_measure_valid_polygons_in_their_utm_zone():
    square = {"type": "Polygon", "coordinates": [[[131.65, 47.37], [131.66, 47.37], [131.66, 47.38], [131.65, 47.38]]]}
    square["coordinates"][0].append(square["coordinates"][0][0])
    bowtie = {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}
    point = {"type": "Point", "coordinates": [1, 2]}
    facts = geometry_facts(pd.Series([json.dumps(g) for g in (square, bowtie, point)] + [None]))
    assert 835_000 < facts.area_m2[0] < 845_000  # 0.01 deg x 0.01 deg at 47.4 N: about 753 m x 1112 m
    assert facts.problem.tolist()[0] is None and facts.problem[1].startswith("invalid polygon")
    assert facts.problem[2] == facts.problem[3] == "not a Polygon geometry"
    assert outside_lonlat(square) is None
    assert outside_lonlat({"type": "Polygon", "coordinates": [[[14_655_000.0, 6_000_000.0]]]}) == (14_655_000.0, 6e6)


def test_typed_parcels_reject_what_cannot_be_typed(spark):
    ring = [[131.65, 47.37], [131.651, 47.37], [131.651, 47.371], [131.65, 47.37]]
    geometry = json.dumps({"type": "Polygon", "coordinates": [ring]})
    rows = [
        ("P1", "E1", "corn", "1234.5", "2025-06-01", geometry, None),
        ("P2", "E1", "corn", "lots", "2025-06-01", geometry, None),
        ("P3", "", "corn", "10", "06/01/2025", None, None),
        (None, None, None, None, None, None, "[1, 2]"),
    ]
    bronze = spark.createDataFrame(
        rows,
        "parcel_id string, entity_id string, declared_crop string, declared_area_m2 string, drawn_date string,"
        " geometry string, _corrupt_record string",
    ).withColumn("_dt", F.lit(dt.date(2025, 6, 2)))
    typed = {r.parcel_id: r for r in typed_parcels(bronze).collect()}
    p1 = typed["P1"]
    assert p1._reject_reason is None and p1.declared_area_m2 == 1234.5 and p1.drawn_date == dt.date(2025, 6, 1)
    assert 3_000 < p1.area_m2_drawn < 5_000 and p1.arrived_date == dt.date(2025, 6, 2)
    assert typed["P2"]._reject_reason == "unparseable declared_area_m2"
    assert typed["P3"]._reject_reason == "missing entity_id; unparseable drawn_date; missing geometry"
    assert typed[None]._reject_reason.startswith("malformed feature")


def test_typed_scenes_trust_the_header_only_where_the_sidecar_agrees(spark):
    sidecar = {
        "scene_id": "S1", "tile_id": "T", "sensor": "MSI", "platform": "p", "processing_level": "L2A",
        "acquisition_time": "2025-07-20T02:41:17Z", "acquisition_time_precision": "second", "cloud_cover": 12.5,
        "crs": "EPSG:32652", "bounds": [0, 0, 100, 100], "resolution_m": 10, "width": 10, "height": 10,
        "bands": ["B04", "B08", "SCL"], "band_descriptions": ["r", "n", "s"], "dtype": "uint16", "scale": 10000,
        "nodata": 0,
    }  # fmt: skip
    header = (10, 10, 3, "uint16", [0.0, 0.0, 100.0, 100.0])
    rows = [
        (json.dumps(sidecar), "/l/S1.tif", *header),
        (json.dumps({**sidecar, "scene_id": "S2", "width": 20}), "/l/S2.tif", *header),
        (json.dumps({**sidecar, "scene_id": "S3", "bounds": [0, 0, 90, 100]}), "/l/S3.tif", *header),
    ]
    bronze = spark.createDataFrame(
        rows,
        "sidecar string, tif_path string, file_width int, file_height int, band_count int, file_dtype string,"
        " file_bounds array<double>",
    ).withColumn("_dt", F.lit(dt.date(2025, 7, 21)))
    typed = {r.scene_id: r for r in typed_scenes(bronze).collect()}
    s1 = typed["S1"]
    assert s1._reject_reason is None and s1.acquisition_time == dt.datetime(2025, 7, 20, 2, 41, 17)
    assert (s1.cloud_cover, s1.bands, s1.scale, s1.acquisition_date) == (
        12.5, ["B04", "B08", "SCL"], 10_000.0, dt.date(2025, 7, 20)
    )  # fmt: skip
    assert typed["S2"]._reject_reason == "sidecar width is not the file's"
    assert typed["S3"]._reject_reason == "sidecar bounds are not the file's"


def test_voucher_suite_knows_every_type_of_the_taxonomy():
    types = next(
        e["kwargs"]["value_set"]
        for e in suite_json("silver.voucher_documents")["expectations"]
        if e["kwargs"].get("column") == "declared_type"
    )
    assert sorted(types) == sorted(load_taxonomy()["types"])


NOW = dt.datetime(2025, 7, 1, 12)
DAY = dt.date(2025, 7, 1)
GOOD_ROWS = {
    "silver.parcels": {
        "parcel_id": "P1", "entity_id": "E1", "declared_crop": "corn", "declared_area_m2": 5000.0, "drawn_date": DAY,
        "geometry": "{}", "area_m2_drawn": 4990.0, "centroid_lon": 131.6, "centroid_lat": 47.3,
    },
    "silver.scenes": {
        "scene_id": "S1", "tile_id": "T", "sensor": "MSI", "platform": "p", "processing_level": "L2A",
        "acquisition_time": NOW, "acquisition_date": DAY, "acquisition_time_precision": "second", "cloud_cover": 40.0,
        "crs": "EPSG:32652", "bounds": [0.0, 0.0, 1.0, 1.0], "resolution_m": 10.0, "width": 1, "height": 1,
        "band_count": 3, "bands": ["a", "b", "c"], "band_descriptions": ["a", "b", "c"], "dtype": "uint16",
        "scale": 1e4, "nodata": 0.0, "tif_path": "/S1.tif", "tif_checksum": "0" * 64,
    },
    "silver.voucher_documents": {
        "voucher_id": "V1", "entity_id": "E1", "declared_type": "utility_bill", "submitted_at": NOW,
        "submitted_date": DAY, "image": False, "file_name": "V1.pdf", "ocr_file": None, "pdf_path": "/V1.pdf",
        "pdf_checksum": "0" * 64, "page_count": 1, "has_text_layer": True, "ocr_path": None, "ocr_checksum": None,
    },
}  # fmt: skip
BAD_VALUES = {
    "silver.parcels": ("declared_crop", "tulip", "expect_column_values_to_be_in_set(declared_crop)"),
    "silver.scenes": ("cloud_cover", 140.0, "expect_column_values_to_be_between(cloud_cover)"),
    "silver.voucher_documents": ("declared_type", "love_letter", "expect_column_values_to_be_in_set(declared_type)"),
}


@pytest.mark.parametrize("fqn", sorted(GOOD_ROWS))
def test_file_suites_pass_good_rows_and_reject_bad_ones(spark, fqn):
    from jobs.catalog import contract
    from jobs.quality import validate

    key = contract(fqn).keys[0]
    column, value, reason = BAD_VALUES[fqn]
    lineage = {"arrived_date": DAY, "_source_file": "f", "_ingested_at": NOW}
    rows = [{**GOOD_ROWS[fqn], **lineage}, {**GOOD_ROWS[fqn], **lineage, key: "X2", column: value}]
    frame = spark.createDataFrame(
        [tuple(r[c] for c in contract(fqn).column_names) for r in rows], contract(fqn).struct_type()
    )
    gate = validate(frame, fqn)
    assert [(r[key], r.reason) for r in gate.rejected.collect()] == [("X2", reason)]
    assert [r[key] for r in gate.passed.collect()] == [GOOD_ROWS[fqn][key]]


def test_a_batch_reads_back_the_rows_of_its_own_files(spark):
    day, later = dt.date(2025, 6, 1), dt.date(2025, 6, 2)
    bronze = spark.createDataFrame(
        [
            ("vouchers/dt=2025-06-01/V1.pdf", "new", day),
            ("vouchers/dt=2025-06-01/V1.pdf", "old", day),  # an earlier delivery of the same name
            ("vouchers/dt=2025-06-01/V2.pdf", "new", day),  # another file of the day, loaded before
            ("vouchers/dt=2025-06-02/V3.pdf", "v3", later),
        ],
        "_source_file string, _file_checksum string, _dt date",
    )
    batch = [
        LandingFile("vouchers", "vouchers/dt=2025-06-01/V1.pdf", "/landing/V1.pdf", day, "new", 1, 1),
        LandingFile("vouchers", "vouchers/dt=2025-06-02/V3.pdf", "/landing/V3.pdf", later, "v3", 1, 1),
    ]
    rows = sorted((r._source_file, r._file_checksum) for r in of_files(bronze, batch).collect())
    assert rows == [("vouchers/dt=2025-06-01/V1.pdf", "new"), ("vouchers/dt=2025-06-02/V3.pdf", "v3")]
    assert of_files(bronze, []).count() == 0

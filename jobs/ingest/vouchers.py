"""Vouchers: each submitted document (a PDF, or a photo as JPEG or PNG) with its metadata sidecar (and an upstream
OCR's reading, when one came) to bronze.vouchers, typed to silver.voucher_documents: one row per document with its
page count and whether it has a text layer. Reading the fields off the documents is the reader's, in
silver.vouchers.

Documents and OCR sidecars carry personal data (an owner's name printed on a licence), so the tables hold references
to them (path and checksum), never their text: personal data leaves bronze only as tokens."""

from __future__ import annotations

import logging
from pathlib import Path

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from jobs.catalog import contract
from jobs.documents.taxonomy import load_taxonomy
from jobs.errors import FileProblem
from jobs.ingest.file_units import group_units, read_sidecar, read_units
from jobs.ingest.landing import LandingFile, sha256
from jobs.ingest.source import Source, blank, reject_reasons
from jobs.ingest.transactions import ISO_WITH_OFFSET

PDF_TAIL_BYTES = 1024  # a complete PDF ends with %%EOF within its last bytes
DOCUMENT_SUFFIXES = (".pdf", ".jpg", ".jpeg", ".png")  # a document is a PDF or a photo


def read_pdf_facts(path: Path) -> tuple[int, bool]:
    """(pages, whether any page has a text layer) of a PDF; FileProblem when it is cut short, cannot be parsed, or
    needs a user password to open."""
    import pypdf

    logging.getLogger("pypdf").setLevel(logging.ERROR)  # a broken file is reported once, as its quarantine reason
    with path.open("rb") as f:
        f.seek(max(0, path.stat().st_size - PDF_TAIL_BYTES))
        if b"%%EOF" not in f.read():
            raise FileProblem(f"corrupt PDF: {path.name} is cut short (no %%EOF at its end)")
    try:
        reader = pypdf.PdfReader(path)
        if reader.is_encrypted and not reader.decrypt(""):
            raise FileProblem(f"encrypted PDF: {path.name} needs a user password to open")
        pages = len(reader.pages)
        has_text = any((page.extract_text() or "").strip() for page in reader.pages)
    except FileProblem:
        raise
    except Exception as e:  # pypdf raises many kinds on a damaged file
        raise FileProblem(f"corrupt PDF: {path.name} cannot be parsed ({type(e).__name__}: {str(e)[:200]})") from None
    return pages, has_text


def read_photo_facts(path: Path) -> tuple[int, bool]:
    """(1, False) for a photo that opens as an image; FileProblem when it does not."""
    from PIL import Image

    try:
        with Image.open(path) as image:
            image.verify()
    except Exception as e:  # Pillow raises many kinds on a damaged file
        raise FileProblem(f"corrupt image: {path.name} cannot be read ({type(e).__name__}: {str(e)[:200]})") from None
    return 1, False


def read_voucher(unit: dict) -> list[dict]:
    """One bronze row for a voucher (its document, .json and, when one came, .ocr.json); FileProblem when the
    document is missing, cut short, encrypted or not an image, or the metadata sidecar is missing or not a JSON
    object."""
    folder, stem = Path(unit["folder"]), unit["unit"]
    found = [folder / f"{stem}{suffix}" for suffix in DOCUMENT_SUFFIXES if (folder / f"{stem}{suffix}").exists()]
    if not found:
        raise FileProblem(f"incomplete voucher: no document {stem}{' or '.join(DOCUMENT_SUFFIXES)} beside its sidecar")
    pdf = found[0]
    pages, has_text = read_pdf_facts(pdf) if pdf.suffix == ".pdf" else read_photo_facts(pdf)
    sidecar, _ = read_sidecar(folder / f"{stem}.json", missing="bad sidecar")
    ocr = folder / f"{stem}.ocr.json"
    if ocr.exists():
        read_sidecar(ocr, missing="bad OCR sidecar")  # must be a JSON object; its text stays in the file
    return [
        {
            "sidecar": sidecar,
            "ocr_path": str(ocr) if ocr.exists() else None,
            "ocr_checksum": sha256(ocr) if ocr.exists() else None,
            "pdf_path": str(pdf),
            "pdf_checksum": unit["main_checksum"] or sha256(pdf),
            "page_count": pages,
            "has_text_layer": has_text,
        }
    ]


def read_vouchers(spark, files: list[LandingFile], run_id: str, max_bytes: int) -> DataFrame:
    """A `Source.read`: one row per voucher of the batch, its files opened and checked on the executors."""
    units = group_units(files, DOCUMENT_SUFFIXES, (".json", ".ocr.json"))
    return read_units(spark, units, read_voucher, "bronze.vouchers", run_id, max_bytes)


def typed_voucher_documents(bronze: DataFrame) -> DataFrame:
    """Bronze voucher rows -> silver.voucher_documents columns: the sidecar's fields typed, and `_reject_reason`
    where one is missing or names another file, or the declared type is none of the taxonomy's."""
    meta = F.from_json("sidecar", contract("landing.vouchers").struct_type())
    submitted = F.try_to_timestamp(F.col("_meta.submitted_at"), F.lit(ISO_WITH_OFFSET))
    file_name = F.regexp_extract("pdf_path", r"([^/]+)$", 1)
    stem = F.regexp_extract("pdf_path", r"([^/]+)\.[^./]+$", 1)
    typed = (
        bronze.withColumn("_meta", meta)
        .withColumns({c: F.col(f"_meta.{c}") for c in ("voucher_id", "entity_id", "declared_type", "image")})
        .withColumn("file_name", F.col("_meta.file_name"))
        .withColumn("ocr_file", F.col("_meta.ocr_file"))
        .withColumn("submitted_text", F.col("_meta.submitted_at"))
        .withColumn("submitted_at", submitted)
        .withColumn("submitted_date", F.when(submitted.isNotNull(), F.to_date(F.substring("submitted_text", 1, 10))))
        .withColumn("arrived_date", F.col("_dt"))
    )
    return reject_reasons(
        typed,
        {
            "missing voucher_id": blank("voucher_id"),
            "voucher_id is not the file's name": F.col("voucher_id") != stem,
            "missing entity_id": blank("entity_id"),
            "missing declared_type": blank("declared_type"),
            "declared_type is not a type of the voucher taxonomy": ~blank("declared_type")
            & ~F.col("declared_type").isin(list(load_taxonomy()["types"])),
            "unparseable submitted_at": F.col("submitted_at").isNull(),
            "missing image": F.col("image").isNull(),
            "file_name is not the document's": F.col("file_name") != file_name,
        },
    ).drop("_meta", "submitted_text")


SOURCE = Source(
    name="vouchers",
    silver="silver.voucher_documents",
    typed=typed_voucher_documents,
    entity_columns=("entity_id",),
    read=read_vouchers,
)

"""Reading one document: the file (and an upstream OCR's reading, when one came with it) -> pages of words -> lines ->
candidates -> the key fields, each with its confidence and its evidence (the page, line and box it was read from).

With the type the owner declared, the key fields take the type's names (`key_fields` in the taxonomy: a bill's
total is its amount_due), the type's own fields are read after their labels (`jobs.documents.labelled`), which
win where the document prints them, and the type the content reads as is given beside (`jobs.documents.classify`).

Pure Python, no Spark: the night runs it on the executors for each new document (`jobs.silver.vouchers`), and the
same function reads one document for an on-demand decision.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from jobs.documents import layout, pages, ranker
from jobs.documents.candidates import Candidate, document_candidates
from jobs.documents.classify import classify
from jobs.documents.labelled import labelled_fields
from jobs.documents.taxonomy import field_specs, key_fields
from jobs.documents.values import currencies


@dataclass
class Reading:
    """What a document says: {field: {value, confidence, evidence}}, where its words came from, or why it could
    not be read."""

    fields: dict = field(default_factory=dict)
    source: str = ""  # text_layer, ocr, upstream, or a mix (text_layer+ocr)
    pages: int = 0
    text: str = ""
    problem: str | None = None
    reads_as: tuple[str, float] | None = None  # with a declared type: the form its content reads as, and how surely


def document_pages(path: Path, upstream: Path | None = None, own_ocr: bool = True) -> list[pages.Page]:
    """The pages of words of a document: a PDF's text layer, OCR for a page without one and for a photo; with
    `upstream` (and no own OCR), the upstream OCR's reading stands for the pages the text layer lacks."""
    from jobs.documents import ocr

    path = Path(path)
    if upstream is not None and not own_ocr:
        return pages.read_upstream(upstream)
    if path.suffix.lower() in pages.IMAGE_SUFFIXES:
        return [ocr.image_page(path)]
    found = pages.pdf_text_pages(path)
    if all(p is not None for p in found):
        return found
    scanned = ocr.pdf_page_images(path, [i for i, p in enumerate(found) if p is None])
    return [p if p is not None else ocr.read_image(scanned[i]) for i, p in enumerate(found)]


def read_document(
    path: str | Path, upstream: str | Path | None = None, own_ocr: bool = True, voucher_type: str | None = None
) -> Reading:
    """The key fields of one document (see `ranker.FIELD_KINDS`), each with its confidence and evidence; with
    `voucher_type`, the fields of that type of the taxonomy."""
    try:
        found_pages = document_pages(Path(path), Path(upstream) if upstream else None, own_ocr)
    except Exception as e:  # noqa: BLE001 - a file that cannot be read is unreadable, with the reason
        return Reading(problem=f"cannot read: {type(e).__name__}: {str(e)[:200]}")
    lines = layout.lines(found_pages)
    source = "+".join(sorted({p.source for p in found_pages}))
    text = "\n".join(line.text for line in lines)
    if not lines:
        return Reading(source=source, pages=len(found_pages), problem="no text found on any page")
    fields = read_lines(lines)
    if voucher_type is None:
        return Reading(fields, source, len(found_pages), text)
    return Reading(as_type(fields, lines, voucher_type), source, len(found_pages), text, reads_as=classify(text))


def read_lines(lines: list, models: dict | None = None) -> dict:
    """The key fields of a document's lines, chosen by the shipped field models (or `models`), with the currency."""
    candidates = document_candidates(lines)
    fields = {name: evidence(c, score, lines) for name, (c, score) in ranker.choose(candidates, models).items()}
    currency = document_currency(fields, candidates, "\n".join(line.text for line in lines))
    if currency:
        fields["currency"] = currency
    return fields


def as_type(fields: dict, lines: list, voucher_type: str) -> dict:
    """The key fields the type has, under its names, and its fields printed after their labels, which win."""
    names = {s["name"] for s in field_specs(voucher_type)}
    renamed = key_fields(voucher_type)
    key = {
        renamed.get(n, n): f | {"value": float(f["value"]) if isinstance(f["value"], Decimal) else f["value"]}
        for n, f in fields.items()
    }
    return {n: f for n, f in key.items() if n in names} | labelled_fields(lines, voucher_type)


def evidence(c: Candidate, score: float, lines: list) -> dict:
    line = lines[c.line]
    return {
        "value": c.value,
        "confidence": round(score, 3),
        "evidence": {"page": line.page, "line": line.text, "box": [round(v, 1) for v in line.box]},
    }


def document_currency(fields: dict, candidates: dict, text: str) -> dict | None:
    """The total's currency when printed by it; else the currency the document names most often."""
    total = fields.get("total")
    by_total = next(
        (c.currency for c in candidates.get("amount", []) if total and c.currency and c.value == total["value"]), None
    )
    named = Counter(c.currency for c in candidates.get("amount", []) if c.currency) or Counter(currencies(text))
    code = by_total or (named.most_common(1)[0][0] if named else None)
    if code is None:
        return None
    return {"value": code, "confidence": 0.9 if by_total else 0.6, "evidence": {"page": 0, "line": "", "box": []}}


def plain(value):
    """A field value as JSON wants it: dates ISO, amounts as numbers."""
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


def fields_json(fields: dict) -> str:
    """Fields as JSON: {name: {value, confidence}}, dates ISO, amounts numbers."""
    values = {name: {"value": plain(f["value"]), "confidence": f["confidence"]} for name, f in fields.items()}
    return json.dumps(values, sort_keys=True, separators=(",", ":"))

"""The real labelled document sets of `../shared/data`, as (document, its known fields), and when a reading agrees
with a label. The split into development and test (`evaluation/splits/<set>.csv`) was fixed before any tuning:
the reader learns from `dev` only, and figures are quoted on `test` only."""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

SPLITS = Path(__file__).resolve().parent / "splits"
KEY_FIELDS = ("issuer", "issue_date", "document_number", "total", "net", "tax", "currency", "recipient")


@dataclass(frozen=True)
class Document:
    set_name: str
    doc_id: str
    path: Path  # the file as handed over: a PDF, or a photo
    labels: dict  # key field -> known value
    upstream: Path | None = None  # an upstream OCR's reading, when the set ships one
    issuer_is_brand: bool = False  # the issuer label is a brand slug (`aldi`), not the printed legal name
    voucher_type: str | None = None  # the taxonomy's type, when the document's own record says it


def split_of(set_name: str) -> dict[str, str]:
    with open(SPLITS / f"{set_name}.csv", encoding="utf-8") as f:
        return {row["doc_id"]: row["split"] for row in csv.DictReader(f)}


def receipts_de(data: Path) -> list[Document]:
    folder = data / "documents" / "receipts_de"
    docs = []
    for row in csv.DictReader(open(folder / "labels.csv", encoding="utf-8")):
        stem = Path(row["file"]).stem
        labels = {
            "issuer": row["merchant_slug"],
            "issue_date": dt.date.fromisoformat(row["date"]),
            "total": Decimal(row["total"]),
            "currency": row["currency"],
        }
        upstream = folder / "ocr_textract" / f"{stem}_blocks.json"
        docs.append(
            Document("receipts_de", stem, folder / row["file"], labels, upstream if upstream.exists() else None, True)
        )
    return docs


# What an e-invoice's own type code (UNTDID 1001, `type_code`) says it is, in the taxonomy: the kinds of invoice
# (commercial, corrected, self-billed, hire, insurer's, for accounting) and the credit note. A code the taxonomy has
# no type for (204, a payment valuation) leaves the type unknown.
INVOICE_CODES = ("380", "384", "387", "389", "575", "751")
UNTDID_TYPES = dict.fromkeys(INVOICE_CODES, "purchase_invoice") | {"381": "credit_note"}


def einvoices_zugferd(data: Path) -> list[Document]:
    folder = data / "documents" / "einvoices_zugferd"
    docs = []
    for row in csv.DictReader(open(folder / "labels.csv", encoding="utf-8")):
        labels = {
            "issuer": row["seller_name"],
            "recipient": row["buyer_name"],
            "issue_date": dt.date.fromisoformat(row["issue_date"]),
            "document_number": row["invoice_number"],
            "total": Decimal(row["grand_total"]),
            "net": Decimal(row["tax_basis_total"]) if row["tax_basis_total"] else None,
            "tax": Decimal(row["tax_total"]) if row["tax_total"] else None,
            "currency": row["currency"],
        }
        vtype = UNTDID_TYPES.get(row["type_code"])
        docs.append(
            Document("einvoices_zugferd", row["doc_id"], folder / row["file"], drop_empty(labels), voucher_type=vtype)
        )
    return docs


def invoices(data: Path) -> list[Document]:
    folder = data / "invoices"
    names = {"issuer": "issuer", "date": "issue_date", "invoice_number": "document_number", "amount": "total"}
    names |= {"amount_untaxed": "net", "amount_tax": "tax", "currency": "currency"}
    docs = []
    for doc_id in split_of("invoices"):
        raw = json.loads((folder / f"{doc_id}.json").read_text(encoding="utf-8"))[0]
        labels = {names[k]: v for k, v in raw.items() if k in names}
        labels["issue_date"] = dt.date.fromisoformat(labels["issue_date"])
        for k in ("total", "net", "tax"):
            if k in labels:
                labels[k] = Decimal(str(labels[k]))
        docs.append(Document("invoices", doc_id, folder / f"{doc_id}.pdf", drop_empty(labels)))
    return docs


SETS = {"receipts_de": receipts_de, "einvoices_zugferd": einvoices_zugferd, "invoices": invoices}


def documents(data: Path, set_name: str, split: str) -> list[Document]:
    """The documents of one split of a set (`dev` or `test`)."""
    parts = split_of(set_name)
    return [d for d in SETS[set_name](data) if parts[d.doc_id] == split]


def drop_empty(labels: dict) -> dict:
    return {k: v for k, v in labels.items() if v not in (None, "")}


def normal(text: str) -> str:
    return re.sub(r"[\W_]+", "", str(text).casefold())


def agrees(field: str, read, label, issuer_is_brand: bool = False) -> bool:
    """Whether a reading agrees with a label: dates and identifiers equal (identifiers as printed, spaces and case
    aside), amounts equal to the cent (in absolute value: a credit note prints its total positive), currencies equal;
    a name when either holds the other and the shorter is at least half the longer (a brand label: when the reading
    holds it)."""
    if read is None:
        return False
    if field in ("total", "net", "tax"):
        return abs(abs(Decimal(str(read))) - abs(Decimal(str(label)))) < Decimal("0.005")
    if field in ("issuer", "recipient"):
        a, b = normal(read), normal(label)
        if issuer_is_brand:
            return bool(b) and b in a
        shorter, longer = sorted((a, b), key=len)
        return bool(shorter) and shorter in longer and len(shorter) >= len(longer) / 2
    if field == "document_number":
        return normal(read) == normal(label)
    return read == label

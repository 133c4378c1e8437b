"""Real invoices (invoice2data's test fixtures) as vouchers: landing files plus the fields a person read from each.

Each `NAME.pdf` with its `NAME.json` becomes the voucher `RV-NAME` of the synthetic entity `INV-NAME`, a purchase
invoice (the entity received it), submitted on the invoice's own date:

    landing/vouchers/dt=<invoice date>/RV-NAME.pdf    the PDF, byte for byte
    landing/vouchers/dt=<invoice date>/RV-NAME.json   the metadata sidecar of the simulated vouchers
    truth/invoices.parquet                            the person's fields of each (LABELS_SCHEMA)

The person's fields are renamed to the taxonomy's (invoice_number -> document_number, date -> issue_date, amount ->
amount_total, vat -> issuer_vat_id, ...); fields the person did not read stay absent. Demo documents
(AzureInterior, SammyMaystoneLinesTest) and invoices without a PDF (Orlen) are skipped and counted.
"""

from __future__ import annotations

import datetime as dt
import json
import pathlib
import shutil

import pyarrow as pa
import pyarrow.parquet as pq

from jobs.landing_writers import landing_path, voucher_sidecar

DEMO_DOCUMENTS = frozenset({"AzureInterior", "SammyMaystoneLinesTest"})
SOURCE = "invoice2data"
VOUCHER_TYPE = "purchase_invoice"
FIELD_NAMES = {  # invoice2data name -> taxonomy name
    "invoice_number": "document_number",
    "issuer": "issuer",
    "date": "issue_date",
    "date_due": "due_date",
    "date_start": "period_start",
    "date_end": "period_end",
    "amount": "amount_total",
    "amount_untaxed": "amount_untaxed",
    "amount_tax": "amount_tax",
    "currency": "currency",
    "vat": "issuer_vat_id",
    "lines": "lines",
}


def invoice_folder(data_dir: pathlib.Path) -> pathlib.Path:
    """`data_dir/invoices` when `data_dir` is the shared data root, else `data_dir` itself."""
    return data_dir / "invoices" if (data_dir / "invoices").is_dir() else data_dir


def human_fields(path: pathlib.Path) -> dict:
    """The person's fields of one invoice under taxonomy names (its JSON holds a one-element list)."""
    raw = json.loads(path.read_text(encoding="utf-8"))
    raw = raw[0] if isinstance(raw, list) else raw
    fields = {FIELD_NAMES[k]: v for k, v in raw.items() if k in FIELD_NAMES}
    if "issuer_vat_id" in fields:
        fields["issuer_vat_id"] = str(fields["issuer_vat_id"])
    return fields


LABELS_SCHEMA = pa.schema(
    [
        ("voucher_id", pa.string()),
        ("entity_id", pa.string()),
        ("voucher_type", pa.string()),
        ("issue_date", pa.date32()),
        ("document_number", pa.string()),
        ("amount", pa.float64()),  # the invoice's total
        ("currency", pa.string()),
        ("fields", pa.string()),  # JSON of every field the person read, under taxonomy names
        ("source", pa.string()),
        ("path", pa.string()),
    ]
)


def label_row(name: str, fields: dict, day: dt.date, path: str) -> dict:
    return {
        "voucher_id": f"RV-{name}",
        "entity_id": f"INV-{name}",
        "voucher_type": VOUCHER_TYPE,
        "issue_date": day,
        "document_number": fields.get("document_number"),
        "amount": fields.get("amount_total"),
        "currency": fields.get("currency"),
        "fields": json.dumps(fields, sort_keys=True),
        "source": SOURCE,
        "path": path,
    }


def write_labels(rows: list[dict], path: pathlib.Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows, schema=LABELS_SCHEMA), path)


def adapt_invoices(data_dir: pathlib.Path, out: pathlib.Path) -> dict[str, int]:
    """Write the real invoices under `data_dir` as vouchers under `out`; return {invoices, skipped_demo, ...}.

    The counts are invoices written, demo documents skipped and invoices skipped for lack of a PDF; an absent folder
    writes nothing and returns zeros.
    """
    counts = {"invoices": 0, "skipped_demo": 0, "skipped_no_pdf": 0}
    folder = invoice_folder(pathlib.Path(data_dir))
    if not folder.is_dir():
        return counts
    rows = []
    for meta in sorted(folder.glob("*.json")):
        name = meta.stem
        pdf = meta.with_suffix(".pdf")
        if name in DEMO_DOCUMENTS:
            counts["skipped_demo"] += 1
            continue
        if not pdf.exists():
            counts["skipped_no_pdf"] += 1
            continue
        fields = human_fields(meta)
        day = dt.date.fromisoformat(fields["issue_date"])
        voucher_id = f"RV-{name}"
        target = landing_path(out, "vouchers", day, f"{voucher_id}.pdf")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(pdf, target)
        submitted_at = f"{day.isoformat()}T12:00:00+08:00"
        sidecar = voucher_sidecar(voucher_id, f"INV-{name}", VOUCHER_TYPE, submitted_at, False, target.name, None)
        target.with_suffix(".json").write_text(sidecar, encoding="utf-8")
        rows.append(label_row(name, fields, day, str(target.relative_to(pathlib.Path(out)))))
        counts["invoices"] += 1
    if rows:
        write_labels(rows, pathlib.Path(out) / "truth" / "invoices.parquet")
    return counts

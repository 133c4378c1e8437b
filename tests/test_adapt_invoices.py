"""Real invoices as vouchers: PDFs copied into the landing layout, sidecars, and the person's fields as labels."""

from __future__ import annotations

import json
import logging
import pathlib

import pyarrow.parquet as pq
import pytest
from pypdf import PdfReader

from jobs.adapt.invoices import LABELS_SCHEMA, adapt_invoices

DATA = pathlib.Path(__file__).resolve().parents[1].parent / "shared" / "data"
logging.getLogger("pypdf").setLevel(logging.ERROR)


@pytest.fixture(scope="module")
def adapted(tmp_path_factory):
    if not (DATA / "invoices").is_dir():
        pytest.skip(f"real invoices absent: {DATA / 'invoices'} (see ../shared/data/README.md)")
    out = tmp_path_factory.mktemp("invoices")
    return out, adapt_invoices(DATA, out)


def test_counts_skip_demo_and_text_only_invoices(adapted):
    _, counts = adapted
    pdfs = {p.stem for p in (DATA / "invoices").glob("*.pdf")}
    assert counts == {"invoices": len(pdfs) - 2, "skipped_demo": 2, "skipped_no_pdf": 1}


def test_landing_files_are_the_pdfs_with_sidecars(adapted):
    out, counts = adapted
    pdfs = sorted((out / "landing" / "vouchers").glob("dt=*/RV-*.pdf"))
    assert len(pdfs) == counts["invoices"]
    for pdf in pdfs:
        name = pdf.stem.removeprefix("RV-")
        assert pdf.read_bytes() == (DATA / "invoices" / f"{name}.pdf").read_bytes()
        assert len(PdfReader(pdf).pages) >= 1
        meta = json.loads(pdf.with_suffix(".json").read_text())
        assert meta["voucher_id"] == pdf.stem and meta["entity_id"] == f"INV-{name}"
        assert meta["declared_type"] == "purchase_invoice" and meta["image"] is False
        assert meta["submitted_at"].startswith(pdf.parent.name[3:])


def test_label_rows_carry_the_persons_fields(adapted):
    out, counts = adapted
    truth = pq.read_table(out / "truth" / "invoices.parquet")
    assert truth.schema == LABELS_SCHEMA and truth.num_rows == counts["invoices"]
    for row in truth.to_pylist():
        name = row["voucher_id"].removeprefix("RV-")
        human = json.loads((DATA / "invoices" / f"{name}.json").read_text())[0]
        fields = json.loads(row["fields"])
        assert fields["document_number"] == row["document_number"] == human["invoice_number"]
        assert row["issue_date"].isoformat() == fields["issue_date"] == human["date"]
        assert row["amount"] == human.get("amount") and row["currency"] == human["currency"]
        assert row["source"] == "invoice2data"
        assert (out / row["path"]).exists()


def test_rerun_replaces_its_rows(adapted):
    out, counts = adapted
    assert adapt_invoices(DATA, out) == counts
    assert pq.read_table(out / "truth" / "invoices.parquet").num_rows == counts["invoices"]


def test_absent_folder_writes_nothing(tmp_path):
    assert adapt_invoices(tmp_path / "nowhere", tmp_path / "out") == {
        "invoices": 0,
        "skipped_demo": 0,
        "skipped_no_pdf": 0,
    }
    assert not (tmp_path / "out").exists()

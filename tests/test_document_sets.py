"""The real labelled document sets as the reader's studies see them: an e-invoice's type is its own type code's."""

from __future__ import annotations

import csv

from evaluation.document_sets import einvoices_zugferd
from evaluation.reader_training import REAL_TYPES

COLUMNS = ["doc_id", "file", "type_code", "invoice_number", "issue_date", "seller_name", "buyer_name", "currency"]
COLUMNS += ["grand_total", "tax_basis_total", "tax_total"]


def test_an_einvoice_is_typed_by_its_untdid_code_and_one_the_taxonomy_lacks_is_left_untyped(tmp_path):
    folder = tmp_path / "documents" / "einvoices_zugferd"
    folder.mkdir(parents=True)
    codes = {"invoice": "380", "corrected": "384", "credit": "381", "valuation": "204"}
    with open(folder / "labels.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, COLUMNS)
        writer.writeheader()
        for doc_id, code in codes.items():
            writer.writerow(
                {"doc_id": doc_id, "file": f"pdf/{doc_id}.pdf", "type_code": code, "invoice_number": "1"}
                | {"issue_date": "2024-01-31", "seller_name": "S GmbH", "buyer_name": "B AG", "currency": "EUR"}
                | {"grand_total": "119.00", "tax_basis_total": "100.00", "tax_total": "19.00"}
            )
    typed = {d.doc_id: d.voucher_type or REAL_TYPES["einvoices_zugferd"] for d in einvoices_zugferd(tmp_path)}
    expected = {
        "invoice": "purchase_invoice",
        "corrected": "purchase_invoice",
        "credit": "credit_note",
        "valuation": None,
    }
    assert typed == expected

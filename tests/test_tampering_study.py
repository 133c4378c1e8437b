"""The pipeline-level tamper study's arithmetic (`evaluation.tampering.measure`) on small inline data."""

from __future__ import annotations

import pandas as pd

from evaluation.tampering import SEED, markdown, measure, pooled


def test_recall_per_mode_precision_and_clean_documents_flagged():
    truth = pd.DataFrame(
        {
            "voucher_id": ["V1", "V2", "V3", "V4", "V5"],
            "tampered": [True, True, True, False, False],
            "tamper_kind": ["amount_edited", "amount_edited", "date_moved", None, None],
            "image": [False, False, True, False, True],
            "voucher_type": ["utility_bill", "payroll", "shop_lease", "bank_statement", "payroll"],
        }
    )
    read = pd.DataFrame(
        {
            "voucher_id": ["V1", "V2", "V3", "V4"],
            "status": ["suspicious", "verified", "suspicious", "suspicious"],
            "reasons": [["sum: off"], [], ["order: late"], ["in_line: 4x the revenue"]],
        }
    )
    r = measure(truth, read)
    assert (r["documents"], r["tampered"], r["not_read"]) == (5, 3, 1)
    assert r["recall"] == 2 / 3 and r["precision"] == 2 / 3
    assert r["per_mode"] == {"amount_edited": {"documents": 2, "found": 1}, "date_moved": {"documents": 1, "found": 1}}
    assert r["clean"] == {
        "photo": {"documents": 1, "suspicious": 0, "unreadable": 0},
        "text": {"documents": 1, "suspicious": 1, "unreadable": 0},
    }
    assert r["false_alarm_reasons"] == {"in_line": 1} and r["false_alarm_types"] == {"bank_statement": 1}
    assert r["unreadable_reasons"] == {} and r["missed"] == {"amount_edited payroll verified": 1}
    assert (r["found"], r["flagged"]) == (2, 3)

    runs = [r | {"entities": 10, "days": 30, "seed": SEED}, r | {"found": 0, "flagged": 1, "entities": 10, "seed": 29}]
    over_both = pooled(runs)
    assert (over_both["recall"], over_both["precision"]) == (2 / 6, 2 / 4)
    report = markdown({"runs": runs, "pooled": over_both})
    assert f"| {SEED} | never used in development | 5 | 3 | 2 | 3 | 66.7% | 66.7% |" in report
    assert "| 29 | a development seed |" in report and "| all | | | 6 | 2 | 4 | 33.3% | 50.0% |" in report
    assert "## Seed 29" in report and "| amount_edited | 2 | 1 | 50% |" in report

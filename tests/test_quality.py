"""Every Great Expectations suite has a passing and a failing fixture."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from jobs.catalog import contract
from jobs.errors import QualityGateError
from jobs.quality import validate

NOW = dt.datetime(2026, 1, 2, 3, 4, 5)


def txn(txn_id, amount="12.50", currency="CNY", status="success", channel="qr", entity_id="E1"):
    day = dt.date(2026, 1, 1)
    return (
        txn_id,
        entity_id,
        NOW,
        day,
        day.replace(day=1),
        10,
        Decimal(amount),
        "CNY",
        Decimal(amount),
        currency,  # as landed
        Decimal(1),
        channel,
        "p1",
        status,
        day,
        "f.csv",
        NOW,
    )


def frame(spark, fqn, rows):
    return spark.createDataFrame(rows, contract(fqn).struct_type())


def test_transactions_pass(spark):
    result = validate(
        frame(spark, "silver.transactions", [txn("T1"), txn("T2", status="refund")]), "silver.transactions"
    )
    assert result.failed == []
    assert result.passed.count() == 2 and result.rejected.count() == 0


def test_transactions_row_failures_are_rejected_with_reasons(spark):
    rows = [txn("T1"), txn("T2", amount="-3.00"), txn("T3", currency="US$", status="lost"), txn("T4", entity_id="E 1")]
    result = validate(frame(spark, "silver.transactions", rows), "silver.transactions")
    reasons = {r.txn_id: r.reason for r in result.rejected.select("txn_id", "reason").collect()}
    assert set(reasons) == {"T2", "T3", "T4"}
    assert reasons["T2"] == "expect_column_values_to_be_between(amount)"
    assert reasons["T3"] == (
        "expect_column_values_to_be_in_set(status); expect_column_values_to_match_regex(original_currency)"
    )
    assert "match_regex(entity_id)" in reasons["T4"]
    assert [r.txn_id for r in result.passed.collect()] == ["T1"]
    assert "txn_id" in result.rejected.columns and "amount" in result.rejected.columns


def test_transactions_table_failure_stops(spark):
    with pytest.raises(QualityGateError, match="expect_table_row_count_to_be_between"):
        validate(frame(spark, "silver.transactions", []), "silver.transactions")


def entity(entity_id, segment="offline_merchant", country="CN"):
    return (entity_id, segment, dt.date(2024, 1, 1), "Hangzhou", country, "CN-RIC", None, None, None, "f.csv", NOW)


def test_entities_pass_and_fail(spark):
    ok = validate(frame(spark, "silver.entities", [entity("E1"), entity("E2", "farmer")]), "silver.entities")
    assert ok.failed == []
    rows = [entity("E1"), entity("E2", "bank"), entity("E3", country="China"), entity("E4", country=None)]
    bad = validate(frame(spark, "silver.entities", rows), "silver.entities")
    assert sorted((r.entity_id, r.reason) for r in bad.rejected.collect()) == [
        ("E2", "expect_column_values_to_be_in_set(segment)"),
        ("E3", "expect_column_values_to_match_regex(country)"),
    ]


def event(loan_id, event_type="disbursed", amount="5000.00"):
    return (loan_id, "E1", dt.date(2026, 1, 1), event_type, Decimal(amount) if amount else None, "f.csv", NOW)


def test_loan_events_pass_and_fail(spark):
    ok = validate(frame(spark, "silver.loan_events", [event("L1"), event("L1", "dpd90", None)]), "silver.loan_events")
    assert ok.failed == [] and ok.passed.count() == 2
    bad = validate(frame(spark, "silver.loan_events", [event("L1"), event("L2", "written_off")]), "silver.loan_events")
    assert [r.loan_id for r in bad.rejected.collect()] == ["L2"]


def trade_record(record_id, record_type="order", amount="900.00", currency="CNY"):
    day = dt.date(2026, 1, 1)
    return (record_id, record_type, NOW, day, day.replace(day=1), "E1", "E2", Decimal(amount), "CNY", Decimal(amount),
            currency, Decimal(1), None, None, day, "f.csv", NOW)  # fmt: skip


def test_trade_records_pass_and_fail(spark):
    rows = [trade_record("O1"), trade_record("X1", "transfer", currency="GBP")]
    ok = validate(frame(spark, "silver.trade_records", rows), "silver.trade_records")
    assert ok.failed == [] and ok.passed.count() == 2
    rows = [trade_record("O1"), trade_record("O2", "gift"), trade_record("X1", "transfer", amount="-5.00")]
    bad = validate(frame(spark, "silver.trade_records", rows), "silver.trade_records")
    reasons = {r.record_id: r.reason for r in bad.rejected.collect()}
    assert reasons == {
        "O2": "expect_column_values_to_be_in_set(record_type)",
        "X1": "expect_column_values_to_be_between(amount)",
    }


def limit(entity_id, pd=0.05, amount="5000.00", decision="approved", reasons=("X",)):
    return (
        dt.date(2026, 1, 1),
        entity_id,
        "offline_merchant",
        pd,
        Decimal(amount),
        "CNY",
        decision,
        list(reasons),
        "pd-1",
        "policy-1",
        NOW,
    )


def test_limits_pass(spark):
    rows = [limit("E1", reasons=()), limit("E2", amount="0.00", decision="declined", reasons=["TOO_NEW"])]
    assert validate(frame(spark, "gold.preapproved_limits", rows), "gold.preapproved_limits").failed == []


@pytest.mark.parametrize(
    "rows, expectation",
    [
        ([limit("E1"), limit("E1")], "expect_column_values_to_be_unique"),
        ([limit("E1", pd=1.5)], "expect_column_values_to_be_between(pd)"),
        ([limit("E1", amount="-1.00")], "expect_column_values_to_be_between(limit_amount)"),
        ([limit("E1", decision="maybe")], "expect_column_values_to_be_in_set(decision)"),
        ([limit("E1", amount="0.00", decision="declined", reasons=[])], "every declined or zero limit says why"),
        ([limit("E1", amount="0.00", reasons=[])], "every declined or zero limit says why"),
    ],
)
def test_limits_any_failure_stops_the_run(spark, rows, expectation):
    with pytest.raises(QualityGateError, match=expectation.replace("(", r"\(").replace(")", r"\)")):
        validate(frame(spark, "gold.preapproved_limits", rows), "gold.preapproved_limits")


def test_every_suite_sits_beside_a_contract_and_names_its_columns():
    from jobs.quality import EXPECTATIONS_DIR, suite_json

    suites = sorted(EXPECTATIONS_DIR.glob("*/*.json"))
    assert len(suites) >= 4
    for path in suites:
        fqn = f"{path.parent.name}.{path.stem}"
        doc, columns = suite_json(fqn), set(contract(fqn).column_names)
        assert doc["name"] == fqn
        for e in doc["expectations"]:
            named = [e["kwargs"]["column"]] if "column" in e["kwargs"] else e["kwargs"].get("column_list", [])
            assert set(named) <= columns, (fqn, e["type"])
            assert e.get("meta", {}).get("level") in ("row", "table"), (fqn, e["type"])

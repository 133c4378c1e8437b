"""The landing contracts are what a stranger reads: their file rules are the reader's, their page is generated from
them, and every CSV source's worked example loads end to end."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from jobs import landing_page, pipeline, tables
from jobs.catalog import all_contracts, contract
from jobs.ingest.landing import csv_rules, discover, problem

ROOT = Path(__file__).resolve().parent.parent
CSV_SOURCES = [c.name for c in all_contracts(("landing",)) if c.extra.get("format") == "csv"]
LIMIT = 10**9


def test_the_bring_your_own_data_page_is_generated_from_the_contracts():
    page = (ROOT / "docs" / "bring-your-own-data.md").read_text()
    assert page == landing_page.page(), "stale: python -m jobs.landing_page > docs/bring-your-own-data.md"
    for source in CSV_SOURCES:  # every source's section, with its worked example
        assert f"### `{source}`" in page and f"{source}/dt=" in page, source


def test_every_csv_source_states_its_file_rules_and_an_example():
    for source in CSV_SOURCES:
        rules = contract(f"landing.{source}").extra["file"]
        assert {"encoding", "separator", "quote", "header", "line_end", "missing", "dt"} <= set(rules), source
        assert all(r["rule"].strip() for r in rules.values()), source
        assert contract(f"landing.{source}").extra["example"]["lines"], source


def landed(tmp_path: Path, source: str, data: bytes):
    path = tmp_path / source / "dt=2026-03-02" / f"{source}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return discover(tmp_path, source)[0]


@pytest.mark.parametrize("source", CSV_SOURCES)
def test_the_reader_judges_a_file_by_the_rules_its_contract_states(tmp_path, source):
    rules = csv_rules(source)
    stated = {name: rule["value"] for name, rule in contract(f"landing.{source}").extra["file"].items()}
    assert (rules.encoding, rules.separator, rules.quote) == (stated["encoding"], stated["separator"], stated["quote"])
    header = list(contract(f"landing.{source}").column_names)
    lines = contract(f"landing.{source}").extra["example"]["lines"]

    def judged(text: str, encoding: str | None = None) -> str | None:
        data = text.encode(encoding or stated["encoding"])
        return problem(landed(tmp_path, source, data), rules, tmp_path, LIMIT)

    sep, quote = stated["separator"], stated["quote"]
    assert judged("\r\n".join([sep.join(header), *lines]) + "\r\n") is None  # the rules as stated: CRLF too
    assert judged("\n".join([sep.join(f"{quote}{name}{quote}" for name in header), *lines])) is None  # quoted
    assert judged(sep.join(f" {name}" for name in header)).startswith("header is not the contract's")
    other_sep = ";" if sep != ";" else ","
    assert judged(other_sep.join(header)).startswith("header is not the contract's")
    assert judged(sep.join(reversed(header))).startswith("header is not the contract's")
    assert judged("\ufeff" + sep.join(header)).startswith("starts with a byte-order mark")
    assert judged(sep.join(header) + "\n" + "é" * 3, "latin-1").startswith(f"not {stated['encoding']}")
    assert judged("") == "empty file: not even a header line"


@pytest.mark.integration
def test_every_csv_sources_example_loads_end_to_end(spark, settings, landing):
    day = None
    for source in CSV_SOURCES:
        c = contract(f"landing.{source}")
        example = c.extra["example"]
        day = example["day"]
        landing.write(source, day, csv_rules(source).separator.join(c.column_names), *example["lines"])
    counts = {c["source"]: c for c in pipeline.ingest(str(landing.root), settings=settings)}
    for source in CSV_SOURCES:
        example = contract(f"landing.{source}").extra["example"]["lines"]
        batch = counts[source]
        assert (batch["bronze_rows"], batch["accepted"], batch["quarantined"]) == (len(example), len(example), 0), batch
    order = tables.read(spark, settings, "silver.trade_records").where("record_id = 'O-5501'").first()
    assert order.memo == 'PO 5501, "spring stock"'  # a quoted field with the separator and a doubled quote
    usd = tables.read(spark, settings, "silver.transactions").where("txn_id = 'T-90002'").first()
    assert (usd.original_amount, usd.original_currency, usd.amount) == (Decimal("35.00"), "USD", Decimal("251.76"))
    assert usd.txn_date == dt.date.fromisoformat(day)

"""UCI Online Retail as landing files: a real 1+N chain (one wholesaler, its business buyers) in `trade`, the
wholesaler's sales in `transactions`; checked against pandas on the raw ledger, then ingested."""

from __future__ import annotations

import pandas as pd
import pyarrow.parquet as pq
import pytest

from jobs import tables
from jobs.adapt.online_retail import LEDGER, WHOLESALER

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def adapted(online_retail):
    out, written, _, _ = online_retail
    return out, written


def landed(out, source: str) -> pd.DataFrame:
    files = sorted((out / "landing" / source).glob("dt=*/*.csv"))
    return pd.concat([pd.read_csv(f, dtype=str, keep_default_na=False) for f in files], ignore_index=True)


def test_orders_are_the_invoices_of_known_buyers_with_their_line_totals(shared_data, adapted):
    out, written = adapted
    lines = pq.read_table(shared_data / LEDGER).to_pandas()
    lines = lines[~lines["InvoiceNo"].str.startswith(("A", "C")) & lines["CustomerID"].notna()]
    totals = (lines["Quantity"] * lines["UnitPrice"]).groupby(lines["InvoiceNo"]).sum().round(2)
    totals = totals[totals > 0]
    trade = landed(out, "trade")
    assert len(trade) == written["trade"] == len(totals)
    assert trade["record_id"].is_unique and set(trade["payee_id"]) == {WHOLESALER}
    by_invoice = trade.set_index(trade["record_id"].str[1:])["amount"].astype(float)
    assert (by_invoice.sort_index() - totals.sort_index()).abs().max() < 0.005
    buyer_of = lines.groupby("InvoiceNo")["CustomerID"].first().map(lambda c: f"UK-C{int(c)}")
    assert (trade.set_index(trade["record_id"].str[1:])["payer_id"] == buyer_of[by_invoice.index]).all()


def test_buyers_register_on_the_day_they_are_first_seen(adapted):
    out, written = adapted
    entities = landed(out, "entities")
    trade = landed(out, "trade")
    assert len(entities) == written["entities"] and entities["entity_id"].is_unique
    assert set(trade["payer_id"]) <= set(entities["entity_id"])
    first_order = trade.groupby("payer_id")["ts"].min().str[:10]
    registered = entities.set_index("entity_id")["registered_date"]
    assert (registered[first_order.index] <= first_order).all()
    assert entities.set_index("entity_id").loc[WHOLESALER, "segment"] == "brand"


def test_the_adapted_ledger_ingests_without_a_reject(spark, online_retail):
    _, written, counts, settings = online_retail
    for source in ("entities", "trade", "transactions"):
        assert counts[source]["quarantined"] == counts[source]["rejected_files"] == 0, counts[source]
        assert counts[source]["accepted"] == written[source]
    silver = tables.read(spark, settings, "silver.trade_records")
    assert silver.where("currency = 'GBP' AND record_type = 'order'").count() == written["trade"]

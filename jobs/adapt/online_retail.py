"""UCI Online Retail (one UK giftware wholesaler and its business buyers, 2010-12 .. 2011-12) as landing files.

The ledger is a real 1+N supply chain: the wholesaler is the core firm (segment `brand`), each buyer with a customer
id a `store`. It becomes three landing sources, one folder per invoice date:

    entities/dt=D/entities.csv          the wholesaler and each buyer, delivered on the day it is first seen
    trade/dt=D/trade.csv                one `order` per invoice of a known buyer (payer: the buyer, payee: the
                                        wholesaler)
    transactions/dt=D/transactions.csv  the wholesaler's sales: one payment per invoice (a cancellation, "C...", is a
                                        refund), the buyer's id as payer token (empty for guests)

An invoice's amount is the sum of its lines (quantity x unit price, GBP). Times are the wholesaler's local time in
London, written with their UTC offset. Left out, and counted: bad-debt adjustments ("A..." invoices), invoices whose
lines sum to zero or less, and cancellations in `trade` (a credit note is not a purchase; `transactions` keeps them).
"""

from __future__ import annotations

import pathlib
from zoneinfo import ZoneInfo

import pandas as pd
import pyarrow.parquet as pq

from jobs.landing_writers import write_csv

LEDGER = pathlib.Path("online_retail") / "online_retail.parquet"
WHOLESALER = "UK-WHOLESALER"
LONDON = ZoneInfo("Europe/London")


def invoices(lines: pd.DataFrame) -> pd.DataFrame:
    """Invoice lines -> one row per invoice: number, time, buyer (None for guests), country, amount, cancelled."""
    lines = lines.assign(value=lines["Quantity"] * lines["UnitPrice"])
    per_invoice = lines.groupby("InvoiceNo", sort=True).agg(
        ts=("InvoiceDate", "min"),
        customer=("CustomerID", "first"),
        country=("Country", "first"),
        amount=("value", "sum"),
    )
    per_invoice = per_invoice.reset_index().rename(columns={"InvoiceNo": "invoice"})
    per_invoice["cancelled"] = per_invoice["invoice"].str.startswith("C")
    per_invoice["amount"] = per_invoice["amount"].abs().round(2)
    per_invoice["buyer"] = [None if pd.isna(c) else f"UK-C{int(c)}" for c in per_invoice["customer"]]
    local = per_invoice["ts"].dt.tz_localize(LONDON, ambiguous=False, nonexistent="shift_forward")
    per_invoice["ts_text"] = local.map(lambda t: t.isoformat())
    per_invoice["day"] = per_invoice["ts"].dt.date
    return per_invoice.sort_values(["ts", "invoice"], kind="stable").reset_index(drop=True)


def registry(inv: pd.DataFrame) -> pd.DataFrame:
    """The wholesaler and each buyer, with the day it is first seen as its registration date."""
    buyers = inv.dropna(subset=["buyer"]).groupby("buyer", sort=True).agg(day=("day", "min"), city=("country", "first"))
    wholesaler = pd.DataFrame({"day": [inv["day"].min()], "city": ["United Kingdom"]}, index=[WHOLESALER])
    rows = pd.concat([wholesaler, buyers]).rename_axis("entity_id").reset_index()
    rows["segment"] = ["brand"] + ["store"] * len(buyers)
    rows["registered_date"] = [d.isoformat() for d in rows["day"]]
    rows["country"] = ""  # the ledger names countries in English, not by ISO code
    for personal in ("owner_name", "owner_id_scheme", "owner_id_number", "owner_phone"):
        rows[personal] = ""
    return rows


def trade_rows(inv: pd.DataFrame) -> pd.DataFrame:
    orders = inv[~inv["cancelled"] & inv["buyer"].notna()]
    return pd.DataFrame(
        {
            "record_id": "O" + orders["invoice"],
            "record_type": "order",
            "ts": orders["ts_text"],
            "payer_id": orders["buyer"],
            "payee_id": WHOLESALER,
            "amount": orders["amount"],
            "currency": "GBP",
            "reference": "",
            "memo": "invoice",
            "day": orders["day"],
        }
    )


def transaction_rows(inv: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "txn_id": inv["invoice"],
            "entity_id": WHOLESALER,
            "ts": inv["ts_text"],
            "amount": inv["amount"],
            "currency": "GBP",
            "channel": "online",
            "payer_token": inv["buyer"].fillna("").str.removeprefix("UK-"),
            "status": inv["cancelled"].map({True: "refund", False: "success"}),
            "day": inv["day"],
        }
    )


def write_by_day(rows: pd.DataFrame, out: pathlib.Path, source: str) -> int:
    for day, group in rows.groupby("day", sort=True):
        write_csv(group, out, source, day)
    return len(rows)


def adapt_online_retail(data_dir: pathlib.Path, out: pathlib.Path) -> dict[str, int]:
    """Write the ledger under `out/landing`; returns the rows written per source and the invoices left out. Nothing
    is written (all counts 0) when the ledger is absent."""
    path = pathlib.Path(data_dir) / LEDGER
    if not path.exists():
        return {"entities": 0, "trade": 0, "transactions": 0}
    lines = pq.read_table(path).to_pandas()
    adjustment = lines["InvoiceNo"].str.startswith("A")
    inv = invoices(lines[~adjustment])
    empty = inv["amount"] <= 0
    inv = inv[~empty]
    return {
        "entities": write_by_day(registry(inv), out, "entities"),
        "trade": write_by_day(trade_rows(inv), out, "trade"),
        "transactions": write_by_day(transaction_rows(inv), out, "transactions"),
        "skipped_adjustments": int(lines.loc[adjustment, "InvoiceNo"].nunique()),
        "skipped_empty_invoices": int(empty.sum()),
        "skipped_cancellations_in_trade": int((inv["cancelled"] & inv["buyer"].notna()).sum()),
    }

"""Supply chains (brands -> distributors -> stores) and the trade records they leave, one day at a time.

Brands deliver their purchase orders (`order` records: the distributor pays the brand); the payment rails deliver
fund transfers: distributors paying brands' orders (with the order id as reference, after payment terms that worse
distributors stretch), stores paying their distributors for goods (recurring, no order visible to anyone), and
transfers between businesses that are not trade (rent, family loans, deposits: irregular, round amounts).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from simulator.payments import local_timestamps, unknown_entity_ids
from simulator.population import BORROWER_SEGMENTS, PLAIN, Population, Realism, habit_driver, sigmoid

TRADE_COLUMNS = ["record_id", "record_type", "ts", "payer_id", "payee_id", "amount", "currency", "reference", "memo"]
BAD_KINDS = ("negative_amount", "unknown_entity", "duplicate_record")
PAYMENT_TERMS_DAYS = 30
NON_TRADE_MEMOS = np.array(["rent", "family loan", "deposit", "repayment", ""], dtype=object)
MARKUP = 1.18  # a distributor sells on at this multiple of its purchase price


@dataclass(frozen=True)
class Chains:
    """Who buys from whom, and each buyer's habits. Distributor and store arrays are population indices."""

    distributor: np.ndarray
    brand_of: np.ndarray  # population index of each distributor's brand
    order_rate: np.ndarray  # purchase orders per day
    order_size: np.ndarray  # mean order value, CNY
    order_sigma: np.ndarray  # spread of log order value
    growth: np.ndarray  # drift of log order value per day
    pay_delay: np.ndarray  # mean days paid after the terms
    split_share: np.ndarray  # probability that an order is paid in two instalments
    store: np.ndarray
    suppliers: np.ndarray  # (stores, 2) positions in `distributor` of each store's two suppliers
    main_supplier_share: np.ndarray  # share of a store's purchases from its first supplier
    purchase_rate: np.ndarray  # purchases per day
    purchase_size: np.ndarray  # mean purchase value, CNY
    borrower: np.ndarray  # population indices of businesses that make transfers that are not trade


def draw_chains(p: Population, rng: np.random.Generator, realism: Realism = PLAIN) -> Chains:
    """Each distributor serves one brand; each store buys from two distributors, mostly the first (the worse the
    store, the less loyal). Each habit is driven by its own view of the buyer's quality (`realism.habit_signal`)."""
    brands, dist, stores = p.of("brand"), p.of("distributor"), p.of("store")
    n_dist = max(dist.size, 1)

    def qd() -> np.ndarray:
        return habit_driver(p.quality[dist], realism.habit_signal, rng)

    def qs() -> np.ndarray:
        return habit_driver(p.quality[stores], realism.habit_signal, rng)

    return Chains(
        distributor=dist,
        brand_of=brands[rng.integers(0, max(brands.size, 1), dist.size)] if brands.size else dist[:0],
        order_rate=np.full(dist.size, 1 / 7),
        order_size=p.size[dist] * 9000.0 * np.exp(rng.normal(0, 0.2, dist.size)),
        order_sigma=0.25 * np.exp(-0.3 * qd()),
        growth=(0.3 * qd() + rng.normal(0, 0.15, dist.size)) / 365.0,
        pay_delay=4.0 * np.exp(-0.9 * qd()),
        split_share=sigmoid(-2.0 - 1.0 * qd()),
        store=stores,
        suppliers=rng.integers(0, n_dist, (stores.size, 2)),
        main_supplier_share=np.clip(0.8 + 0.08 * qs(), 0.5, 0.97),
        purchase_rate=np.full(stores.size, 1 / 4),
        purchase_size=p.size[stores] * 1200.0 * np.exp(rng.normal(0, 0.2, stores.size)),
        borrower=p.of(*BORROWER_SEGMENTS),
    )


def distributor_revenue(c: Chains) -> np.ndarray:
    """A distributor's expected monthly sales: its purchases, marked up."""
    return 30 * c.order_rate * c.order_size * np.exp(c.order_sigma**2 / 2) * MARKUP


def business_seconds(k: int, rng: np.random.Generator) -> np.ndarray:
    return (8 * 3600 + rng.beta(2.0, 2.0, k) * 10 * 3600).astype(np.int64)


def records(kind: str, payer, payee, amount, reference, memo, day: dt.date, rng) -> pd.DataFrame:
    k = len(amount)
    seconds = business_seconds(k, rng)
    return pd.DataFrame(
        {
            "seconds": seconds,
            "record_type": kind,
            "ts": local_timestamps(day, seconds),
            "payer_id": payer,
            "payee_id": payee,
            "amount": np.round(amount, 2),
            "currency": "CNY",
            "reference": reference,
            "memo": memo,
        }
    )


class TradeDays:
    """Draws each day's trade records; payments of orders wait until their due day."""

    def __init__(self, p: Population, chains: Chains, start: dt.date) -> None:
        self.p, self.c, self.start = p, chains, start
        self.due: dict[int, list[pd.DataFrame]] = {}  # day index -> order payments falling due that day

    def orders(self, t: int, day: dt.date, rng: np.random.Generator) -> pd.DataFrame:
        c, ids = self.c, self.p.entity_id
        if c.brand_of.size == 0:
            return records("order", [], [], np.empty(0), [], [], day, rng)
        placed = np.flatnonzero(rng.random(c.distributor.size) < c.order_rate)
        log_change = c.growth[placed] * t + c.order_sigma[placed] * rng.normal(size=placed.size)
        value = c.order_size[placed] * np.exp(log_change)
        order_ids = [f"O{day:%Y%m%d}{i:06d}" for i in range(1, placed.size + 1)]
        orders = records(
            "order", ids[c.distributor[placed]], ids[c.brand_of[placed]], value, "", "purchase order", day, rng
        ).assign(record_id=order_ids)
        self.schedule_payments(orders, placed, t, rng)
        return orders

    def schedule_payments(self, orders: pd.DataFrame, placed: np.ndarray, t: int, rng) -> None:
        """Each order is paid after the terms plus the distributor's delay, some in two instalments."""
        c = self.c
        split = rng.random(placed.size) < c.split_share[placed]
        first_share = np.where(split, rng.uniform(0.4, 0.7, placed.size), 1.0)
        delay = PAYMENT_TERMS_DAYS + rng.exponential(c.pay_delay[placed]).astype(int)
        second_delay = delay + rng.integers(10, 40, placed.size)
        for share, days, which in ((first_share, delay, slice(None)), (1 - first_share, second_delay, split)):
            rows = pd.DataFrame(
                {
                    "payer": orders["payer_id"].to_numpy()[which],
                    "payee": orders["payee_id"].to_numpy()[which],
                    "amount": (orders["amount"].to_numpy() * share)[which],
                    "reference": orders["record_id"].to_numpy()[which],
                    "due": t + days[which],
                }
            )
            for due, group in rows.groupby("due"):
                self.due.setdefault(int(due), []).append(group)

    def order_payments(self, t: int, day: dt.date, rng) -> pd.DataFrame:
        due = pd.concat(self.due.pop(t, []) or [pd.DataFrame(columns=["payer", "payee", "amount", "reference"])])
        return records(
            "transfer", due["payer"].to_numpy(), due["payee"].to_numpy(), due["amount"].to_numpy(dtype=float),
            due["reference"].to_numpy(), "order payment", day, rng,
        )  # fmt: skip

    def store_purchases(self, day: dt.date, rng) -> pd.DataFrame:
        c, ids = self.c, self.p.entity_id
        if c.distributor.size == 0:
            return records("transfer", [], [], np.empty(0), [], [], day, rng)
        buying = np.flatnonzero(rng.random(c.store.size) < c.purchase_rate)
        first = rng.random(buying.size) < c.main_supplier_share[buying]
        supplier = np.where(first, c.suppliers[buying, 0], c.suppliers[buying, 1])
        value = c.purchase_size[buying] * np.exp(0.3 * rng.normal(size=buying.size))
        return records("transfer", ids[c.store[buying]], ids[c.distributor[supplier]], value, "", "goods", day, rng)

    def other_transfers(self, day: dt.date, rng) -> pd.DataFrame:
        """About one a month per business, to a random other business, in round amounts: not trade."""
        c, ids = self.c, self.p.entity_id
        payer = c.borrower[rng.random(c.borrower.size) < 1 / 30]
        payee = c.borrower[rng.integers(0, max(c.borrower.size, 1), payer.size)] if payer.size else payer
        keep = payer != payee
        payer, payee = payer[keep], payee[keep]
        amount = np.round(np.exp(rng.normal(np.log(3000), 1.0, payer.size)), -2) + 100
        memo = NON_TRADE_MEMOS[rng.integers(0, NON_TRADE_MEMOS.size, payer.size)]
        return records("transfer", ids[payer], ids[payee], amount, "", memo, day, rng)

    def day(self, t: int, day: dt.date, broken_share: float, rng) -> tuple[pd.DataFrame, dict[str, int]]:
        """The day's trade file: orders first, then transfers numbered by time, then the broken rows."""
        orders = self.orders(t, day, rng)
        transfers = pd.concat(
            [self.order_payments(t, day, rng), self.store_purchases(day, rng), self.other_transfers(day, rng)],
            ignore_index=True,
        ).sort_values("seconds", kind="stable")
        transfers["record_id"] = [f"X{day:%Y%m%d}{i:07d}" for i in range(1, len(transfers) + 1)]
        good = pd.concat([orders, transfers], ignore_index=True)[TRADE_COLUMNS]
        broken, counts = broken_trade_rows(good, broken_share, day, rng)
        return pd.concat([good, broken], ignore_index=True), counts


def broken_trade_rows(good: pd.DataFrame, broken_share: float, day: dt.date, rng) -> tuple[pd.DataFrame, dict]:
    """Copies of good rows: a negative amount or an unknown counterparty (under new record ids), or an exact
    re-send of the same record."""
    kinds = rng.integers(0, len(BAD_KINDS), rng.poisson(len(good) * broken_share)) if len(good) else np.empty(0, int)
    copies = good.iloc[rng.integers(0, max(len(good), 1), kinds.size)].reset_index(drop=True)
    name = np.array(BAD_KINDS, dtype=object)[kinds]
    copies.loc[name == "negative_amount", "amount"] *= -1
    unknown = name == "unknown_entity"
    copies.loc[unknown, "payee_id"] = unknown_entity_ids(int(unknown.sum()), rng)
    altered = name != "duplicate_record"
    copies.loc[altered, "record_id"] = [f"Z{day:%Y%m%d}{i:07d}" for i in range(1, int(altered.sum()) + 1)]
    return copies, {kind: int((name == kind).sum()) for kind in BAD_KINDS}

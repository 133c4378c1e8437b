"""Payments of the merchants (online sellers, offline shops and the stores of supply chains), one day at a time.

A merchant's quality leaves observable traces in its payments: worse merchants refund and charge back more, sit
idle more often, drift downwards and swing more from day to day. Size sets the volume. Calendars (weekdays, Chinese
New Year, 6.18, 11.11) and shocks (spells of low sales) come on top.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from simulator.population import PLAIN, Population, Realism, habit_driver, sigmoid

MERCHANT_SEGMENTS = ("online_merchant", "offline_merchant", "store")
TXN_COLUMNS = ["txn_id", "entity_id", "ts", "amount", "currency", "channel", "payer_token", "status"]
# row faults, on top of the good rows; `duplicate_txn` re-sends a row as it was, the others break one field
BAD_KINDS = (
    "negative_amount",
    "absurd_amount",
    "unknown_currency",
    "bad_timestamp",
    "missing_entity_id",
    "unknown_entity",
    "malformed_row",  # written with its last field missing
    "duplicate_txn",
)
ABSURD_AMOUNT = 98_765_432.10  # no small merchant takes this in one payment
NOISE_MEMORY = 0.7  # AR(1) coefficient of the daily log-sales noise
TICKET_SIGMA = 0.6  # spread of single payment amounts around the merchant's ticket size
OWN_CHANNEL_SHARE = 0.93  # share of payments in the segment's own channel (qr offline, online online)

# Day-of-week factors, Monday first: offline shops peak at the weekend, online sales are flat.
WEEKDAY_FACTOR = np.array([[0.90, 0.90, 0.92, 0.95, 1.05, 1.30, 1.25], [1.05, 1.00, 1.00, 1.00, 0.98, 0.97, 1.00]])

CHINESE_NEW_YEAR = {
    2015: (2, 19),
    2016: (2, 8),
    2017: (1, 28),
    2018: (2, 16),
    2019: (2, 5),
    2020: (1, 25),
    2021: (2, 12),
    2022: (2, 1),
    2023: (1, 22),
    2024: (2, 10),
    2025: (1, 29),
    2026: (2, 17),
    2027: (2, 6),
    2028: (1, 26),
    2029: (2, 13),
    2030: (2, 3),
}


@dataclass(frozen=True)
class Merchants:
    """Per-merchant parameters, one array element per merchant (entity index = position)."""

    index: np.ndarray  # position of each merchant in the population
    entity_id: np.ndarray
    online: np.ndarray
    quality: np.ndarray
    size: np.ndarray
    log_ticket: np.ndarray
    refund_rate: np.ndarray
    chargeback_rate: np.ndarray
    idle_rate: np.ndarray
    growth: np.ndarray  # drift of log sales per day
    volatility: np.ndarray  # stationary sd of log sales noise
    loyalty: np.ndarray  # share of payments from the repeat-payer pool
    night_share: np.ndarray
    seen: np.ndarray  # whether the merchant's payments reach the lender at all
    pool_start: np.ndarray
    pool_size: np.ndarray
    pool_tokens: np.ndarray


@dataclass(frozen=True)
class Shocks:
    """Spells during which a merchant's sales drop to `factor` of normal."""

    entity: np.ndarray
    first_day: np.ndarray
    length: np.ndarray
    factor: np.ndarray


# ---------------------------------------------------------------------------------------------------------------
# Population


def hex_tokens(rng: np.random.Generator, n: int) -> np.ndarray:
    """Opaque 16-hex-digit payer tokens."""
    return np.array([f"{x:016x}" for x in rng.integers(0, 2**63, n).tolist()], dtype=object)


def draw_merchants(p: Population, rng: np.random.Generator, realism: Realism = PLAIN) -> Merchants:
    """The payment-taking part of the population, with the habits its quality and size imply (each habit driven by
    its own view of the quality, `realism.habit_signal`). A worse merchant more often keeps its payments from the
    lender (`realism.hidden_flow_share` on average): data missing not at random."""
    idx = p.of(*MERCHANT_SEGMENTS)
    n = idx.size
    q, size = p.quality[idx], p.size[idx]
    online = p.segment[idx] == "online_merchant"
    pool_size = np.clip(np.round(size * 15), 5, 300).astype(np.int64)

    def driver() -> np.ndarray:
        return habit_driver(q, realism.habit_signal, rng)

    return Merchants(
        index=idx,
        entity_id=p.entity_id[idx],
        online=online,
        quality=q,
        size=size,
        log_ticket=np.where(online, np.log(120.0), np.log(45.0)) + rng.normal(0, 0.5, n),
        refund_rate=sigmoid(-3.6 - 0.5 * driver() + rng.normal(0, 0.5, n)),
        chargeback_rate=sigmoid(-6.2 - 0.8 * driver()),
        idle_rate=sigmoid(-3.0 - 0.9 * driver() + rng.normal(0, 0.4, n)),
        growth=(0.35 * driver() + rng.normal(0, 0.15, n)) / 365.0,
        volatility=0.2 * np.exp(-0.35 * driver()),
        loyalty=np.clip(0.55 + 0.12 * driver() + rng.normal(0, 0.05, n), 0.15, 0.9),
        night_share=np.where(online, 0.15, 0.05) * np.exp(-0.25 * driver()),
        seen=hidden_flows(q, realism.hidden_flow_share, rng),
        pool_start=np.concatenate([[0], np.cumsum(pool_size)[:-1]]).astype(np.int64),
        pool_size=pool_size,
        pool_tokens=hex_tokens(rng, int(pool_size.sum())),
    )


def hidden_flows(q: np.ndarray, share: float, rng: np.random.Generator) -> np.ndarray:
    """Whether each merchant's payments reach the lender: about `share` do not, the odds of hiding doubling with each
    standard deviation of worse quality (nothing is drawn at share 0)."""
    if share <= 0.0:
        return np.ones(q.size, dtype=bool)
    return rng.random(q.size) >= sigmoid(np.log(share / (1.0 - share)) - 0.7 * q)


def monthly_sales(m: Merchants) -> np.ndarray:
    """Expected sales of a normal month (30 days at the size's order rate and the mean ticket)."""
    return 30 * m.size * np.exp(m.log_ticket + TICKET_SIGMA**2 / 2)


def draw_shocks(m: Merchants, days: int, rng: np.random.Generator) -> Shocks:
    """About 0.8 shocks a year per merchant, more for worse ones; each lasts 2 to 6 weeks."""
    counts = rng.poisson(0.8 * days / 365.0 * np.exp(-0.3 * m.quality))
    k = int(counts.sum())
    return Shocks(
        entity=np.repeat(np.arange(len(counts)), counts),
        first_day=rng.integers(0, days, k),
        length=rng.integers(14, 43, k),
        factor=rng.uniform(0.15, 0.6, k),
    )


# ---------------------------------------------------------------------------------------------------------------
# Calendar and daily sales rate


def chinese_new_year(year: int) -> dt.date:
    month, day = CHINESE_NEW_YEAR.get(year, (2, 1))  # outside the table: early February is close enough
    return dt.date(year, month, day)


def festival_factor(day: dt.date) -> np.ndarray:
    """Multipliers (offline, online) for Chinese New Year, 6.18 and 11.11."""
    offline, online = 1.0, 1.0
    k = (day - chinese_new_year(day.year)).days
    if -14 <= k < 0:
        offline = 1.4  # New Year shopping
    elif 0 <= k < 7:
        offline = 0.35  # shops closed for the holiday
    if -21 <= k < -7:
        online = 1.3
    elif -7 <= k < 7:
        online = 0.6  # couriers stop
    if day.month == 6 and 16 <= day.day <= 18:
        online *= 1.6
    if day.month == 11 and day.day <= 12:
        online *= {11: 3.0, 12: 1.4}.get(day.day, 1.2)
        offline *= 1.1 if day.day == 11 else 1.0
    return np.array([offline, online])


def calendar_factor(day: dt.date) -> np.ndarray:
    """Multipliers (offline, online) for the day of week and festivals."""
    return WEEKDAY_FACTOR[:, day.weekday()] * festival_factor(day)


def shock_factor(shocks: Shocks, t: int, n: int) -> np.ndarray:
    active = (shocks.first_day <= t) & (t < shocks.first_day + shocks.length)
    factor = np.ones(n)
    np.multiply.at(factor, shocks.entity[active], shocks.factor[active])
    return factor


def next_noise(noise: np.ndarray, m: Merchants, rng: np.random.Generator) -> np.ndarray:
    """AR(1) step of the log-sales noise, keeping its stationary sd at `m.volatility`."""
    innovation = np.sqrt(1 - NOISE_MEMORY**2) * m.volatility * rng.standard_normal(noise.size)
    return NOISE_MEMORY * noise + innovation


def daily_rates(
    m: Merchants, t: int, day: dt.date, noise: np.ndarray, shocks: Shocks, rng: np.random.Generator
) -> np.ndarray:
    """Expected number of payments of each merchant on day t (0 on idle days)."""
    rate = (
        m.size
        * calendar_factor(day)[m.online.astype(int)]
        * np.exp(m.growth * t)
        * np.exp(noise - m.volatility**2 / 2)
        * shock_factor(shocks, t, m.size.size)
    )
    return np.where((rng.random(rate.size) < m.idle_rate) | ~m.seen, 0.0, rate)


# ---------------------------------------------------------------------------------------------------------------
# Transactions of one day


def draw_seconds(night_share: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Local second of day: business hours mostly, a merchant-specific share between 22:00 and 07:00."""
    k = night_share.size
    daytime = 7 * 3600 + rng.beta(2.2, 2.0, k) * 15 * 3600  # 07:00 to 22:00, busiest early afternoon
    night = (22 * 3600 + rng.integers(0, 9 * 3600, k)) % 86400
    return np.where(rng.random(k) < night_share, night, daytime).astype(np.int64)


def draw_payers(m: Merchants, idx: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Repeat payers from the merchant's pool (a few come often) or one-off payers."""
    repeat = rng.random(idx.size) < m.loyalty[idx]
    slot = m.pool_start[idx] + (rng.random(idx.size) ** 2 * m.pool_size[idx]).astype(np.int64)
    tokens = m.pool_tokens[slot]
    one_off = hex_tokens(rng, idx.size)
    tokens[~repeat] = one_off[~repeat]
    return tokens


def draw_status(m: Merchants, idx: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    u = rng.random(idx.size)
    chargeback = m.chargeback_rate[idx]
    refund = chargeback + m.refund_rate[idx]
    return np.select([u < chargeback, u < refund], ["chargeback", "refund"], "success").astype(object)


def local_timestamps(day: dt.date, seconds: np.ndarray) -> list[str]:
    d = day.isoformat()
    return [f"{d}T{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}+08:00" for s in seconds.tolist()]


def draw_payments(m: Merchants, rates: np.ndarray, day: dt.date, rng: np.random.Generator) -> pd.DataFrame:
    """The day's good payments in landing columns (no txn_id yet), plus a `seconds` sort key."""
    idx = np.repeat(np.arange(rates.size), rng.poisson(rates))
    amount = np.maximum(np.round(np.exp(m.log_ticket[idx] + TICKET_SIGMA * rng.standard_normal(idx.size)), 2), 1.0)
    seconds = draw_seconds(m.night_share[idx], rng)
    own = rng.random(idx.size) < OWN_CHANNEL_SHARE
    channel = np.where(m.online[idx] == own, "online", "qr").astype(object)
    return pd.DataFrame(
        {
            "seconds": seconds,
            "entity_id": m.entity_id[idx],
            "ts": local_timestamps(day, seconds),
            "amount": amount,
            "currency": "CNY",
            "channel": channel,
            "payer_token": draw_payers(m, idx, rng),
            "status": draw_status(m, idx, rng),
        }
    )


def garbage_timestamps(day: dt.date, k: int, rng: np.random.Generator) -> np.ndarray:
    forms = np.array(
        [
            f"{day.year}-13-45 25:61",
            f"{day.isoformat()}T25:61:99+08:00",
            f"{day.day:02d}/{day.month:02d}/{day.year} 99:99",
            "not-a-timestamp",
        ],
        dtype=object,
    )
    return forms[rng.integers(0, len(forms), k)]


def broken_copies(good: pd.DataFrame, kinds: np.ndarray, day: dt.date, rng: np.random.Generator) -> pd.DataFrame:
    """Copies of random good rows, each with one field broken; `kinds` indexes BAD_KINDS (duplicates excluded)."""
    if kinds.size == 0:
        return good.iloc[:0]
    copies = good.iloc[rng.integers(0, len(good), kinds.size)].reset_index(drop=True)
    name = np.array(BAD_KINDS, dtype=object)[kinds]
    copies.loc[name == "negative_amount", "amount"] *= -1
    copies.loc[name == "absurd_amount", "amount"] = ABSURD_AMOUNT
    copies.loc[name == "unknown_currency", "currency"] = "XXX"
    broken_ts = name == "bad_timestamp"
    copies.loc[broken_ts, "ts"] = garbage_timestamps(day, int(broken_ts.sum()), rng)
    copies.loc[name == "missing_entity_id", "entity_id"] = ""
    unknown = name == "unknown_entity"
    copies.loc[unknown, "entity_id"] = unknown_entity_ids(int(unknown.sum()), rng)
    return copies


def unknown_entity_ids(k: int, rng: np.random.Generator) -> np.ndarray:
    """Well-formed ids that no registry delivery ever names (simulated ids stay below E900000)."""
    return np.array([f"E9{x:05d}" for x in rng.integers(0, 10**5, k).tolist()], dtype=object)


def with_txn_ids(rows: pd.DataFrame, day: dt.date) -> pd.DataFrame:
    """Order the rows by time of day and number them: T<yyyymmdd><7-digit counter>."""
    rows = rows.sort_values("seconds", kind="stable").reset_index(drop=True)
    prefix = f"T{day:%Y%m%d}"
    return rows.assign(txn_id=[f"{prefix}{i:07d}" for i in range(1, len(rows) + 1)])


def resends(pool: pd.DataFrame, k: int, rng: np.random.Generator) -> pd.DataFrame:
    """Exact re-sends (same txn_id) of rows already delivered today or yesterday."""
    if pool.empty or k == 0:
        return pool.iloc[:0]
    return pool.iloc[rng.integers(0, len(pool), k)]


def count_kinds(kinds: np.ndarray) -> dict[str, int]:
    return {kind: int((kinds == i).sum()) for i, kind in enumerate(BAD_KINDS)}


def transactions_of_day(
    m: Merchants,
    rates: np.ndarray,
    day: dt.date,
    broken_share: float,
    yesterday: pd.DataFrame | None,
    rng: np.random.Generator,
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, int]]:
    """The day's rows (with `bad_kind`: the kind of broken row, empty for a good one), its good rows (tomorrow's
    re-send pool) and the {kind: count} of broken rows.

    Broken rows come on top of the good ones: field-broken copies get their own txn_id, re-sends keep theirs.
    """
    good = draw_payments(m, rates, day, rng)
    kinds = rng.integers(0, len(BAD_KINDS), rng.poisson(len(good) * broken_share))
    field_kinds = kinds[kinds != BAD_KINDS.index("duplicate_txn")]
    broken = broken_copies(good, field_kinds, day, rng).assign(bad_kind=np.array(BAD_KINDS, dtype=object)[field_kinds])
    rows = with_txn_ids(pd.concat([good.assign(bad_kind=""), broken], ignore_index=True), day)
    today_good = rows.loc[rows["bad_kind"] == "", TXN_COLUMNS]
    pool = today_good if yesterday is None else pd.concat([yesterday, today_good], ignore_index=True)
    dup = resends(pool, kinds.size - field_kinds.size, rng)
    counts = count_kinds(field_kinds) | {"duplicate_txn": len(dup)}
    day_rows = pd.concat([rows[[*TXN_COLUMNS, "bad_kind"]], dup.assign(bad_kind="duplicate_txn")], ignore_index=True)
    return day_rows, today_good, counts

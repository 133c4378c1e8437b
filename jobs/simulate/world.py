"""Walking-skeleton world: small merchants, their daily payments, and historical loans with known outcomes.

Each merchant has a latent quality q ~ N(0, 1) and a size (its baseline orders per day). Quality sets the true
probability of default and leaves observable traces in the payments: worse merchants refund and charge back more,
sit idle more often, drift downwards and swing more from day to day. Size sets volume and only weakly the PD.

Every draw comes from generators spawned off `numpy.random.default_rng(seed)`, so a seed gives byte-identical
landing files. Transactions stream day by day: only today's and yesterday's rows are ever held in memory.
"""

from __future__ import annotations

import datetime as dt
import json
import pathlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

ENTITY_COLUMNS = ["entity_id", "segment", "registered_date", "city", "owner_name", "owner_id_number", "owner_phone"]
TXN_COLUMNS = ["txn_id", "entity_id", "ts", "amount", "currency", "channel", "payer_token", "status"]
EVENT_COLUMNS = ["loan_id", "entity_id", "event_date", "event_type", "amount"]
BAD_KINDS = ("negative_amount", "unknown_currency", "bad_timestamp", "missing_entity_id", "duplicate_txn")

SEGMENTS = np.array(["offline_merchant", "online_merchant"], dtype=object)  # indexed by the `online` flag
CITIES = (
    "Shanghai",
    "Beijing",
    "Shenzhen",
    "Guangzhou",
    "Hangzhou",
    "Chengdu",
    "Wuhan",
    "Nanjing",
    "Chongqing",
    "Suzhou",
)

PD_INTERCEPT = -2.7  # with the slopes below the mean true PD is about 9.8 %
LOAN_TAKE_UP = 0.35
LOAN_MIN_AGE_DAYS = 60  # no loans in the first 60 days: the lender needs some history first
LOAN_TERM_DAYS = 365
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
class WorldSpec:
    entities: int
    days: int
    start: dt.date
    seed: int
    bad_rate: float = 0.0  # share of transaction rows deliberately broken


@dataclass(frozen=True)
class Merchants:
    """Per-merchant parameters, one array element per merchant (entity index = position)."""

    entity_id: np.ndarray
    online: np.ndarray
    quality: np.ndarray
    size: np.ndarray
    true_pd: np.ndarray
    registered: np.ndarray
    city: np.ndarray
    log_ticket: np.ndarray
    refund_rate: np.ndarray
    chargeback_rate: np.ndarray
    idle_rate: np.ndarray
    growth: np.ndarray  # drift of log sales per day
    volatility: np.ndarray  # stationary sd of log sales noise
    loyalty: np.ndarray  # share of payments from the repeat-payer pool
    night_share: np.ndarray
    pool_start: np.ndarray
    pool_size: np.ndarray
    pool_tokens: np.ndarray
    owner_name: np.ndarray  # personal data: only bronze may hold it as it is
    owner_id_number: np.ndarray
    owner_phone: np.ndarray


@dataclass(frozen=True)
class Shocks:
    """Spells during which a merchant's sales drop to `factor` of normal."""

    entity: np.ndarray
    first_day: np.ndarray
    length: np.ndarray
    factor: np.ndarray


# ---------------------------------------------------------------------------------------------------------------
# Population


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def hex_tokens(rng: np.random.Generator, n: int) -> np.ndarray:
    """Opaque 16-hex-digit payer tokens."""
    return np.array([f"{x:016x}" for x in rng.integers(0, 2**63, n).tolist()], dtype=object)


SURNAMES = ("Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Zhao", "Huang", "Zhou", "Wu", "Xu", "Sun", "Ma", "Zhu")
GIVEN_NAMES = ("Wei", "Fang", "Na", "Min", "Jing", "Lei", "Qiang", "Yan", "Jun", "Hui", "Tao", "Ping", "Xia", "Gang")
REGION_CODES = ("310101", "110105", "440305", "440106", "330106", "510104", "420102", "320102", "500103", "320505")
ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])


def id_check_character(first17: str) -> str:
    """The 18th character of a resident ID number (ISO 7064 MOD 11-2)."""
    return "10X98765432"[int(np.dot(ID_WEIGHTS, [int(c) for c in first17])) % 11]


def draw_owners(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each business's owner: a name, a well-formed 18-character ID number and a mobile number (all fictitious)."""
    names = [
        f"{SURNAMES[s]} {GIVEN_NAMES[g]}{GIVEN_NAMES[h].lower()}"
        for s, g, h in zip(*(rng.integers(0, len(SURNAMES), n) for _ in range(3)))
    ]
    births = np.datetime64("1960-01-01") + rng.integers(0, 40 * 365, n).astype("timedelta64[D]")
    first17 = [
        f"{REGION_CODES[r]}{b.astype(dt.date):%Y%m%d}{q:03d}"
        for r, b, q in zip(rng.integers(0, len(REGION_CODES), n), births, rng.integers(0, 1000, n))
    ]
    ids = [f + id_check_character(f) for f in first17]
    phones = [f"1{p}{d:09d}" for p, d in zip(rng.choice([3, 5, 7, 8, 9], n), rng.integers(0, 10**9, n))]
    return tuple(np.array(v, dtype=object) for v in (names, ids, phones))


def draw_merchants(n: int, start: dt.date, rng: np.random.Generator, owner_rng: np.random.Generator) -> Merchants:
    owner_name, owner_id_number, owner_phone = draw_owners(n, owner_rng)
    q = rng.normal(size=n)
    size = np.clip(rng.lognormal(np.log(2.8), 0.7, n), 0.5, 20.0)
    size_z = (np.log(size) - np.log(2.8)) / 0.7
    online = rng.random(n) < 0.5
    pool_size = np.clip(np.round(size * 15), 5, 300).astype(np.int64)
    return Merchants(
        entity_id=np.array([f"E{i + 1:06d}" for i in range(n)], dtype=object),
        online=online,
        quality=q,
        size=size,
        true_pd=sigmoid(PD_INTERCEPT - 1.1 * q - 0.15 * size_z + rng.normal(0, 0.3, n)),
        registered=np.array([start - dt.timedelta(days=int(d)) for d in rng.integers(60, 3000, n)], dtype=object),
        city=np.array(CITIES, dtype=object)[rng.integers(0, len(CITIES), n)],
        log_ticket=np.where(online, np.log(120.0), np.log(45.0)) + rng.normal(0, 0.5, n),
        refund_rate=sigmoid(-3.6 - 0.5 * q + rng.normal(0, 0.5, n)),
        chargeback_rate=sigmoid(-6.2 - 0.8 * q),
        idle_rate=sigmoid(-3.0 - 0.9 * q + rng.normal(0, 0.4, n)),
        growth=(0.35 * q + rng.normal(0, 0.15, n)) / 365.0,
        volatility=0.2 * np.exp(-0.35 * q),
        loyalty=np.clip(0.55 + 0.12 * q + rng.normal(0, 0.05, n), 0.15, 0.9),
        night_share=np.where(online, 0.15, 0.05) * np.exp(-0.25 * q),
        pool_start=np.concatenate([[0], np.cumsum(pool_size)[:-1]]),
        pool_size=pool_size,
        pool_tokens=hex_tokens(rng, int(pool_size.sum())),
        owner_name=owner_name,
        owner_id_number=owner_id_number,
        owner_phone=owner_phone,
    )


def entities_landing(m: Merchants) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "entity_id": m.entity_id,
            "segment": SEGMENTS[m.online.astype(int)],
            "registered_date": [d.isoformat() for d in m.registered],
            "city": m.city,
            "owner_name": m.owner_name,
            "owner_id_number": m.owner_id_number,
            "owner_phone": m.owner_phone,
        }
    )


def entities_truth(m: Merchants) -> pa.Table:
    schema = pa.schema(
        [
            ("entity_id", pa.string()),
            ("segment", pa.string()),
            ("true_pd", pa.float64()),
            ("quality", pa.float64()),
            ("size", pa.float64()),
            ("registered_date", pa.date32()),
            ("city", pa.string()),
            ("owner_name", pa.string()),
            ("owner_id_number", pa.string()),
            ("owner_phone", pa.string()),
        ]
    )
    return pa.table(
        {
            "entity_id": m.entity_id,
            "segment": SEGMENTS[m.online.astype(int)],
            "true_pd": m.true_pd,
            "quality": m.quality,
            "size": m.size,
            "registered_date": m.registered,
            "city": m.city,
            "owner_name": m.owner_name,
            "owner_id_number": m.owner_id_number,
            "owner_phone": m.owner_phone,
        },
        schema=schema,
    )


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
    return np.where(rng.random(rate.size) < m.idle_rate, 0.0, rate)


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
    copies.loc[name == "unknown_currency", "currency"] = "XXX"
    broken_ts = name == "bad_timestamp"
    copies.loc[broken_ts, "ts"] = garbage_timestamps(day, int(broken_ts.sum()), rng)
    copies.loc[name == "missing_entity_id", "entity_id"] = ""
    return copies


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
    """The day's file, its good rows (tomorrow's re-send pool) and the {kind: count} of broken rows in the file.

    Broken rows come on top of the good ones: field-broken copies get their own txn_id, re-sends keep theirs.
    """
    good = draw_payments(m, rates, day, rng)
    kinds = rng.integers(0, len(BAD_KINDS), rng.poisson(len(good) * broken_share))
    field_kinds = kinds[kinds != BAD_KINDS.index("duplicate_txn")]
    rows = with_txn_ids(
        pd.concat(
            [good.assign(broken=False), broken_copies(good, field_kinds, day, rng).assign(broken=True)],
            ignore_index=True,
        ),
        day,
    )
    today_good = rows.loc[~rows["broken"], TXN_COLUMNS]
    pool = today_good if yesterday is None else pd.concat([yesterday, today_good], ignore_index=True)
    dup = resends(pool, kinds.size - field_kinds.size, rng)
    counts = count_kinds(field_kinds) | {"duplicate_txn": len(dup)}
    return pd.concat([rows[TXN_COLUMNS], dup], ignore_index=True), today_good, counts


# ---------------------------------------------------------------------------------------------------------------
# Loans


def month_ends(first: dt.date, last: dt.date) -> list[dt.date]:
    ends = pd.date_range(first, last, freq="ME")
    return [d.date() for d in ends]


def draw_loans(m: Merchants, start: dt.date, end: dt.date, rng: np.random.Generator) -> pd.DataFrame:
    """At each month end from day 60 on, each merchant borrows with probability 0.35; bad with its true PD."""
    frames = []
    for disbursed in month_ends(start + dt.timedelta(days=LOAN_MIN_AGE_DAYS), end):
        borrower = np.flatnonzero(rng.random(m.size.size) < LOAN_TAKE_UP)
        monthly_sales = 30 * m.size[borrower] * np.exp(m.log_ticket[borrower])
        amount = np.maximum(np.round(monthly_sales * rng.uniform(0.3, 1.0, borrower.size), -2), 1000.0)
        bad = rng.random(borrower.size) < m.true_pd[borrower]
        days_to_bad = rng.integers(90, LOAN_TERM_DAYS + 1, borrower.size)
        frames.append(
            pd.DataFrame(
                {
                    "entity_id": m.entity_id[borrower],
                    "disbursed_date": disbursed,
                    "amount": amount,
                    "bad": bad,
                    "bad_date": [
                        disbursed + dt.timedelta(days=int(d)) if b else None for d, b in zip(days_to_bad, bad)
                    ],
                }
            )
        )
    columns = ["entity_id", "disbursed_date", "amount", "bad", "bad_date"]
    loans = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)
    loans.insert(0, "loan_id", [f"L{i + 1:07d}" for i in range(len(loans))])
    return loans


def loans_truth(loans: pd.DataFrame) -> pa.Table:
    schema = pa.schema(
        [
            ("loan_id", pa.string()),
            ("entity_id", pa.string()),
            ("disbursed_date", pa.date32()),
            ("amount", pa.float64()),
            ("bad", pa.bool_()),
            ("bad_date", pa.date32()),
        ]
    )
    return pa.Table.from_pandas(loans, schema=schema, preserve_index=False)


def loan_events(loans: pd.DataFrame, end: dt.date) -> pd.DataFrame:
    """Disbursed, dpd90 (bad loans) and closed (good loans, after the term) events known by `end`."""
    term = dt.timedelta(days=LOAN_TERM_DAYS)
    good = loans[~loans["bad"].astype(bool)]
    bad = loans[loans["bad"].astype(bool)]
    events = pd.concat(
        [
            loans.assign(event_date=loans["disbursed_date"], event_type="disbursed"),
            bad.assign(event_date=bad["bad_date"], event_type="dpd90"),
            good.assign(event_date=good["disbursed_date"] + term, event_type="closed"),
        ],
        ignore_index=True,
    )
    events = events[events["event_date"] <= end]
    return events.sort_values(["event_date", "loan_id"], kind="stable")[EVENT_COLUMNS]


# ---------------------------------------------------------------------------------------------------------------
# Files


def write_csv(frame: pd.DataFrame, path: pathlib.Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False, float_format="%.2f", lineterminator="\n", encoding="utf-8")


def landing_path(out: pathlib.Path, source: str, day: dt.date, name: str) -> pathlib.Path:
    return out / "landing" / source / f"dt={day.isoformat()}" / name


def validate(spec: WorldSpec) -> None:
    if spec.entities < 1:
        raise ValueError(f"entities must be at least 1, got {spec.entities}")
    if spec.days < 1:
        raise ValueError(f"days must be at least 1, got {spec.days}")
    if not 0.0 <= spec.bad_rate < 1.0:
        raise ValueError(f"bad_rate must be in [0, 1), got {spec.bad_rate}")


def simulate(spec: WorldSpec, out: pathlib.Path, progress: Callable[[int, int], None] | None = None) -> dict:
    """Write the landing files and the truth of a simulated world under `out`; return a summary.

    `progress(day_index, days)` is called after each simulated day is written, day_index running 0 .. days - 1.
    """
    validate(spec)
    out = pathlib.Path(out)
    end = spec.start + dt.timedelta(days=spec.days - 1)
    world_rng, loan_rng, day_rng, owner_rng = np.random.default_rng(spec.seed).spawn(4)  # the first three as before

    merchants = draw_merchants(spec.entities, spec.start, world_rng, owner_rng)
    shocks = draw_shocks(merchants, spec.days, world_rng)
    loans = draw_loans(merchants, spec.start, end, loan_rng)
    events_by_day = {day: frame for day, frame in loan_events(loans, end).groupby("event_date", sort=True)}  # noqa: C416 (a GroupBy has .keys)
    write_csv(entities_landing(merchants), landing_path(out, "entities", spec.start, "entities.csv"))

    broken_share = spec.bad_rate / (1.0 - spec.bad_rate)  # broken / (good + broken) == bad_rate
    bad_inputs = dict.fromkeys(BAD_KINDS, 0)
    rows_written = 0
    noise = merchants.volatility * day_rng.standard_normal(spec.entities)
    yesterday = None
    for t in range(spec.days):
        day = spec.start + dt.timedelta(days=t)
        rates = daily_rates(merchants, t, day, noise, shocks, day_rng)
        day_file, yesterday, counts = transactions_of_day(merchants, rates, day, broken_share, yesterday, day_rng)
        write_csv(day_file, landing_path(out, "transactions", day, "transactions.csv"))
        if day in events_by_day:
            write_csv(events_by_day[day], landing_path(out, "outcomes", day, "loan_events.csv"))
        rows_written += len(day_file)
        for kind, count in counts.items():
            bad_inputs[kind] += count
        noise = next_noise(noise, merchants, day_rng)
        if progress is not None:
            progress(t, spec.days)

    truth = out / "truth"
    truth.mkdir(parents=True, exist_ok=True)
    pq.write_table(entities_truth(merchants), truth / "entities.parquet")
    pq.write_table(loans_truth(loans), truth / "loans.parquet")
    (truth / "bad_inputs.json").write_text(json.dumps(bad_inputs, indent=2) + "\n", encoding="utf-8")
    return {
        "entities": spec.entities,
        "days": spec.days,
        "transactions": rows_written,
        "loans": len(loans),
        "bad_inputs": bad_inputs,
        "end": end.isoformat(),
    }

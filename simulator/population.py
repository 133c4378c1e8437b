"""Who lives in the simulated world: small businesses of five segments and the brands at the top of supply chains.

Every entity has a latent credit quality q ~ N(0, 1) and a size (about 0.5 to 20, lognormal around 2.8). Together
with its segment they set its true probability of default, and they drive everything that can be observed of it:
payments, trade, fields, documents. Brands are the core firms of the supply chains: registered, never borrowers.

How plainly the observables show q, and what stands between a borrower and a loan, are the world's `Realism`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

BORROWER_SEGMENTS = ("online_merchant", "offline_merchant", "store", "distributor", "farmer")
SEGMENT_SHARES = np.array([0.30, 0.28, 0.14, 0.06, 0.22])  # of the borrowers, in BORROWER_SEGMENTS order
SEGMENT_PD_OFFSET = {
    "online_merchant": 0.0,
    "offline_merchant": -0.1,
    "store": -0.2,
    "distributor": -0.3,
    "farmer": 0.2,  # weather and prices hit a harvest harder than a shop
}
BRANDS_PER_ENTITY = 0.004  # one brand per 250 entities, at least one
PD_INTERCEPT = -3.9  # with the slopes below the mean true PD of borrowers is about 3.5 %
PD_QUALITY_SLOPE = 1.1
PD_SIZE_SLOPE = 0.15
PD_IDIOSYNCRATIC_SD = 0.3  # what no data can tell: keeps the best possible AUC well below 1


@dataclass(frozen=True)
class Realism:
    """How hard the world is to read. `PLAIN` is the world the product was first built on: every habit follows the
    latent quality itself, defaults do not move with the economy, every applicant gets a loan and every merchant's
    payments are seen. `V2` is closer to what a lender meets."""

    habit_signal: float = 1.0  # correlation with q of the driver of each observable habit (each drawn apart)
    cycle_amplitude: float = 0.0  # the credit cycle moves the odds of default by up to this share around its mean
    cycle_years: float = 3.0  # length of one credit cycle; its phase is drawn per seed
    declined_share: float = 0.0  # applications the lender's own earlier score turns down, each month
    lender_signal: float = 0.5  # correlation with q of that earlier score
    hidden_flow_share: float = 0.0  # merchants whose payments never reach the lender, more of them among the worse


PLAIN = Realism()
V2 = Realism(habit_signal=0.55, cycle_amplitude=0.4, declined_share=0.3, hidden_flow_share=0.15)
REALISMS = {"plain": PLAIN, "v2": V2}


def habit_driver(q: np.ndarray, signal: float, rng: np.random.Generator) -> np.ndarray:
    """A standard normal correlated `signal` with q: what drives one observable habit. At signal 1 it is q itself
    and draws nothing, so a plain world stays byte-identical."""
    if signal >= 1.0:
        return q
    return signal * q + np.sqrt(1.0 - signal**2) * rng.standard_normal(q.size)


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
SURNAMES = ("Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Zhao", "Huang", "Zhou", "Wu", "Xu", "Sun", "Ma", "Zhu")
GIVEN_NAMES = ("Wei", "Fang", "Na", "Min", "Jing", "Lei", "Qiang", "Yan", "Jun", "Hui", "Tao", "Ping", "Xia", "Gang")
REGION_CODES = ("310101", "110105", "440305", "440106", "330106", "510104", "420102", "320102", "500103", "320505")
ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])


@dataclass(frozen=True)
class Population:
    """One array element per entity; the entity's index is its position."""

    entity_id: np.ndarray
    segment: np.ndarray
    quality: np.ndarray
    size: np.ndarray
    true_pd: np.ndarray
    registered: np.ndarray
    city: np.ndarray
    owner_name: np.ndarray  # personal data: only bronze may hold it as it is
    owner_id_number: np.ndarray
    owner_phone: np.ndarray

    def of(self, *segments: str) -> np.ndarray:
        """Indices of the entities in `segments`."""
        return np.flatnonzero(np.isin(self.segment, segments))


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


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


def draw_segments(n: int, rng: np.random.Generator) -> np.ndarray:
    """The brands first (ids E000001..), then borrowers of each segment in their shares, shuffled."""
    brands = max(1, round(BRANDS_PER_ENTITY * n)) if n >= 2 else 0
    borrowers = rng.choice(np.array(BORROWER_SEGMENTS, dtype=object), size=n - brands, p=SEGMENT_SHARES)
    return np.concatenate([np.full(brands, "brand", dtype=object), borrowers])


def draw_population(n: int, start: dt.date, rng: np.random.Generator, owner_rng: np.random.Generator) -> Population:
    owner_name, owner_id_number, owner_phone = draw_owners(n, owner_rng)
    segment = draw_segments(n, rng)
    q = rng.normal(size=n)
    brand = segment == "brand"
    size = np.where(brand, 200.0, np.clip(rng.lognormal(np.log(2.8), 0.7, n), 0.5, 20.0))
    size_z = (np.log(size) - np.log(2.8)) / 0.7
    offset = np.array([SEGMENT_PD_OFFSET.get(s, -3.0) for s in segment])
    logit = (
        PD_INTERCEPT
        + offset
        - PD_QUALITY_SLOPE * q
        - PD_SIZE_SLOPE * np.where(brand, 0.0, size_z)
        + rng.normal(0, PD_IDIOSYNCRATIC_SD, n)
    )
    return Population(
        entity_id=np.array([f"E{i + 1:06d}" for i in range(n)], dtype=object),
        segment=segment,
        quality=q,
        size=size,
        true_pd=sigmoid(logit),
        registered=np.array([start - dt.timedelta(days=int(d)) for d in rng.integers(60, 3000, n)], dtype=object),
        city=np.array(CITIES, dtype=object)[rng.integers(0, len(CITIES), n)],
        owner_name=owner_name,
        owner_id_number=owner_id_number,
        owner_phone=owner_phone,
    )


def entities_landing(p: Population) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "entity_id": p.entity_id,
            "segment": p.segment,
            "registered_date": [d.isoformat() for d in p.registered],
            "city": p.city,
            "country": "CN",
            "owner_name": p.owner_name,
            "owner_id_scheme": "CN-RIC",  # the 18-character resident ID numbers it draws
            "owner_id_number": p.owner_id_number,
            "owner_phone": p.owner_phone,
        }
    )


def entities_truth(p: Population, monthly_revenue: np.ndarray, payments_seen: np.ndarray) -> pa.Table:
    schema = pa.schema(
        [
            ("entity_id", pa.string()),
            ("segment", pa.string()),
            ("true_pd", pa.float64()),
            ("quality", pa.float64()),
            ("size", pa.float64()),
            ("monthly_revenue", pa.float64()),
            ("payments_seen", pa.bool_()),  # a merchant whose payments reach the lender (False for the others too)
            ("registered_date", pa.date32()),
            ("city", pa.string()),
            ("owner_name", pa.string()),
            ("owner_id_number", pa.string()),
            ("owner_phone", pa.string()),
        ]
    )
    return pa.table(
        {
            "entity_id": p.entity_id,
            "segment": p.segment,
            "true_pd": p.true_pd,
            "quality": p.quality,
            "size": p.size,
            "monthly_revenue": monthly_revenue,
            "payments_seen": payments_seen,
            "registered_date": p.registered,
            "city": p.city,
            "owner_name": p.owner_name,
            "owner_id_number": p.owner_id_number,
            "owner_phone": p.owner_phone,
        },
        schema=schema,
    )

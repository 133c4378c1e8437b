"""The loan book: historical loans of the borrowers, with repayment histories whose defaults come from the true PD
(moved by the credit cycle, where the world has one), granted by the lender's own earlier score where it has one.

A bad loan slides through 30 and 60 days past due to 90 (the default); some good loans fall 30 days behind once and
catch up again (worse borrowers more often). Events are delivered on the day they happen.
"""

from __future__ import annotations

import datetime as dt
from statistics import NormalDist

import numpy as np
import pandas as pd
import pyarrow as pa

from simulator.population import BORROWER_SEGMENTS, PLAIN, Population, Realism, habit_driver, sigmoid

EVENT_COLUMNS = ["loan_id", "entity_id", "event_date", "event_type", "amount"]
EVENT_TYPES = ("disbursed", "dpd30", "dpd60", "dpd90", "cured", "closed")
LOAN_TAKE_UP = 0.35
LOAN_MIN_AGE_DAYS = 60  # no loans in the first 60 days: the lender needs some history first
LOAN_TERM_DAYS = 365
APPLICATION_COLUMNS = [
    "entity_id",
    "disbursed_date",
    "amount",
    "bad",
    "bad_date",
    "late_date",
    "pd_at_disbursement",
    "lender_score",
    "granted",
]


def month_ends(first: dt.date, last: dt.date) -> list[dt.date]:
    return [d.date() for d in pd.date_range(first, last, freq="ME")]


def cycle_factors(days: np.ndarray, realism: Realism, rng: np.random.Generator) -> np.ndarray:
    """The credit cycle: a multiplier of the odds of default, 1 +- `cycle_amplitude` over `cycle_years`, at a phase
    drawn per seed. Nothing observable follows it. Exactly 1 (and nothing drawn) in a world without a cycle."""
    if realism.cycle_amplitude <= 0.0:
        return np.ones(days.size)
    phase = rng.uniform(0.0, 2 * np.pi)
    return 1.0 + realism.cycle_amplitude * np.sin(2 * np.pi * days / (365.25 * realism.cycle_years) + phase)


def at_cycle(pd_: np.ndarray, factor: float) -> np.ndarray:
    """The PD whose odds are `factor` times those of `pd_`."""
    if factor == 1.0:
        return pd_
    odds = pd_ / (1.0 - pd_) * factor
    return odds / (1.0 + odds)


def lender_scores(p: Population, realism: Realism, rng: np.random.Generator) -> np.ndarray | None:
    """The lender's own earlier score of each business (higher is better), None when it declines nobody."""
    if realism.declined_share <= 0.0:
        return None
    return habit_driver(p.quality, realism.lender_signal, rng)


def draw_applications(
    p: Population,
    monthly_revenue: np.ndarray,
    start: dt.date,
    end: dt.date,
    rng: np.random.Generator,
    realism: Realism = PLAIN,
) -> pd.DataFrame:
    """At each month end from day 60 on, each borrower applies with probability 0.35. The lender grants those its
    earlier score does not put in the lowest `declined_share`; every application's outcome is drawn, bad with its
    true PD moved by the credit cycle (a declined one's outcome is what would have happened).

    A bad loan reaches 90 days past due between 90 days and the end of the term; a good one may fall 30 days behind
    once (`late_date`) and cure 5 to 25 days later."""
    eligible = p.of(*BORROWER_SEGMENTS)
    months = month_ends(start + dt.timedelta(days=LOAN_MIN_AGE_DAYS), end)
    cycle = cycle_factors(np.array([(m - start).days for m in months], dtype=float), realism, rng)
    score = lender_scores(p, realism, rng)
    cutoff = NormalDist().inv_cdf(realism.declined_share) if score is not None else -np.inf
    frames = []
    for disbursed, factor in zip(months, cycle):
        borrower = eligible[rng.random(eligible.size) < LOAN_TAKE_UP]
        k = borrower.size
        amount = np.maximum(np.round(monthly_revenue[borrower] * rng.uniform(0.3, 1.0, k), -2), 1000.0)
        pd_now = at_cycle(p.true_pd[borrower], float(factor))
        bad = rng.random(k) < pd_now
        days_to_bad = rng.integers(90, LOAN_TERM_DAYS + 1, k)
        late = ~bad & (rng.random(k) < sigmoid(-2.6 - 0.8 * p.quality[borrower]))
        days_to_late = rng.integers(30, LOAN_TERM_DAYS - 30, k)
        frames.append(
            pd.DataFrame(
                {
                    "entity_id": p.entity_id[borrower],
                    "disbursed_date": disbursed,
                    "amount": amount,
                    "bad": bad,
                    "bad_date": [
                        disbursed + dt.timedelta(days=int(d)) if b else None for d, b in zip(days_to_bad, bad)
                    ],
                    "late_date": [
                        disbursed + dt.timedelta(days=int(d)) if x else None for d, x in zip(days_to_late, late)
                    ],
                    "pd_at_disbursement": pd_now,
                    "lender_score": np.nan if score is None else score[borrower],
                    "granted": True if score is None else score[borrower] >= cutoff,
                }
            )
        )
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=APPLICATION_COLUMNS)


def granted_loans(applications: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """The loan book: the granted applications, numbered, each with the days a late payer takes to cure."""
    loans = applications[applications["granted"].astype(bool)].reset_index(drop=True)
    loans.insert(0, "loan_id", [f"L{i + 1:07d}" for i in range(len(loans))])
    loans["cure_days"] = rng.integers(5, 26, len(loans))
    return loans


def applications_truth(applications: pd.DataFrame) -> pa.Table:
    schema = pa.schema(
        [
            ("entity_id", pa.string()),
            ("disbursed_date", pa.date32()),
            ("amount", pa.float64()),
            ("bad", pa.bool_()),
            ("pd_at_disbursement", pa.float64()),
            ("lender_score", pa.float64()),
            ("granted", pa.bool_()),
        ]
    )
    return pa.Table.from_pandas(applications[schema.names], schema=schema, preserve_index=False)


def loans_truth(loans: pd.DataFrame) -> pa.Table:
    schema = pa.schema(
        [
            ("loan_id", pa.string()),
            ("entity_id", pa.string()),
            ("disbursed_date", pa.date32()),
            ("amount", pa.float64()),
            ("bad", pa.bool_()),
            ("bad_date", pa.date32()),
            ("late_date", pa.date32()),
            ("pd_at_disbursement", pa.float64()),
        ]
    )
    return pa.Table.from_pandas(loans[schema.names], schema=schema, preserve_index=False)


def loan_events(loans: pd.DataFrame, end: dt.date) -> pd.DataFrame:
    """The repayment history known by `end`: disbursed; dpd30, dpd60, dpd90 (bad loans); dpd30 then cured (good
    loans that fell behind once); closed (good loans, at the end of the term)."""
    term = dt.timedelta(days=LOAN_TERM_DAYS)
    is_bad = loans["bad"].astype(bool)
    good, bad = loans[~is_bad], loans[is_bad]
    late = good[good["late_date"].notna()]
    events = pd.concat(
        [
            loans.assign(event_date=loans["disbursed_date"], event_type="disbursed"),
            bad.assign(event_date=bad["bad_date"] - dt.timedelta(days=60), event_type="dpd30"),
            bad.assign(event_date=bad["bad_date"] - dt.timedelta(days=30), event_type="dpd60"),
            bad.assign(event_date=bad["bad_date"], event_type="dpd90"),
            late.assign(event_date=late["late_date"], event_type="dpd30"),
            late.assign(
                event_date=[d + dt.timedelta(days=int(c)) for d, c in zip(late["late_date"], late["cure_days"])],
                event_type="cured",
            ),
            good.assign(event_date=good["disbursed_date"] + term, event_type="closed"),
        ],
        ignore_index=True,
    )
    events = events[events["event_date"] <= end]
    order = events["event_type"].map({t: i for i, t in enumerate(EVENT_TYPES)})
    return events.assign(_order=order).sort_values(["event_date", "loan_id", "_order"], kind="stable")[EVENT_COLUMNS]

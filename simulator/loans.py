"""The loan book: historical loans of the borrowers, with repayment histories whose defaults come from the true PD.

A bad loan slides through 30 and 60 days past due to 90 (the default); some good loans fall 30 days behind once and
catch up again (worse borrowers more often). Events are delivered on the day they happen.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pyarrow as pa

from simulator.population import BORROWER_SEGMENTS, Population, sigmoid

EVENT_COLUMNS = ["loan_id", "entity_id", "event_date", "event_type", "amount"]
EVENT_TYPES = ("disbursed", "dpd30", "dpd60", "dpd90", "cured", "closed")
LOAN_TAKE_UP = 0.35
LOAN_MIN_AGE_DAYS = 60  # no loans in the first 60 days: the lender needs some history first
LOAN_TERM_DAYS = 365
LOAN_COLUMNS = ["entity_id", "disbursed_date", "amount", "bad", "bad_date", "late_date"]


def month_ends(first: dt.date, last: dt.date) -> list[dt.date]:
    return [d.date() for d in pd.date_range(first, last, freq="ME")]


def draw_loans(
    p: Population, monthly_revenue: np.ndarray, start: dt.date, end: dt.date, rng: np.random.Generator
) -> pd.DataFrame:
    """At each month end from day 60 on, each borrower takes a loan with probability 0.35; bad with its true PD.

    A bad loan reaches 90 days past due between 90 days and the end of the term; a good one may fall 30 days behind
    once (`late_date`) and cure 5 to 25 days later."""
    eligible = p.of(*BORROWER_SEGMENTS)
    frames = []
    for disbursed in month_ends(start + dt.timedelta(days=LOAN_MIN_AGE_DAYS), end):
        borrower = eligible[rng.random(eligible.size) < LOAN_TAKE_UP]
        k = borrower.size
        amount = np.maximum(np.round(monthly_revenue[borrower] * rng.uniform(0.3, 1.0, k), -2), 1000.0)
        bad = rng.random(k) < p.true_pd[borrower]
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
                }
            )
        )
    loans = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=LOAN_COLUMNS)
    loans.insert(0, "loan_id", [f"L{i + 1:07d}" for i in range(len(loans))])
    loans["cure_days"] = rng.integers(5, 26, len(loans))
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
            ("late_date", pa.date32()),
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

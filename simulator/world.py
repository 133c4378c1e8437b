"""A simulated world with known truth: its landing files, in the formats real providers deliver, and apart its truth.

The population (`population`) sets every entity's latent quality, size and true PD; each source then shows what can
be observed of it: payments (`payments`), trade along supply chains (`trade`), farmers' parcels and the satellite
scenes over them (`farms`), the documents owners hand over (`vouchers`), and the loan book (`loans`).

Every draw comes from generators spawned off `numpy.random.default_rng(seed)`, so a seed gives byte-identical
landing files. Days stream: only today's rows (and the few waiting for a later delivery) are ever held in memory.
"""

from __future__ import annotations

import datetime as dt
import json
import pathlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from jobs.landing_writers import landing_path
from simulator import farms, loans, payments, population, trade, vouchers

SOURCES = ("entities", "transactions", "trade", "parcels", "tiles", "vouchers", "outcomes")
# whole-file faults of the transactions feed, each on about `bad_rate` of the days
FILE_FAULTS = ("late_file", "truncated_file", "added_column", "missing_column")
DRIFT_ROWS = 20  # rows re-delivered in a file whose header drifted
PAYMENT_HABITS = ("refund_rate", "chargeback_rate", "idle_rate", "growth", "volatility", "loyalty", "night_share")
DISTRIBUTOR_HABITS = ("order_sigma", "growth", "pay_delay", "split_share")
REVENUE_PER_SIZE = {"farmer": 3500.0, "brand": 50_000.0}  # CNY a month per unit of size, where no flow sets it


@dataclass(frozen=True)
class WorldSpec:
    entities: int
    days: int
    start: dt.date
    seed: int
    bad_rate: float = 0.0  # share of rows and files deliberately broken
    realism: population.Realism = population.PLAIN


def validate(spec: WorldSpec) -> None:
    if spec.entities < 1:
        raise ValueError(f"entities must be at least 1, got {spec.entities}")
    if spec.days < 1:
        raise ValueError(f"days must be at least 1, got {spec.days}")
    if not 0.0 <= spec.bad_rate < 1.0:
        raise ValueError(f"bad_rate must be in [0, 1), got {spec.bad_rate}")


def csv_text(frame: pd.DataFrame, malformed: np.ndarray | None = None) -> str:
    """The frame as CSV text; rows flagged `malformed` lose their last field (one delimiter short)."""
    lines = frame.to_csv(index=False, float_format="%.2f", lineterminator="\n").split("\n")
    if malformed is not None:
        for i in np.flatnonzero(malformed):
            lines[i + 1] = lines[i + 1].rsplit(",", 1)[0]
    return "\n".join(lines)


def write_text(text: str, path: pathlib.Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode("utf-8"))


def write_csv(frame: pd.DataFrame, path: pathlib.Path) -> None:
    write_text(csv_text(frame), path)


def monthly_revenue(p: population.Population, m: payments.Merchants, c: trade.Chains) -> np.ndarray:
    """Each entity's true expected monthly sales: from its payment or trade flow, else from its size."""
    revenue = p.size * np.array([REVENUE_PER_SIZE.get(s, 0.0) for s in p.segment])
    revenue[m.index] = payments.monthly_sales(m)
    revenue[c.distributor] = trade.distributor_revenue(c)
    return revenue


class SalesBook:
    """What each business sold per calendar month as the world drew it: its successful payments and the sales orders
    it received (a broken copy of a trade row, numbered Z..., left out)."""

    def __init__(self) -> None:
        self.month: dt.date | None = None
        self.days: list[pd.DataFrame] = []
        self.months: list[pd.DataFrame] = []

    def add(self, day: dt.date, paid: pd.DataFrame, trade_rows: pd.DataFrame) -> None:
        if day.replace(day=1) != self.month:
            self.close_month()
            self.month = day.replace(day=1)
        orders = trade_rows[
            (trade_rows["record_type"] == "order") & ~trade_rows["record_id"].astype(str).str.startswith("Z")
        ]
        orders = orders.drop_duplicates("record_id").rename(columns={"payee_id": "entity_id"})
        success = paid.loc[paid["status"] == "success", ["entity_id", "amount"]]
        self.days.append(pd.concat([success, orders[["entity_id", "amount"]]], ignore_index=True))

    def close_month(self) -> None:
        if self.days:
            month = pd.concat(self.days).groupby("entity_id", as_index=False)["amount"].sum()
            self.months.append(month.rename(columns={"amount": "sales"}).assign(month=self.month))
        self.days = []

    def table(self) -> pd.DataFrame:
        """(entity_id, month, sales) of every month seen through."""
        self.close_month()
        return pd.concat(self.months, ignore_index=True) if self.months else None


def habits_truth(p: population.Population, m: payments.Merchants, c: trade.Chains, parcels: pa.Table) -> pa.Table:
    """Every observable habit the world drew, one row per entity and habit (`family`, `habit`, `value`): the most any
    feature estimating that habit could tell (`simulator.realism` ranks loans by each)."""
    farm = parcels.select(["entity_id", "vigour", "over_declared"]).to_pandas()
    farm = farm.assign(over_declared=farm["over_declared"].astype(float)).groupby("entity_id").mean()
    frames = [
        ("payments", m.entity_id[m.seen], {k: getattr(m, k)[m.seen] for k in PAYMENT_HABITS}),
        ("trade", p.entity_id[c.distributor], {k: getattr(c, k) for k in DISTRIBUTOR_HABITS}),
        ("trade", p.entity_id[c.store], {"main_supplier_share": c.main_supplier_share}),
        ("farm", farm.index.to_numpy(object), {k: farm[k].to_numpy() for k in farm.columns}),
    ]
    long = pd.concat(
        [
            pd.DataFrame({"entity_id": ids, "family": family, "habit": habit, "value": values})
            for family, ids, habits in frames
            for habit, values in habits.items()
        ],
        ignore_index=True,
    )
    schema = pa.schema(
        [("entity_id", pa.string()), ("family", pa.string()), ("habit", pa.string()), ("value", pa.float64())]
    )
    return pa.Table.from_pandas(long, schema=schema, preserve_index=False)


def feed_text(rows: pd.DataFrame) -> str:
    return csv_text(rows[payments.TXN_COLUMNS], (rows["bad_kind"] == "malformed_row").to_numpy())


class TransactionFeed:
    """Writes each day's transactions as the processor delivers them, with the feed's whole-file faults: part of a
    day held back and delivered days later, a file cut short inside its last line, a re-delivery whose header gained
    or lost a column."""

    def __init__(self, out: pathlib.Path, spec: WorldSpec, rng: np.random.Generator) -> None:
        self.out, self.spec, self.rng = out, spec, rng
        self.late: dict[int, list[tuple[str, pd.DataFrame]]] = {}
        self.faults: Counter = Counter()
        self.rows = 0

    def write(self, t: int, day: dt.date, rows: pd.DataFrame, good: pd.DataFrame) -> str | None:
        """Deliver the day's rows; returns the txn_id of the row a truncation cut, if one did."""
        rng, rate = self.rng, self.spec.bad_rate
        hold = rng.integers(1, 6)
        if rng.random() < rate and t + hold < self.spec.days and len(rows) > 1:  # a terminal's batch comes late
            held = rng.random(len(rows)) < 0.1
            self.late.setdefault(t + int(hold), []).append((f"transactions-late-{day:%Y%m%d}.csv", rows[held]))
            rows = rows[~held]
            self.faults["late_file"] += 1
        text, cut_row = feed_text(rows), None
        if rng.random() < rate and len(rows) > 0:  # cut inside the last line, after its txn_id: it cannot parse
            body = text.rstrip("\n")
            last = body.rsplit("\n", 1)[1]
            text = body[: len(body) - len(last) + int(rng.integers(last.index(",") + 1, len(last) - 1))]
            self.faults["truncated_file"] += 1
            cut_row = rows.iloc[-1]
            if cut_row["bad_kind"]:  # the cut row counts as truncated, not as what it was
                self.faults[cut_row["bad_kind"]] -= 1
        self.put(day, "transactions.csv", text)
        for name, late_rows in self.late.pop(t, []):
            self.put(day, name, feed_text(late_rows))
        for fault in ("added_column", "missing_column"):
            if rng.random() < rate and len(good) > 0:
                again = good.iloc[rng.integers(0, len(good), DRIFT_ROWS)]
                added = fault == "added_column"
                drifted = again.assign(terminal_id="POS-01") if added else again.drop(columns="channel")
                self.put(day, f"transactions-{fault.replace('_', '-')}.csv", csv_text(drifted))
                self.faults[fault] += 1
        return None if cut_row is None else cut_row["txn_id"]

    def put(self, day: dt.date, name: str, text: str) -> None:
        write_text(text, landing_path(self.out, "transactions", day, name))
        self.rows += max(text.count("\n") + (not text.endswith("\n")) - 1, 0)


def simulate(spec: WorldSpec, out: pathlib.Path, progress: Callable[[int, int], None] | None = None) -> dict:
    """Write the landing files and the truth of a simulated world under `out`; return a summary.

    `progress(day_index, days)` is called after each simulated day is written, day_index running 0 .. days - 1.
    """
    validate(spec)
    out = pathlib.Path(out)
    end = spec.start + dt.timedelta(days=spec.days - 1)
    rngs = np.random.default_rng(spec.seed).spawn(8)
    world_rng, loan_rng, day_rng, owner_rng, trade_rng, farm_rng, voucher_rng, fault_rng = rngs

    people = population.draw_population(spec.entities, spec.start, world_rng, owner_rng)
    merchants = payments.draw_merchants(people, world_rng, spec.realism)
    shocks = payments.draw_shocks(merchants, spec.days, world_rng)
    chains = trade.draw_chains(people, trade_rng, spec.realism)
    revenue = monthly_revenue(people, merchants, chains)
    applications = loans.draw_applications(people, revenue, spec.start, end, loan_rng, spec.realism)
    book = loans.granted_loans(applications, loan_rng)
    events_by_day = dict(iter(loans.loan_events(book, end).groupby("event_date", sort=True)))
    write_csv(population.entities_landing(people), landing_path(out, "entities", spec.start, "entities.csv"))

    broken_share = spec.bad_rate / (1.0 - spec.bad_rate)  # broken / (good + broken) == bad_rate
    bad_inputs: Counter = Counter()
    feed = TransactionFeed(out, spec, fault_rng)
    trade_days = trade.TradeDays(people, chains, spec.start)
    trade_rows = 0
    sold = SalesBook()
    noise = merchants.volatility * day_rng.standard_normal(merchants.size.size)
    yesterday = None
    for t in range(spec.days):
        day = spec.start + dt.timedelta(days=t)
        rates = payments.daily_rates(merchants, t, day, noise, shocks, day_rng)
        rows, yesterday, counts = payments.transactions_of_day(merchants, rates, day, broken_share, yesterday, day_rng)
        cut = feed.write(t, day, rows, yesterday)
        yesterday = yesterday[yesterday["txn_id"] != cut]  # a row lost to truncation is never re-sent
        bad_inputs.update({f"transactions.{k}": v for k, v in counts.items()})
        trade_file, trade_counts = trade_days.day(t, day, broken_share, trade_rng)
        sold.add(day, yesterday, trade_file)
        write_csv(trade_file, landing_path(out, "trade", day, "trade.csv"))
        trade_rows += len(trade_file)
        bad_inputs.update({f"trade.{k}": v for k, v in trade_counts.items()})
        if day in events_by_day:
            write_csv(events_by_day[day], landing_path(out, "outcomes", day, "loan_events.csv"))
        noise = payments.next_noise(noise, merchants, day_rng)
        if progress is not None:
            progress(t, spec.days)
    bad_inputs.update({f"transactions.{k}": v for k, v in feed.faults.items()})  # may take back a truncated row

    farmers = people.of("farmer")
    parcels_truth, farm_faults = farms.write_farms(
        pd.DataFrame(
            {
                "entity_id": people.entity_id[farmers],
                "quality": people.quality[farmers],
                "size": people.size[farmers],
                "registered_date": people.registered[farmers],
            }
        ),
        spec.start,
        spec.days,
        spec.bad_rate,
        farm_rng,
        out,
        spec.realism.habit_signal,
    )
    bad_inputs.update(farm_faults)
    vouchers_truth, voucher_faults = vouchers.write_vouchers(
        pd.DataFrame(
            {
                "entity_id": people.entity_id,
                "segment": people.segment,
                "quality": people.quality,
                "size": people.size,
                "monthly_revenue": revenue,
                "registered_date": people.registered,
                "owner_name": people.owner_name,
                "city": people.city,
            }
        ),
        spec.start,
        spec.days,
        spec.bad_rate,
        voucher_rng,
        out,
        sold.table(),
    )
    bad_inputs.update({f"vouchers.{k}": v for k, v in voucher_faults.items()})

    truth = out / "truth"
    truth.mkdir(parents=True, exist_ok=True)
    seen = np.zeros(len(people.entity_id), dtype=bool)
    seen[merchants.index] = merchants.seen
    pq.write_table(population.entities_truth(people, revenue, seen), truth / "entities.parquet")
    pq.write_table(habits_truth(people, merchants, chains, parcels_truth), truth / "habits.parquet")
    pq.write_table(loans.loans_truth(book), truth / "loans.parquet")
    pq.write_table(loans.applications_truth(applications), truth / "applications.parquet")
    pq.write_table(parcels_truth, truth / "parcels.parquet")
    pq.write_table(vouchers_truth, truth / "vouchers.parquet")
    recorded = {kind: int(bad_inputs.get(kind, 0)) for kind in bad_input_kinds()}
    (truth / "bad_inputs.json").write_text(json.dumps(recorded, indent=2) + "\n", encoding="utf-8")
    return {
        "entities": spec.entities,
        "segments": dict(sorted(Counter(people.segment.tolist()).items())),
        "days": spec.days,
        "transactions": feed.rows,
        "trade": trade_rows,
        "loans": len(book),
        "declined_applications": int((~applications["granted"].astype(bool)).sum()),
        "parcels": parcels_truth.num_rows,
        "vouchers": vouchers_truth.num_rows,
        "bad_inputs": recorded,
        "end": end.isoformat(),
    }


def bad_input_kinds() -> list[str]:
    """Every kind of injected bad input, `<source>.<kind>`, in a fixed order (zero counts included)."""
    return [
        *(f"transactions.{k}" for k in (*payments.BAD_KINDS, *FILE_FAULTS)),
        *(f"trade.{k}" for k in trade.BAD_KINDS),
        *farms.BAD_KINDS,
        *(f"vouchers.{k}" for k in vouchers.BAD_KINDS),
    ]

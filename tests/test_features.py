"""gold.feat_txn: rolling windows over silver.txn_daily, point in time, checked against pandas on raw payments."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from pyspark.sql import functions as F

from jobs.catalog import contract
from jobs.features.feat_txn import LOOKBACK_DAYS, WINDOWS, txn_features
from jobs.ingest.transactions import daily_aggregates
from jobs.snapshots import of_dates

AS_OF = dt.date(2026, 3, 31)
TXN_SCHEMA = (
    "entity_id string, txn_date date, arrived_date date, amount decimal(18,2), status string, payer_token string,"
    " local_hour int, channel string"
)


def day(age: int) -> dt.date:
    return AS_OF - dt.timedelta(days=age)


def payments(spark, rows):
    """rows: (entity_id, days before AS_OF, amount, status, payer, local hour, channel, days before AS_OF it arrived)"""
    full = [(e, day(a), day(arr), Decimal(amt), s, p, h, c) for e, a, amt, s, p, h, c, arr in rows]
    return spark.createDataFrame(full, TXN_SCHEMA).withColumn("txn_month", F.trunc("txn_date", "month"))


def features(spark, txns, *dates):
    snapshots = spark.createDataFrame([(d,) for d in dates or [AS_OF]], "as_of_date date")
    return txn_features(daily_aggregates(txns), snapshots)


def sale(entity, age, amount, payer="p1", hour=12, channel="qr", status="success", arrived=None):
    return (entity, age, amount, status, payer, hour, channel, age if arrived is None else arrived)


def test_windows_ratios_and_recency(spark):
    rows = [
        sale("E1", 0, "60.00", "p1", hour=23),
        sale("E1", 0, "40.00", "p2", channel="online"),
        sale("E1", 0, "9.00", "p2", status="refund"),
        sale("E1", 29, "50.00", "p1"),  # last day of the 30-day window
        sale("E1", 45, "75.00", "p3"),  # previous 30 days
        sale("E1", 89, "25.00", "p1", status="chargeback"),  # last day of the 90-day window
        sale("E1", 200, "999.00", "p4"),  # older than 90 days: only in the longer windows and the history
        sale("E1", -1, "500.00", "p5"),  # after the as-of date: never seen
    ]
    f = features(spark, payments(spark, rows)).first()
    assert (f.gmv_7d, f.gmv_30d, f.gmv_90d, f.gmv_365d) == (100.0, 150.0, 225.0, 1224.0)
    assert (f.orders_90d, f.active_days_90d, f.distinct_payers_30d, f.distinct_payers_90d) == (4, 3, 2, 3)
    assert f.avg_ticket_90d == pytest.approx(225 / 4)
    assert f.refund_rate_90d == pytest.approx(1 / 6) and f.chargeback_rate_90d == pytest.approx(1 / 6)
    assert f.repeat_payer_share_30d == pytest.approx(1 - 2 / 3)  # p1 came back: 3 payer-days, 2 payers
    assert f.night_share_90d == pytest.approx(0.25) and f.qr_share_90d == pytest.approx(0.75)
    assert f.night_share_365d == pytest.approx(1 / 5)  # the night sale among the year's 5 sales
    # the year's trend runs over the 201 days since the first sale, not over 365 days with 164 empty ones before it
    sales = pd.DataFrame({"age": [0, 0, 29, 45, 200], "amount": [60.0, 40.0, 50.0, 75.0, 999.0]})
    assert f.trend_365d == pytest.approx(relative_trend(daily_sales(sales, 201)))
    assert f.trend_365d < 0  # one large sale first, smaller ones since
    assert f.growth_30d == pytest.approx(150 / 75 - 1)
    assert f.top_payer_share_90d == pytest.approx(110 / 225)
    assert f.payer_hhi_90d == pytest.approx((110**2 + 40**2 + 75**2) / 225**2)
    assert (f.days_since_last_sale, f.history_days) == (0, 200)


def test_each_snapshot_sees_only_its_past(spark):
    rows = [sale("E1", 0, "10.00"), sale("E1", 10, "20.00")]
    earlier = day(5)
    got = {r.as_of_date: r for r in features(spark, payments(spark, rows), AS_OF, earlier).collect()}
    assert got[AS_OF].gmv_30d == 30.0 and got[earlier].gmv_30d == 20.0
    assert got[earlier].days_since_last_sale == 5
    assert got[AS_OF].trend_365d is None  # 11 days of history: too short for the year's trend


def test_a_late_file_changes_later_snapshots_never_earlier_ones(spark):
    rows = [
        sale("E1", 10, "20.00"),
        sale("E1", 8, "500.00", arrived=3),  # sold 8 days ago, delivered 3 days ago
    ]
    got = {r.as_of_date: r for r in features(spark, payments(spark, rows), day(6), day(4), day(3), AS_OF).collect()}
    assert [got[d].gmv_30d for d in (day(6), day(4), day(3), AS_OF)] == [20.0, 20.0, 520.0, 520.0]
    assert got[day(4)].days_since_last_sale == 6  # the sale of day 8 is not known yet on day 4
    assert got[day(3)].days_since_last_sale == 5


def test_silent_merchant_has_no_recency_and_no_growth(spark):
    f = features(spark, payments(spark, [sale("E2", 3, "5.00", status="refund")])).first()
    assert f.gmv_30d == 0 and f.days_since_last_sale is None and f.growth_30d is None and f.avg_ticket_90d is None
    assert f.refund_rate_90d == 1.0 and f.volatility_90d is None and f.payer_hhi_90d is None


def test_output_matches_the_contract(spark):
    out = features(spark, payments(spark, [sale("E1", 1, "1.00")]))
    assert set(contract("gold.feat_txn").column_names) <= set(out.columns)


# ---- an independent computation: pandas, straight from the payments ----


def random_payments(seed: int = 7, entities: int = 4, days: int = 500) -> pd.DataFrame:
    """A few merchants with a trend, a weekly cycle, regular and one-off payers, refunds, chargebacks, late files; the
    last one started selling 230 days before AS_OF."""
    rng = np.random.default_rng(seed)
    rows = []
    for e in range(entities):
        regulars = [f"p{e}_{i}" for i in range(rng.integers(3, 15))]
        for age in range(days if e < entities - 1 else 230):
            level = 3 + 2 * np.sin(age / 7) + (e - 1.5) * age / 200
            for _ in range(rng.poisson(max(level, 0.2))):
                one_off = None if rng.random() < 0.1 else f"x{rng.integers(1e9)}"
                payer = rng.choice(regulars) if rng.random() < 0.6 else one_off
                status = rng.choice(["success", "refund", "chargeback"], p=[0.9, 0.08, 0.02])
                late = int(rng.integers(1, 20)) if rng.random() < 0.05 else 0
                rows.append(
                    (f"E{e}", age, round(float(rng.lognormal(3, 0.7)), 2), status, payer,
                     int(rng.integers(0, 24)), rng.choice(["qr", "online"]), age - late)
                )  # fmt: skip
    return pd.DataFrame(rows, columns=["entity_id", "age", "amount", "status", "payer", "hour", "channel", "arrived"])


def daily_sales(ok: pd.DataFrame, days: int) -> pd.Series:
    """Sales of each of the `days` days up to the as-of date (index: age), 0 on days without."""
    return ok[ok.age < days].groupby("age").amount.sum().reindex(range(days), fill_value=0.0)


def relative_trend(daily: pd.Series) -> float | None:
    """Least-squares slope of daily sales over time (time runs against age), over their mean."""
    mean = daily.mean()
    return np.polyfit(-daily.index.to_numpy(), daily.to_numpy(), 1)[0] / mean if mean else None


def reference(txns: pd.DataFrame, as_of_age: int) -> pd.DataFrame:
    """The feat_txn features of every merchant as of the day `as_of_age` days before AS_OF, from raw payments."""
    seen = txns[(txns.age >= as_of_age) & (txns.arrived >= as_of_age) & (txns.age < as_of_age + LOOKBACK_DAYS)]
    seen = seen.assign(age=seen.age - as_of_age)
    out = {}
    for entity, t in seen.groupby("entity_id"):
        ok = t[t.status == "success"]
        f = {}
        for w in WINDOWS:
            tw, okw = t[t.age < w], ok[ok.age < w]
            payments, orders = len(tw), len(okw)
            gmv = okw.amount.sum()
            payer_days = okw.dropna(subset=["payer"]).groupby("age").payer.nunique().sum()
            f |= {
                f"gmv_{w}d": gmv,
                f"orders_{w}d": orders,
                f"active_days_{w}d": okw.age.nunique(),
                f"avg_ticket_{w}d": gmv / orders if orders else None,
                f"distinct_payers_{w}d": okw.payer.nunique(),
                f"repeat_payer_share_{w}d": 1 - okw.payer.nunique() / payer_days if payer_days else None,
                f"refund_rate_{w}d": (tw.status == "refund").sum() / payments if payments else None,
                f"chargeback_rate_{w}d": (tw.status == "chargeback").sum() / payments if payments else None,
            }
        daily = daily_sales(ok, 90)
        mean = daily.mean()
        history = min(ok.age.max() + 1, 365)
        prev30, prev90 = ok[ok.age.between(30, 59)].amount.sum(), ok[ok.age.between(90, 179)].amount.sum()
        year_ago = ok[ok.age >= 365].amount.sum()
        index = year_ago / (f["gmv_365d"] * 30 / 365) if f["gmv_365d"] else None
        by_payer = ok[ok.age < 90].groupby("payer").amount.sum()
        f |= {
            "growth_30d": f["gmv_30d"] / prev30 - 1 if prev30 else None,
            "growth_90d": f["gmv_90d"] / prev90 - 1 if prev90 else None,
            "volatility_90d": daily.std(ddof=0) / mean if mean else None,
            "trend_90d": relative_trend(daily),
            "trend_365d": relative_trend(daily_sales(ok, history)) if history >= 90 else None,
            "level_sa_30d": f["gmv_30d"] / index if index else None,
            "payer_hhi_90d": ((by_payer / by_payer.sum()) ** 2).sum() if len(by_payer) else None,
            "top_payer_share_90d": by_payer.max() / by_payer.sum() if len(by_payer) else None,
            "night_share_90d": ((ok.age < 90) & ((ok.hour >= 22) | (ok.hour < 6))).sum() / f["orders_90d"],
            "night_share_365d": ((ok.age < 365) & ((ok.hour >= 22) | (ok.hour < 6))).sum() / f["orders_365d"],
            "qr_share_90d": ((ok.age < 90) & (ok.channel == "qr")).sum() / f["orders_90d"],
            "days_since_last_sale": ok.age.min(),
            "history_days": ok.age.max(),
        }
        out[entity] = f
    return pd.DataFrame.from_dict(out, orient="index").astype(float)


@pytest.fixture(scope="module")
def random_world(spark):
    raw = random_payments()
    rows = [
        (r.entity_id, r.age, f"{r.amount:.2f}", r.status, r.payer, r.hour, r.channel, r.arrived)
        for r in raw.itertuples()
    ]
    return raw, daily_aggregates(payments(spark, rows)).cache()


def test_features_equal_an_independent_pandas_computation(spark, random_world):
    raw, daily = random_world
    as_of_ages = [0, 40, 170]  # the young merchant's year trend over 230 and 190 days, then null (60 days)
    snapshots = spark.createDataFrame([(day(a),) for a in as_of_ages], "as_of_date date")
    got = txn_features(daily, snapshots).toPandas()
    names = [c.name for c in contract("gold.feat_txn").features]
    for age in as_of_ages:
        expected = reference(raw, age)[names].sort_index()
        actual = got[got.as_of_date == day(age)].set_index("entity_id")[names].sort_index().astype(float)
        pd.testing.assert_frame_equal(actual, expected, rtol=1e-9, check_names=False)


@pytest.mark.integration
def test_a_backfill_equals_each_date_computed_alone(spark, random_world):
    _, daily = random_world
    dates = [day(a) for a in (0, 1, 17, 200)]
    together = txn_features(daily, spark.createDataFrame([(d,) for d in dates], "as_of_date date"))
    alone = None
    for d in dates:
        one = txn_features(daily, spark.createDataFrame([(d,)], "as_of_date date"))
        alone = one if alone is None else alone.unionByName(one)
    columns = [c for c in contract("gold.feat_txn").column_names if c != "computed_at"]
    assert together.select(columns).exceptAll(alone.select(columns)).isEmpty()
    assert alone.select(columns).exceptAll(together.select(columns)).isEmpty()
    assert together.count() == alone.count() == 4 * len(dates)


@pytest.mark.integration
def test_a_chosen_business_snapshot_equals_its_row_among_every_business(spark, random_world):
    _, daily = random_world
    every = txn_features(daily, of_dates(spark, [day(a) for a in (0, 17, 200)]))
    keys = ["entity_id", "as_of_date"]
    pairs = sorted((r.entity_id, r.as_of_date) for r in every.select(*keys).collect())[::3]  # some, on every date
    wanted = spark.createDataFrame(pairs, "entity_id string, as_of_date date")
    chosen = txn_features(daily, wanted)
    columns = [c for c in contract("gold.feat_txn").column_names if c != "computed_at"]
    theirs = every.join(wanted, keys, "left_semi").select(columns)
    assert sorted((r.entity_id, r.as_of_date) for r in chosen.select(*keys).collect()) == pairs
    assert chosen.select(columns).exceptAll(theirs).isEmpty() and theirs.exceptAll(chosen.select(columns)).isEmpty()

"""gold.feat_txn: rolling windows over silver.txn_daily, point in time."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from jobs.catalog import contract
from jobs.features.feat_txn import txn_features

AS_OF = dt.date(2026, 3, 31)


def daily(spark, rows):
    """rows: (entity_id, days before AS_OF, gmv, orders, refunds, chargebacks, payers, night_orders)"""
    now = dt.datetime(2026, 4, 1)
    full = [
        (e, AS_OF - dt.timedelta(days=age), Decimal(gmv), o, r, c, p, n, now) for e, age, gmv, o, r, c, p, n in rows
    ]
    return spark.createDataFrame(full, contract("silver.txn_daily").struct_type())


def snapshot(spark, *dates):
    return spark.createDataFrame([(d,) for d in dates], "as_of_date date")


def test_windows_ratios_and_recency(spark):
    rows = [
        ("E1", 0, "100.00", 4, 1, 0, 3, 1),  # today
        ("E1", 29, "50.00", 1, 0, 0, 1, 0),  # last day of the 30-day window
        ("E1", 45, "75.00", 3, 0, 0, 2, 0),  # previous 30 days
        ("E1", 89, "25.00", 2, 0, 1, 2, 0),  # last day of the 90-day window
        ("E1", 200, "999.00", 9, 0, 0, 9, 0),  # older than 90 days: only in history
        ("E1", -1, "500.00", 5, 0, 0, 5, 0),  # after the as-of date: never seen
    ]
    f = txn_features(daily(spark, rows), snapshot(spark, AS_OF)).first()
    assert f.gmv_30d == pytest.approx(150.0)
    assert f.gmv_90d == pytest.approx(250.0)
    assert f.orders_90d == 10 and f.active_days_90d == 4
    assert f.avg_ticket_90d == pytest.approx(25.0)
    assert f.refund_rate_90d == pytest.approx(1 / 12) and f.chargeback_rate_90d == pytest.approx(1 / 12)
    assert f.night_share_90d == pytest.approx(0.1)
    assert f.growth_30d == pytest.approx(150 / 75 - 1)
    assert (f.days_since_last_sale, f.history_days) == (0, 200)


def test_each_snapshot_sees_only_its_past(spark):
    rows = [("E1", 0, "10.00", 1, 0, 0, 1, 0), ("E1", 10, "20.00", 1, 0, 0, 1, 0)]
    earlier = AS_OF - dt.timedelta(days=5)
    got = {r.as_of_date: r for r in txn_features(daily(spark, rows), snapshot(spark, AS_OF, earlier)).collect()}
    assert got[AS_OF].gmv_30d == pytest.approx(30.0)
    assert got[earlier].gmv_30d == pytest.approx(20.0)
    assert got[earlier].days_since_last_sale == 5


def test_silent_merchant_has_no_recency_and_no_growth(spark):
    rows = [("E2", 3, "0.00", 0, 2, 0, 0, 0)]  # only refunds
    f = txn_features(daily(spark, rows), snapshot(spark, AS_OF)).first()
    assert f.gmv_30d == 0 and f.days_since_last_sale is None and f.growth_30d is None and f.avg_ticket_90d is None
    assert f.refund_rate_90d == 1.0


def test_output_matches_the_contract(spark):
    out = txn_features(daily(spark, [("E1", 1, "1.00", 1, 0, 0, 1, 0)]), snapshot(spark, AS_OF))
    assert set(contract("gold.feat_txn").column_names) <= set(out.columns)

"""gold.feature_vector: every borrower x date, each family joined point in time, with its indicator."""

from __future__ import annotations

import datetime as dt

import pytest

from jobs.catalog import contract
from jobs.features.feature_vector import feature_vectors, month_end

AS_OF = dt.date(2026, 3, 15)


def family_rows(spark, fqn, rows):
    """Rows of a family table: the given values, null in every other column (but the snapshot's bookkeeping)."""
    schema = contract(fqn).struct_type()
    now = dt.datetime(2026, 3, 16)
    return spark.createDataFrame(
        [
            tuple({"computed_at": now, "graph_window_days": 365, **row}.get(f.name) for f in schema.fields)
            for row in rows
        ],
        schema,
    )


FARM = {"parcels": 1.0, "declared_area_m2": 9.0, "measured_area_m2": 8.0, "over_declared_parcels": 0.0,
        "expected_harvest_value": 5.0, "observation_coverage": 1.0, "season_year": 2025,
        "crops_version": "c"}  # fmt: skip


@pytest.fixture(scope="module")
def vectors(spark):
    entities = spark.createDataFrame(
        [
            ("A", "online_merchant", dt.date(2025, 1, 1)),
            ("B", "distributor", dt.date(2025, 6, 1)),
            ("BR", "brand", dt.date(2024, 1, 1)),  # a counterparty, never scored
            ("LATE", "store", AS_OF + dt.timedelta(days=1)),  # registered after the snapshot
        ],
        "entity_id string, segment string, registered_date date",
    )
    families = {
        "transactions": family_rows(
            spark,
            "gold.feat_txn",
            [
                {"entity_id": "A", "as_of_date": AS_OF, "gmv_90d": 9000.0},
                {"entity_id": "A", "as_of_date": AS_OF - dt.timedelta(days=1), "gmv_90d": 1.0},  # an older one
            ],
        ),
        "trade": family_rows(
            spark,
            "gold.feat_graph",
            [
                {"entity_id": "B", "as_of_date": dt.date(2026, 2, 28), "out_volume_90d": 500.0},  # month end
                {"entity_id": "B", "as_of_date": dt.date(2026, 1, 31), "out_volume_90d": 1.0},
                {"entity_id": "A", "as_of_date": dt.date(2026, 1, 31), "out_volume_90d": 7.0},  # A's, too old
            ],
        ),
        "vouchers": family_rows(
            spark,
            "gold.feat_voucher",
            [{"entity_id": "A", "as_of_date": AS_OF + dt.timedelta(days=1), "documents": 3.0}],  # after the date
        ),
        "farm": family_rows(spark, "gold.feat_farm", [{"entity_id": "B", "as_of_date": AS_OF, **FARM}]),
    }
    snapshots = spark.createDataFrame([(AS_OF,)], "as_of_date date")
    return {r.entity_id: r for r in feature_vectors(entities, families, snapshots).collect()}


def test_every_borrower_registered_by_the_date_and_no_brand(vectors):
    assert set(vectors) == {"A", "B"}
    assert (vectors["A"].segment, vectors["B"].segment) == ("online_merchant", "distributor")


def test_each_family_is_its_latest_snapshot_at_or_before_the_date(vectors):
    a, b = vectors["A"], vectors["B"]
    assert (a.has_transactions, a.gmv_90d) == (1, 9000.0)
    assert (b.has_trade, b.out_volume_90d) == (1, 500.0)  # the February month end, not January's
    assert (b.has_farm, b.expected_harvest_value, a.has_farm) == (1, 5.0, 0)


def test_a_missing_stale_or_future_family_is_null_with_its_indicator_zero(vectors):
    a, b = vectors["A"], vectors["B"]
    assert (b.has_transactions, b.gmv_90d) == (0, None)
    assert (a.has_trade, a.out_volume_90d) == (0, None)  # January's graph is more than 31 days older
    assert (a.has_vouchers, a.documents) == (0, None)  # the documents snapshot is dated after the vector


def test_the_vector_carries_every_family_feature_of_the_contract(vectors):
    names = contract("gold.feature_vector").column_names
    assert set(names) <= set(vectors["A"].asDict())
    for fqn in ("gold.feat_txn", "gold.feat_graph", "gold.feat_voucher", "gold.feat_farm"):
        assert {c.name for c in contract(fqn).features} <= set(names)


def test_month_end():
    assert month_end(dt.date(2026, 3, 15)) == dt.date(2026, 2, 28)
    assert month_end(dt.date(2026, 3, 31)) == dt.date(2026, 3, 31)
    assert month_end(dt.date(2026, 1, 1)) == dt.date(2025, 12, 31)


def test_chosen_snapshots_are_those_businesses_alone(spark, vectors):
    entities = spark.createDataFrame(
        [("A", "online_merchant", dt.date(2025, 1, 1)), ("LATE", "store", AS_OF + dt.timedelta(days=1))],
        "entity_id string, segment string, registered_date date",
    )
    family = family_rows(spark, "gold.feat_txn", [{"entity_id": "A", "as_of_date": AS_OF, "gmv_90d": 9000.0}])
    wanted = spark.createDataFrame([("A", AS_OF), ("LATE", AS_OF)], "entity_id string, as_of_date date")
    chosen = feature_vectors(entities, {"transactions": family}, wanted).collect()
    assert [(r.entity_id, r.gmv_90d, r.has_transactions) for r in chosen] == [("A", 9000.0, 1)]  # LATE: not yet
    assert vectors["A"].gmv_90d == 9000.0


def test_chosen_snapshots_add_to_their_date_and_a_night_replaces_it(spark, settings):
    from jobs import tables
    from jobs.snapshots import of_dates, write

    day, fqn = AS_OF - dt.timedelta(days=40), "gold.feat_txn"

    def written(rows, wanted):
        return write(spark, settings, fqn, family_rows(spark, fqn, rows), wanted)

    def held():
        frame = tables.read(spark, settings, fqn).where(f"as_of_date = '{day}'")
        return sorted((r.entity_id, r.gmv_90d) for r in frame.collect())

    def pairs(*entities):
        return spark.createDataFrame([(e, day) for e in entities], "entity_id string, as_of_date date")

    assert written([{"entity_id": "A", "as_of_date": day, "gmv_90d": 1.0}], pairs("A")) == 1
    assert written([{"entity_id": "B", "as_of_date": day, "gmv_90d": 2.0}], pairs("B")) == 1
    assert held() == [("A", 1.0), ("B", 2.0)]  # B's snapshot kept A's
    assert written([{"entity_id": "B", "as_of_date": day, "gmv_90d": 3.0}], pairs("B")) == 1
    assert held() == [("A", 1.0), ("B", 3.0)]  # B's again: replaced, A's kept
    assert written([{"entity_id": "C", "as_of_date": day, "gmv_90d": 4.0}], of_dates(spark, [day])) == 1
    assert held() == [("C", 4.0)]  # every business as of that day: the date's rows are the night's

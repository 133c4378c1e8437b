"""Realism v2 of the simulated world: noisy habits, the credit cycle, the lender's own selection and payments missing
not at random, each measured from what the simulator drew. No Spark."""

from __future__ import annotations

import datetime as dt
import pathlib

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from simulator import loans, payments, population, realism
from simulator.world import WorldSpec, simulate

N = 20_000


def test_a_habit_driver_is_a_view_of_quality_with_the_stated_correlation():
    q = np.random.default_rng(1).standard_normal(N)
    rng = np.random.default_rng(2)
    assert population.habit_driver(q, 1.0, rng) is q
    assert rng.random() == np.random.default_rng(2).random(), "a plain world draws nothing for its habits"
    views = [population.habit_driver(q, 0.55, rng) for _ in range(2)]
    assert [np.corrcoef(q, v)[0, 1] for v in views] == pytest.approx([0.55, 0.55], abs=0.02)
    assert np.corrcoef(*views)[0, 1] == pytest.approx(0.55**2, abs=0.02), "each habit has its own view"
    assert np.std(views[0]) == pytest.approx(1.0, abs=0.02)


def test_the_credit_cycle_moves_the_odds_within_its_amplitude_and_plain_worlds_have_none():
    days = np.arange(0, 3 * 365, 30, dtype=float)
    rng = np.random.default_rng(3)
    assert (loans.cycle_factors(days, population.PLAIN, rng) == 1.0).all()
    factors = loans.cycle_factors(days, population.V2, rng)
    assert factors.min() >= 0.6 and factors.max() <= 1.4
    assert factors.min() < 0.65 and factors.max() > 1.35, "a whole cycle reaches both ends"
    pd_ = np.array([0.01, 0.03, 0.2])
    assert loans.at_cycle(pd_, 1.0) is pd_
    moved = loans.at_cycle(pd_, 1.4)
    assert moved / (1 - moved) == pytest.approx(1.4 * pd_ / (1 - pd_))


def borrowers(n: int, seed: int) -> population.Population:
    rngs = np.random.default_rng(seed).spawn(2)
    return population.draw_population(n, dt.date(2025, 1, 1), *rngs)


def test_the_lender_declines_the_applicants_its_earlier_score_ranks_lowest():
    people = borrowers(N, 4)
    revenue = np.full(N, 10_000.0)
    start, end = dt.date(2025, 1, 1), dt.date(2025, 12, 31)
    apps = loans.draw_applications(people, revenue, start, end, np.random.default_rng(5), population.V2)
    granted = apps["granted"].astype(bool)
    assert 1 - granted.mean() == pytest.approx(population.V2.declined_share, abs=0.02)
    assert apps.loc[granted, "lender_score"].min() > apps.loc[~granted, "lender_score"].max()
    assert apps.loc[granted, "bad"].mean() < apps["bad"].mean(), "the declined would have defaulted more"
    book = loans.granted_loans(apps, np.random.default_rng(6))
    assert len(book) == granted.sum() and book["loan_id"].is_unique
    plain = loans.draw_applications(people, revenue, start, end, np.random.default_rng(5), population.PLAIN)
    assert plain["granted"].all() and plain["lender_score"].isna().all()


def test_worse_merchants_hide_their_payments_more_often():
    q = np.random.default_rng(7).standard_normal(N)
    seen = payments.hidden_flows(q, 0.15, np.random.default_rng(8))
    assert 1 - seen.mean() == pytest.approx(0.15, abs=0.03)
    assert q[~seen].mean() < q[seen].mean() - 0.3
    assert payments.hidden_flows(q, 0.0, np.random.default_rng(8)).all()


@pytest.fixture(scope="module")
def v2_world(tmp_path_factory) -> tuple[pathlib.Path, dict]:
    out = tmp_path_factory.mktemp("v2")
    spec = WorldSpec(entities=400, days=240, start=dt.date(2025, 1, 1), seed=21, realism=population.V2)
    return out, simulate(spec, out)


def test_a_hidden_merchant_has_no_payment_in_the_landing_files(v2_world):
    out, _ = v2_world
    entities = pq.read_table(out / "truth" / "entities.parquet").to_pandas()
    merchants = entities[entities["segment"].isin(payments.MERCHANT_SEGMENTS)]
    hidden = set(merchants.loc[~merchants["payments_seen"], "entity_id"])
    assert hidden, "the world hides some merchants"
    paid = set()
    for f in (out / "landing" / "transactions").glob("dt=*/*.csv"):
        paid |= set(pd.read_csv(f, usecols=["entity_id"], dtype=str)["entity_id"].dropna())
    assert not hidden & paid
    assert set(merchants.loc[merchants["payments_seen"], "entity_id"]) <= paid


def test_the_book_holds_the_granted_applications_and_the_truth_says_what_selection_did(v2_world):
    out, summary = v2_world
    apps = pq.read_table(out / "truth" / "applications.parquet").to_pandas()
    book = pq.read_table(out / "truth" / "loans.parquet").to_pandas()
    assert summary["declined_applications"] == (~apps["granted"]).sum() > 0
    assert len(book) == apps["granted"].sum() == summary["loans"]
    figures = realism.measure(out)
    assert figures["selection"]["declined_share"] == pytest.approx((~apps["granted"]).mean())
    assert figures["hidden_flow_share"] > 0
    assert set(figures["best_habit_auc"]) == {"payments", "trade", "farm"}
    assert all(0.5 <= f["best_auc"] <= 1.0 for f in figures["best_habit_auc"].values())
    cycle = figures["credit_cycle"]["pd_by_quarter_relative"]
    assert cycle["min"] < 1.0 < cycle["max"]

"""The simulated world: landing layout, truth files, determinism and honest bad-input counts. No Spark."""

from __future__ import annotations

import datetime as dt
import json
import pathlib

import pandas as pd
import pyarrow.parquet as pq
import pytest

from jobs.simulate.world import BAD_KINDS, WorldSpec, simulate

# Starts just before Chinese New Year 2025; the month end 2025-03-31 is at least 60 days in, so loans exist.
SPEC = WorldSpec(entities=30, days=70, start=dt.date(2025, 1, 25), seed=11, bad_rate=0.05)
LAST_DAY = SPEC.start + dt.timedelta(days=SPEC.days - 1)
ISO_LOCAL = "%Y-%m-%dT%H:%M:%S%z"


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> tuple[pathlib.Path, dict, list]:
    out = tmp_path_factory.mktemp("world")
    calls: list[tuple[int, int]] = []
    summary = simulate(SPEC, out, progress=lambda day, days: calls.append((day, days)))
    return out, summary, calls


def transaction_files(out: pathlib.Path) -> list[pathlib.Path]:
    return sorted((out / "landing" / "transactions").glob("dt=*/transactions.csv"))


def read_csvs(files: list[pathlib.Path]) -> pd.DataFrame:
    """All fields as text, empty fields kept as empty strings, plus the partition date."""
    frames = [pd.read_csv(f, dtype=str, keep_default_na=False).assign(dt=f.parent.name[3:]) for f in files]
    return pd.concat(frames, ignore_index=True)


def header(path: pathlib.Path) -> str:
    return path.read_text(encoding="utf-8").splitlines()[0]


def broken_counts(tx: pd.DataFrame) -> dict[str, int]:
    """Count each kind of broken row as a reader of the files would."""
    return {
        "negative_amount": int((pd.to_numeric(tx["amount"]) < 0).sum()),
        "unknown_currency": int((tx["currency"] == "XXX").sum()),
        "bad_timestamp": int(pd.to_datetime(tx["ts"], format=ISO_LOCAL, errors="coerce").isna().sum()),
        "missing_entity_id": int((tx["entity_id"] == "").sum()),
        "duplicate_txn": int(tx["txn_id"].duplicated().sum()),
    }


def test_landing_folders_and_headers(world):
    out, _, _ = world
    entities = out / "landing" / "entities" / f"dt={SPEC.start.isoformat()}" / "entities.csv"
    assert header(entities) == "entity_id,segment,registered_date,city,owner_name,owner_id_number,owner_phone"

    files = transaction_files(out)
    expected_days = [(SPEC.start + dt.timedelta(days=i)).isoformat() for i in range(SPEC.days)]
    assert [f.parent.name for f in files] == [f"dt={d}" for d in expected_days]
    assert {header(f) for f in files} == {"txn_id,entity_id,ts,amount,currency,channel,payer_token,status"}

    outcomes = sorted((out / "landing" / "outcomes").glob("dt=*/loan_events.csv"))
    assert outcomes, "a month end 60+ days after the start lies in the period, so loans were disbursed"
    assert {header(f) for f in outcomes} == {"loan_id,entity_id,event_date,event_type,amount"}


def test_entities_file_content(world):
    out, _, _ = world
    entities = pd.read_csv(next((out / "landing" / "entities").glob("dt=*/entities.csv")), dtype=str)
    assert len(entities) == SPEC.entities and entities["entity_id"].is_unique
    assert set(entities["segment"]) <= {"online_merchant", "offline_merchant"}
    assert (pd.to_datetime(entities["registered_date"], format="%Y-%m-%d").dt.date < SPEC.start).all()


def test_good_rows_are_well_formed(world):
    out, _, _ = world
    tx = read_csvs(transaction_files(out))
    ts = pd.to_datetime(tx["ts"], format=ISO_LOCAL, errors="coerce")
    good = tx[ts.notna() & (tx["entity_id"] != "") & (tx["currency"] == "CNY") & ~tx["txn_id"].duplicated()]
    good_ts = ts[good.index]
    assert good["ts"].str.endswith("+08:00").all()
    assert (good_ts.dt.strftime("%Y-%m-%d") <= good["dt"]).all()  # today's rows or yesterday's re-sends
    assert tx["amount"].str.fullmatch(r"-?\d+\.\d{2}").all()
    assert set(good["channel"]) <= {"qr", "online"}
    assert set(good["status"]) <= {"success", "refund", "chargeback"}
    assert (good["status"] == "success").mean() > 0.9


def test_truth_files_have_their_columns(world):
    out, _, _ = world
    entities = pq.read_table(out / "truth" / "entities.parquet").to_pandas()
    assert {"entity_id", "segment", "true_pd", "quality", "size", "registered_date"} <= set(entities.columns)
    assert len(entities) == SPEC.entities and entities["true_pd"].between(0, 1).all()
    loans = pq.read_table(out / "truth" / "loans.parquet").to_pandas()
    assert {"loan_id", "entity_id", "disbursed_date", "bad", "bad_date"} <= set(loans.columns)
    assert (loans["bad"] == loans["bad_date"].notna()).all()
    bad_inputs = json.loads((out / "truth" / "bad_inputs.json").read_text(encoding="utf-8"))
    assert list(bad_inputs) == list(BAD_KINDS)


def test_summary_and_progress(world):
    out, summary, calls = world
    tx = read_csvs(transaction_files(out))
    loans = pq.read_table(out / "truth" / "loans.parquet")
    assert summary["entities"] == SPEC.entities and summary["days"] == SPEC.days
    assert summary["transactions"] == len(tx)
    assert summary["loans"] == loans.num_rows > 0
    assert summary["end"] == LAST_DAY.isoformat()
    assert calls == [(day, SPEC.days) for day in range(SPEC.days)]


def test_bad_input_counts_match_the_files(world):
    out, summary, _ = world
    tx = read_csvs(transaction_files(out))
    recorded = json.loads((out / "truth" / "bad_inputs.json").read_text(encoding="utf-8"))
    assert broken_counts(tx) == recorded == summary["bad_inputs"]
    assert all(count > 0 for count in recorded.values())
    resent = tx[tx["txn_id"].duplicated(keep=False)].drop(columns="dt")
    assert (resent.groupby("txn_id").nunique() == 1).all().all(), "a re-send is an exact copy"


def test_same_seed_same_bytes_other_seed_differs(world, tmp_path):
    out, _, _ = world
    simulate(SPEC, tmp_path / "again")
    simulate(WorldSpec(SPEC.entities, SPEC.days, SPEC.start, SPEC.seed + 1, SPEC.bad_rate), tmp_path / "other")
    first = [f.read_bytes() for f in transaction_files(out)]
    assert [f.read_bytes() for f in transaction_files(tmp_path / "again")] == first
    assert [f.read_bytes() for f in transaction_files(tmp_path / "other")] != first


def test_loan_events_know_no_future(world):
    out, _, _ = world
    events = read_csvs(sorted((out / "landing" / "outcomes").glob("dt=*/loan_events.csv")))
    assert (events["event_date"] == events["dt"]).all()
    assert (events["event_date"] <= LAST_DAY.isoformat()).all()
    assert set(events["event_type"]) <= {"disbursed", "dpd90", "closed"}
    loans = pq.read_table(out / "truth" / "loans.parquet").to_pandas()
    assert sorted(events.loc[events["event_type"] == "disbursed", "loan_id"]) == sorted(loans["loan_id"])
    known_bad = loans[loans["bad"] & (loans["bad_date"] <= LAST_DAY)]
    assert sorted(events.loc[events["event_type"] == "dpd90", "loan_id"]) == sorted(known_bad["loan_id"])


def test_zero_bad_rate_writes_no_broken_rows(tmp_path):
    spec = WorldSpec(entities=10, days=20, start=dt.date(2025, 3, 1), seed=5, bad_rate=0.0)
    summary = simulate(spec, tmp_path)
    tx = read_csvs(transaction_files(tmp_path))
    assert len(tx) == summary["transactions"] > 0
    assert broken_counts(tx) == summary["bad_inputs"] == dict.fromkeys(BAD_KINDS, 0)


@pytest.mark.parametrize("changes", [{"entities": 0}, {"days": 0}, {"bad_rate": 1.0}, {"bad_rate": -0.1}])
def test_invalid_spec_raises(tmp_path, changes):
    spec = WorldSpec(**{"entities": 5, "days": 5, "start": dt.date(2025, 1, 1), "seed": 1, **changes})
    with pytest.raises(ValueError, match=next(iter(changes))):
        simulate(spec, tmp_path)
    assert not any(tmp_path.iterdir()), "nothing is written for a bad spec"

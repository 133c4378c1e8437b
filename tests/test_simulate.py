"""The simulated world: landing layout, truth files, determinism and honest bad-input counts. No Spark."""

from __future__ import annotations

import datetime as dt
import json
import pathlib

import pandas as pd
import pyarrow.parquet as pq
import pytest

from simulator import loans, population, realism, trade
from simulator.world import SOURCES, WorldSpec, simulate

# Starts just before Chinese New Year 2025; the month end 2025-03-31 is at least 60 days in, so loans exist.
SPEC = WorldSpec(entities=30, days=70, start=dt.date(2025, 1, 25), seed=12, bad_rate=0.05)
LAST_DAY = SPEC.start + dt.timedelta(days=SPEC.days - 1)
ISO_LOCAL = "%Y-%m-%dT%H:%M:%S%z"


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> tuple[pathlib.Path, dict, list]:
    out = tmp_path_factory.mktemp("world")
    calls: list[tuple[int, int]] = []
    summary = simulate(SPEC, out, progress=lambda day, days: calls.append((day, days)))
    return out, summary, calls


TXN_HEADER = "txn_id,entity_id,ts,amount,currency,channel,payer_token,status"


def transaction_files(out: pathlib.Path) -> list[pathlib.Path]:
    """The day files and the late deliveries (files whose header drifted are counted apart)."""
    files = sorted((out / "landing" / "transactions").glob("dt=*/transactions*.csv"))
    return [f for f in files if "column" not in f.name]


def read_csvs(files: list[pathlib.Path]) -> pd.DataFrame:
    """All fields as text, empty fields kept as empty strings, plus the partition date and, per row, the number of
    fields it had and whether it is the cut last line of a truncated file."""
    frames = []
    for f in files:
        text = f.read_text(encoding="utf-8")
        rows = [line.split(",") for line in text.rstrip("\n").split("\n")[1:]]
        header = text.split("\n", 1)[0].split(",")
        frame = pd.DataFrame([r + [""] * (len(header) - len(r)) for r in rows], columns=header)
        frame["fields"] = [len(r) for r in rows]
        frame["cut"] = [not text.endswith("\n") and i == len(rows) - 1 for i in range(len(rows))]
        frames.append(frame.assign(dt=f.parent.name[3:]))
    return pd.concat(frames, ignore_index=True)


def header(path: pathlib.Path) -> str:
    return path.read_text(encoding="utf-8").splitlines()[0]


def broken_counts(tx: pd.DataFrame, registry: set[str], out: pathlib.Path) -> dict[str, int]:
    """Count each kind of broken row and file as a reader of the files would."""
    whole = tx[(tx["fields"] == 8) & ~tx["cut"]]
    files = sorted((out / "landing" / "transactions").glob("dt=*/*.csv"))
    headers = [header(f).split(",") for f in files]
    counts = {
        "negative_amount": int((pd.to_numeric(whole["amount"]) < 0).sum()),
        "absurd_amount": int((pd.to_numeric(whole["amount"]) > 10_000_000).sum()),
        "unknown_currency": int((whole["currency"] == "XXX").sum()),
        "bad_timestamp": int(pd.to_datetime(whole["ts"], format=ISO_LOCAL, errors="coerce").isna().sum()),
        "missing_entity_id": int((whole["entity_id"] == "").sum()),
        "unknown_entity": int((~whole["entity_id"].isin(registry) & (whole["entity_id"] != "")).sum()),
        "malformed_row": int(((tx["fields"] < 8) & ~tx["cut"]).sum()),
        "duplicate_txn": int(tx.loc[~tx["cut"], "txn_id"].duplicated().sum()),
        "late_file": sum("late" in f.name for f in files),
        "truncated_file": int(tx["cut"].sum()),
        "added_column": sum(len(h) > 8 for h in headers),
        "missing_column": sum(len(h) < 8 for h in headers),
    }
    return {f"transactions.{k}": v for k, v in counts.items()}


def trade_counts(out: pathlib.Path, registry: set[str]) -> dict[str, int]:
    rows = pd.concat(
        [pd.read_csv(f, dtype=str, keep_default_na=False) for f in sorted((out / "landing" / "trade").glob("*/*.csv"))]
    )
    parties = pd.concat([rows["payer_id"], rows["payee_id"]])
    counts = {
        "negative_amount": int((pd.to_numeric(rows["amount"]) < 0).sum()),
        "unknown_entity": int((~parties.isin(registry)).sum()),
        "duplicate_record": int(rows["record_id"].duplicated().sum()),
    }
    return {f"trade.{k}": v for k, v in counts.items()}


def registry_ids(out: pathlib.Path) -> set[str]:
    return set(pd.read_csv(next((out / "landing" / "entities").glob("dt=*/entities.csv")), dtype=str)["entity_id"])


def test_landing_folders_and_headers(world):
    out, _, _ = world
    entities = out / "landing" / "entities" / f"dt={SPEC.start.isoformat()}" / "entities.csv"
    assert (
        header(entities)
        == "entity_id,segment,registered_date,city,country,owner_name,owner_id_scheme,owner_id_number,owner_phone"
    )

    day_files = sorted((out / "landing" / "transactions").glob("dt=*/transactions.csv"))
    expected_days = [(SPEC.start + dt.timedelta(days=i)).isoformat() for i in range(SPEC.days)]
    assert [f.parent.name for f in day_files] == [f"dt={d}" for d in expected_days]
    assert {header(f) for f in transaction_files(out)} == {TXN_HEADER}
    trade_files = sorted((out / "landing" / "trade").glob("dt=*/trade.csv"))
    assert [f.parent.name for f in trade_files] == [f"dt={d}" for d in expected_days]
    assert {header(f) for f in trade_files} == {",".join(trade.TRADE_COLUMNS)}

    outcomes = sorted((out / "landing" / "outcomes").glob("dt=*/loan_events.csv"))
    assert outcomes, "a month end 60+ days after the start lies in the period, so loans were disbursed"
    assert {header(f) for f in outcomes} == {"loan_id,entity_id,event_date,event_type,amount"}


def test_entities_file_content(world):
    out, _, _ = world
    entities = pd.read_csv(next((out / "landing" / "entities").glob("dt=*/entities.csv")), dtype=str)
    assert len(entities) == SPEC.entities and entities["entity_id"].is_unique
    assert set(entities["segment"]) == {"brand", *population.BORROWER_SEGMENTS}
    assert (pd.to_datetime(entities["registered_date"], format="%Y-%m-%d").dt.date < SPEC.start).all()


def test_good_rows_are_well_formed(world):
    out, _, _ = world
    tx = read_csvs(transaction_files(out))
    tx = tx[(tx["fields"] == 8) & ~tx["cut"]]
    ts = pd.to_datetime(tx["ts"], format=ISO_LOCAL, errors="coerce")
    good = tx[ts.notna() & (tx["entity_id"] != "") & (tx["currency"] == "CNY") & ~tx["txn_id"].duplicated()]
    good_ts = ts[good.index]
    assert good["ts"].str.endswith("+08:00").all()
    assert (good_ts.dt.strftime("%Y-%m-%d") <= good["dt"]).all()  # today's rows, re-sends and late deliveries
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
    assert {k.split(".")[0] for k in bad_inputs} == {"transactions", "trade", "tiles", "parcels", "vouchers"}
    parcels = pq.read_table(out / "truth" / "parcels.parquet").to_pandas()
    assert {"parcel_id", "entity_id", "crop", "area_m2"} <= set(parcels.columns)
    assert set(parcels["entity_id"]) <= set(entities.loc[entities["segment"] == "farmer", "entity_id"])
    vouchers = pq.read_table(out / "truth" / "vouchers.parquet").to_pandas()
    assert {"voucher_id", "entity_id", "tampered"} <= set(vouchers.columns)


def test_summary_and_progress(world):
    out, summary, calls = world
    tx = read_csvs(transaction_files(out))
    loans = pq.read_table(out / "truth" / "loans.parquet")
    assert summary["entities"] == SPEC.entities and summary["days"] == SPEC.days
    drifted = read_csvs(sorted((out / "landing" / "transactions").glob("dt=*/*column*.csv")))
    assert summary["transactions"] == len(tx) + len(drifted)
    assert summary["loans"] == loans.num_rows > 0
    assert summary["end"] == LAST_DAY.isoformat()
    assert calls == [(day, SPEC.days) for day in range(SPEC.days)]


def test_bad_input_counts_match_the_files(world):
    out, summary, _ = world
    tx = read_csvs(transaction_files(out))
    recorded = json.loads((out / "truth" / "bad_inputs.json").read_text(encoding="utf-8"))
    assert recorded == summary["bad_inputs"]
    registry = registry_ids(out)
    read = broken_counts(tx, registry, out) | trade_counts(out, registry)
    assert read == {k: v for k, v in recorded.items() if k.split(".")[0] in ("transactions", "trade")}
    assert all(count > 0 for count in read.values()), read
    whole = tx[(tx["fields"] == 8) & ~tx["cut"]]
    resent = whole[whole["txn_id"].duplicated(keep=False)].drop(columns=["dt", "fields", "cut"])
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
    assert set(events["event_type"]) <= set(loans.EVENT_TYPES)
    book = pq.read_table(out / "truth" / "loans.parquet").to_pandas()
    assert sorted(events.loc[events["event_type"] == "disbursed", "loan_id"]) == sorted(book["loan_id"])
    known_bad = book[book["bad"] & (book["bad_date"] <= LAST_DAY)]
    assert sorted(events.loc[events["event_type"] == "dpd90", "loan_id"]) == sorted(known_bad["loan_id"])


def test_zero_bad_rate_writes_no_broken_rows(tmp_path):
    spec = WorldSpec(entities=10, days=20, start=dt.date(2025, 3, 1), seed=5, bad_rate=0.0)
    summary = simulate(spec, tmp_path)
    tx = read_csvs(transaction_files(tmp_path))
    assert len(tx) == summary["transactions"] > 0
    registry = registry_ids(tmp_path)
    read = broken_counts(tx, registry, tmp_path) | trade_counts(tmp_path, registry)
    assert set(summary["bad_inputs"].values()) == set(read.values()) == {0}


@pytest.mark.parametrize("changes", [{"entities": 0}, {"days": 0}, {"bad_rate": 1.0}, {"bad_rate": -0.1}])
def test_invalid_spec_raises(tmp_path, changes):
    spec = WorldSpec(**{"entities": 5, "days": 5, "start": dt.date(2025, 1, 1), "seed": 1, **changes})
    with pytest.raises(ValueError, match=next(iter(changes))):
        simulate(spec, tmp_path)
    assert not any(tmp_path.iterdir()), "nothing is written for a bad spec"


@pytest.mark.integration
def test_every_source_is_present_and_each_file_parses_with_its_library(tmp_path):
    """--entities 1000 --days 120: every landing source has files, and each opens with the field's own reader."""
    import pyarrow.csv as pacsv
    import rasterio
    import shapely.geometry
    from pypdf import PdfReader

    summary = simulate(WorldSpec(entities=1000, days=120, start=dt.date(2025, 3, 1), seed=8, bad_rate=0.0), tmp_path)
    landing = tmp_path / "landing"
    assert sorted(p.name for p in landing.iterdir()) == sorted(SOURCES)
    parsed = dict.fromkeys(SOURCES, 0)
    for path in sorted(landing.rglob("*.*")):
        source = path.relative_to(landing).parts[0]
        if path.suffix == ".csv":
            assert pacsv.read_csv(path).num_rows > 0 or source == "outcomes"
        elif path.suffix == ".geojson":
            features = json.loads(path.read_text(encoding="utf-8"))["features"]
            assert all(shapely.geometry.shape(f["geometry"]).is_valid for f in features)
        elif path.suffix == ".tif":
            with rasterio.open(path) as scene:
                assert scene.read().shape[0] == scene.count >= 3
        elif path.suffix == ".pdf":
            assert len(PdfReader(path).pages) >= 1
        elif path.suffix == ".json":
            json.loads(path.read_text(encoding="utf-8"))
        else:
            raise AssertionError(f"unexpected landing file {path}")
        parsed[source] += 1
    assert all(parsed.values()), parsed
    assert summary["parcels"] > 0 and summary["vouchers"] > 0 and summary["trade"] > 0

    figures = realism.measure(tmp_path)  # the README's figures come from this, on 20,000 entities (make bench)
    assert figures["loans"] > 500 and 0.005 < figures["base_default_rate"] < 0.1
    assert figures["cloud_share"] >= 0.3
    assert set(figures["closest_crops"]["pair"]) == {"spring_wheat", "barley"}
    assert 0 < figures["over_declared_parcels"] < 0.3 and 0 < figures["tampered_vouchers"] < 0.2

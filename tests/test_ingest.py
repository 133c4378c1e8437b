"""Landing -> bronze -> silver: typing, quarantine with reasons, dedup, exactly-once files, reconciliation."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import shutil
from decimal import Decimal

import pytest
from conftest import Landing
from pyspark.sql import functions as F

from jobs import cli, pipeline, tables
from jobs.errors import BatchRefused, LandingError
from jobs.features import feat_txn
from jobs.ingest.landing import discover, unloaded, unreachable
from jobs.ingest.source import latest_per_key
from jobs.ingest.transactions import daily_aggregates
from jobs.pii import token_key
from jobs.settings import load_settings
from simulator.world import WorldSpec, simulate

TXN_HEADER = "txn_id,entity_id,ts,amount,currency,channel,payer_token,status"
DAY1 = [
    "T1,E1,2026-01-01T10:00:00+08:00,10.00,CNY,qr,p1,success",
    "T2,E1,2026-01-01T23:30:00+08:00,20.00,CNY,qr,p2,success",
    "T3,E2,2026-01-01T01:30:00+08:00,5.00,CNY,online,p3,refund",
    "T4,,2026-01-01T10:00:00+08:00,1.00,CNY,qr,p1,success",
    "T5,E1,2025-13-45 25:61,1.00,CNY,qr,p1,success",
    "T6,E1,2026-01-01T11:00:00+08:00,-3.00,CNY,qr,p1,success",
    "T7,E1,2026-01-01T11:00:00+08:00,3.00,XXX,qr,p1,success",
    "T1,E1,2026-01-01T10:00:00+08:00,10.00,CNY,qr,p1,success",
    "broken,line",
]
ENTITY_HEADER = "entity_id,segment,registered_date,city,country,owner_name,owner_id_scheme,owner_id_number,owner_phone"
REGISTRY = [
    "E1,offline_merchant,2024-05-01,Hangzhou,CN,Wang Wei,CN-RIC,11010519491231002X,13800138000",
    "E2,online_merchant,2023-01-09,,,,,,",
]
DAY2 = ["T8,E2,2026-01-02T12:00:00+08:00,30.00,CNY,online,p4,success"]


def by_source(counts):
    return {c["source"]: c for c in counts}


@pytest.fixture(scope="module")
def first_load(spark, tmp_path_factory):
    """The registry and two days of payments, delivered and ingested once for the module: the ingest's counts, and
    the settings of its lakehouse and landing folder."""
    root = tmp_path_factory.mktemp("first_load")
    landing = Landing(root / "landing zone")
    landing.write("entities", "2026-01-01", ENTITY_HEADER, *REGISTRY)
    landing.write("transactions", "2026-01-01", TXN_HEADER, *DAY1)
    landing.write("transactions", "2026-01-02", TXN_HEADER, *DAY2)
    loaded = load_settings(
        {"LAKEHOUSE_ROOT": str(root / "lakehouse"), "SPARK_SHUFFLE_PARTITIONS": "2", "LANDING_DIR": str(landing.root)}
    )
    return by_source(pipeline.ingest(str(landing.root), ["entities", "transactions"], settings=loaded)), loaded


@pytest.fixture
def ingested(first_load, settings, landing):
    """The first load, copied into this test's lakehouse and landing folder (Delta tables are folders of files, their
    paths relative): as if the test had delivered and ingested it. Returns the ingest's counts."""
    counts, loaded = first_load
    shutil.copytree(loaded.lakehouse_root, settings.lakehouse_root)
    shutil.copytree(loaded.landing_dir, landing.root, dirs_exist_ok=True)
    return counts


@pytest.mark.integration
def test_batch_reconciles_and_rejects_carry_reasons(spark, settings, ingested):
    counts = ingested
    top_reasons = counts["transactions"]["top_reasons"]  # five reasons, one row each: the first three by name
    assert [(rows, example) for _, rows, example in top_reasons][0] == (
        1,
        "transactions/dt=2026-01-01/transactions.csv line 6",
    )
    assert [reason for reason, _, _ in top_reasons] == sorted(reason for reason, _, _ in top_reasons)
    assert len(top_reasons) == 3
    assert {k: v for k, v in counts["transactions"].items() if k != "top_reasons"} == {
        "source": "transactions",
        "files": 2,
        "bronze_rows": 10,
        "accepted": 4,
        "duplicates": 1,
        "quarantined": 5,
        "rejected_files": 0,
    }
    assert counts["entities"]["accepted"] == 2
    rejects = {
        r.record_id: r.reason
        for r in tables.read(spark, settings, "quarantine.transactions")
        .select(F.get_json_object("record", "$.txn_id").alias("record_id"), "reason")
        .collect()
    }
    assert rejects["T4"] == "missing entity_id"
    assert rejects["T5"] == "unparseable ts"
    assert rejects["T6"] == "expect_column_values_to_be_between(amount)"
    assert rejects["T7"].startswith("no exchange rate XXX->CNY")
    assert rejects["broken"].startswith("malformed line")
    batch = tables.read(spark, settings, "silver.ingest_batches").where("source = 'transactions'").first()
    assert batch.bronze_rows == batch.accepted + batch.duplicates + batch.quarantined


@pytest.mark.integration
def test_silver_is_typed_in_local_business_time(spark, settings, ingested, landing):
    silver = {r.txn_id: r for r in tables.read(spark, settings, "silver.transactions").collect()}
    assert sorted(silver) == ["T1", "T2", "T3", "T8"]
    t3 = silver["T3"]
    assert (t3.txn_date, t3.local_hour, t3.txn_ts) == (dt.date(2026, 1, 1), 1, dt.datetime(2025, 12, 31, 17, 30))
    assert t3.amount == Decimal("5.00") and t3.txn_month == dt.date(2026, 1, 1)
    daily = {(r.entity_id, r.txn_date): r for r in tables.read(spark, settings, "silver.txn_daily").collect()}
    e1 = daily[("E1", dt.date(2026, 1, 1))]
    assert (e1.gmv, e1.orders, e1.night_orders, e1.qr_orders, e1.refunds) == (Decimal("30.00"), 2, 1, 2, 0)
    assert e1.arrived_date == dt.date(2026, 1, 1)
    key = token_key(settings)  # payer tokens are personal data: silver has their keyed hash
    token = {p: hmac.new(key, p.encode(), hashlib.sha256).hexdigest() for p in ("p1", "p2")}
    payer_sales = sorted((p.payer_key, p.gmv) for p in e1.payer_sales)
    expected = [(payer_key(spark, token[p]), Decimal(gmv)) for p, gmv in (("p1", "10.00"), ("p2", "20.00"))]
    assert payer_sales == sorted(expected)
    assert daily[("E2", dt.date(2026, 1, 1))].refunds == 1


@pytest.mark.integration
def test_rerun_and_crash_before_the_ledger_load_nothing_twice(spark, settings, ingested, landing):
    snapshot = {
        t: tables.read(spark, settings, t).count()
        for t in ("bronze.transactions", "silver.transactions", "quarantine.transactions", "silver.txn_daily")
    }

    runs = []

    def spark_jobs(sources: list[str] | None) -> int:  # of an ingest that finds nothing new
        runs.append(sources)
        group = f"again {len(runs)}"
        spark.sparkContext.setJobGroup(group, "an ingest with nothing new")
        try:
            again = pipeline.ingest(str(landing.root), sources, settings=settings)
        finally:  # the group and its description, which would otherwise name every later query of the session
            spark.sparkContext.setLocalProperty("spark.jobGroup.id", None)
            spark.sparkContext.setJobDescription(None)
        assert [b["files"] for b in again] == [0] * len(again)
        return len(spark.sparkContext.statusTracker().getJobIdsForGroup(group))

    # every source (two have landed) costs what one does: the ledger's one read, and no Spark job per source (after
    # a first run, which also reads the ledger's log)
    spark_jobs(["transactions"])
    assert spark_jobs(None) == spark_jobs(["transactions"]) > 0
    # a run that died after writing the tables but before the ledger: the rerun replaces, never appends twice
    spark.sql(f"DELETE FROM delta.`{settings.table_path('bronze', 'file_ledger')}`")
    redo = pipeline.ingest(str(landing.root), ["transactions"], settings=settings)
    assert redo[0]["files"] == 2
    assert {t: tables.read(spark, settings, t).count() for t in snapshot} == snapshot


@pytest.mark.integration
def test_changed_file_under_an_old_name_is_a_correction(spark, settings, ingested, landing):
    landing.write("transactions", "2026-01-02", TXN_HEADER, DAY2[0].replace("30.00", "35.00"))
    counts = pipeline.ingest(str(landing.root), ["transactions"], settings=settings)
    assert counts[0]["files"] == 1 and counts[0]["accepted"] == 1
    ledger = tables.read(spark, settings, "bronze.file_ledger").where("file_name LIKE '%2026-01-02%'")
    assert sorted(r.status for r in ledger.collect()) == ["new", "redelivered_changed"]
    t8 = tables.read(spark, settings, "silver.transactions").where("txn_id = 'T8'").collect()
    assert [r.amount for r in t8] == [Decimal("35.00")]
    day = tables.read(spark, settings, "silver.txn_daily").where("entity_id = 'E2' AND orders > 0").first()
    assert day.gmv == Decimal("35.00")


@pytest.mark.integration
def test_a_payment_redelivered_later_moves_to_its_new_delivery_day(spark, settings, ingested, landing):
    landing.write("transactions", "2026-01-05", TXN_HEADER, DAY1[1].replace("20.00", "25.00"))  # T2, late fix
    pipeline.ingest(str(landing.root), ["transactions"], settings=settings)
    e1 = tables.read(spark, settings, "silver.txn_daily").where("entity_id = 'E1'").orderBy("arrived_date").collect()
    assert [(r.txn_date, r.arrived_date, r.gmv, r.orders) for r in e1] == [
        (dt.date(2026, 1, 1), dt.date(2026, 1, 1), Decimal("10.00"), 1),
        (dt.date(2026, 1, 1), dt.date(2026, 1, 5), Decimal("25.00"), 1),
    ]


FX_HEADER = "rate_date,base_currency,quote_currency,rate"


@pytest.mark.integration
def test_amounts_in_four_currencies_are_converted_and_an_unrated_one_is_quarantined(spark, settings, landing):
    landing.write("entities", "2026-01-05", ENTITY_HEADER, *REGISTRY)
    landing.write(
        "fx_rates",
        "2026-01-05",
        FX_HEADER,
        "2026-01-05,USD,CNY,7.1000",
        "2026-01-06,USD,CNY,9.9999",  # dated after the payments: never converts them
        "2026-01-02,EUR,CNY,7.8000",  # three days old on the payments' date: still the latest
        "2026-01-05,CNY,GBP,0.1100",  # quoted the other way: 1 GBP = 1 / 0.11 CNY
        "2025-12-01,JPY,CNY,0.0500",  # more than FX_MAX_AGE_DAYS old
        "2026-01-05,EUR,EUR,1.0",  # rejected: a currency priced in itself
    )
    payments = [("CNY", "100.00"), ("USD", "10.00"), ("EUR", "10.00"), ("gbp", "11.00"), ("JPY", "900"), ("CHF", "5")]
    landing.write(
        "transactions",
        "2026-01-05",
        TXN_HEADER,
        *(
            f"T{i},E1,2026-01-05T10:00:00+08:00,{amount},{code},qr,p{i},success"
            for i, (code, amount) in enumerate(payments)
        ),
    )
    counts = by_source(pipeline.ingest(str(landing.root), settings=settings))  # 2 of 6 quarantined: under 0.5
    assert (counts["fx_rates"]["accepted"], counts["fx_rates"]["quarantined"]) == (5, 1)
    assert (counts["transactions"]["accepted"], counts["transactions"]["quarantined"]) == (4, 2)
    silver = {r.txn_id: r for r in tables.read(spark, settings, "silver.transactions").collect()}
    assert {t: (r.amount, r.currency, r.original_amount, r.original_currency) for t, r in silver.items()} == {
        "T0": (Decimal("100.00"), "CNY", Decimal("100.00"), "CNY"),
        "T1": (Decimal("71.00"), "CNY", Decimal("10.00"), "USD"),
        "T2": (Decimal("78.00"), "CNY", Decimal("10.00"), "EUR"),
        "T3": (Decimal("100.00"), "CNY", Decimal("11.00"), "GBP"),
    }
    rejects = tables.read(spark, settings, "quarantine.transactions").select(
        F.get_json_object("record", "$.currency").alias("currency"), "reason"
    )
    reasons = {r.currency: r.reason for r in rejects.collect()}
    assert sorted(reasons) == ["CHF", "JPY"]
    assert (
        reasons["JPY"].startswith("no exchange rate JPY->CNY in silver.fx_rates")
        and "FX_MAX_AGE_DAYS" in reasons["JPY"]
    )
    top = {reason: (rows, example) for reason, rows, example in counts["transactions"]["top_reasons"]}
    assert top[reasons["CHF"]] == (1, "transactions/dt=2026-01-05/transactions.csv line 6")
    feat_txn.run(spark, settings, dt.date(2026, 1, 5))  # sales are the converted sums
    sales = tables.read(spark, settings, "gold.feat_txn").where("entity_id = 'E1'").first()
    assert sales.gmv_7d == Decimal("349.00")


def test_latest_delivery_wins_within_a_batch(spark):
    rows = [
        ("T1", "10", dt.date(2026, 1, 1), "a.csv", 1),
        ("T1", "12", dt.date(2026, 1, 2), "b.csv", 1),
        ("T2", "5", dt.date(2026, 1, 1), "a.csv", 2),
    ]
    df = spark.createDataFrame(rows, "txn_id string, amount string, _dt date, _source_file string, _row_number long")
    assert {(r.txn_id, r.amount) for r in latest_per_key(df, ["txn_id"]).collect()} == {("T1", "12"), ("T2", "5")}


def test_daily_aggregates_count_by_status(spark):
    day = dt.date(2026, 1, 1)
    rows = [
        ("E1", day, 9, Decimal("10.00"), "success", "p1", "qr"),
        ("E1", day, 23, Decimal("5.00"), "success", "p1", "online"),
        ("E1", day, 12, Decimal("7.00"), "refund", "p2", "qr"),
        ("E1", day, 12, Decimal("8.00"), "chargeback", "p3", "qr"),
    ]
    df = spark.createDataFrame(
        rows,
        "entity_id string, txn_date date, local_hour int, amount decimal(18,2), status string, payer_token string,"
        " channel string",
    ).withColumns({"arrived_date": F.lit(day), "txn_month": F.lit(day)})
    r = daily_aggregates(df).withColumn("distinct_payers", F.theta_sketch_estimate("payers")).first()
    assert (r.gmv, r.orders, r.refunds, r.chargebacks, r.night_orders, r.qr_orders) == (Decimal("15.00"), 2, 1, 1, 1, 1)
    assert r.distinct_payers == 1 and [(p.payer_key, p.gmv) for p in r.payer_sales] == [(payer_key(spark, "p1"), 15)]


def payer_key(spark, token: str) -> int:
    """How silver.txn_daily keys a payer token (its contract: Spark's xxhash64)."""
    return spark.range(1).select(F.xxhash64(F.lit(token))).first()[0]


def test_a_days_deliveries_carry_what_each_adds_to_the_day(spark):
    day = dt.date(2026, 1, 1)
    rows = [  # one business day delivered three times: a refund, then a sale by p1, then sales by p1 and p2
        ("E1", dt.date(2026, 1, 1), Decimal("4.00"), "refund", "p1"),
        ("E1", dt.date(2026, 1, 2), Decimal("10.00"), "success", "p1"),
        ("E1", dt.date(2026, 1, 5), Decimal("5.00"), "success", "p1"),
        ("E1", dt.date(2026, 1, 5), Decimal("15.00"), "success", "p2"),
    ]
    df = spark.createDataFrame(
        rows, "entity_id string, arrived_date date, amount decimal(18,2), status string, payer_token string"
    ).withColumns({"txn_date": F.lit(day), "txn_month": F.lit(day), "local_hour": F.lit(12), "channel": F.lit("qr")})
    got = daily_aggregates(df).orderBy("arrived_date").collect()
    assert [r.day_active_increment for r in got] == [0, 1, 0]
    assert [r.day_payers_increment for r in got] == [0, 1, 1]
    assert [r.day_gmv_squared_increment for r in got] == [0, 100, 30**2 - 10**2]  # the day's sales: 0, 10, 30


def test_landing_discovery_and_ledger(tmp_path):
    with pytest.raises(LandingError, match="does not exist"):
        discover(tmp_path / "missing", "transactions")
    (tmp_path / "transactions" / "dt=2026-01-01").mkdir(parents=True)
    (tmp_path / "transactions" / "dt=2026-01-01" / "a.csv").write_text("x\n")
    files = discover(tmp_path, "transactions")
    assert [(f.name, f.dt) for f in files] == [("transactions/dt=2026-01-01/a.csv", dt.date(2026, 1, 1))]
    assert unloaded(files, {(files[0].name, files[0].checksum)}) == []
    assert unloaded(files, {(files[0].name, "old")}) == [(files[0], "redelivered_changed")]
    a = files[0]
    unread = discover(tmp_path, "transactions", {a.name: (a.size_bytes, a.modified_ns, "as loaded")})
    assert unread[0].checksum == "as loaded"  # same name, size and time: not read again
    (tmp_path / "transactions" / "dt=2026-01-01" / "a.csv").write_text("y\n")  # same size, new content and time
    os.utime(a.path, ns=(a.modified_ns + 10**9, a.modified_ns + 10**9))
    again = discover(tmp_path, "transactions", {a.name: (a.size_bytes, a.modified_ns, a.checksum)})
    assert unloaded(again, {(a.name, a.checksum)}) == [(again[0], "redelivered_changed")]
    (tmp_path / "transactions" / "2026-01-02").mkdir()
    with pytest.raises(LandingError, match="not a dt=YYYY-MM-DD folder"):
        discover(tmp_path, "transactions")


def test_discovery_through_a_day_takes_only_the_folders_up_to_it(tmp_path):
    for day in ("2026-01-01", "2026-01-02", "2026-01-03"):
        (tmp_path / "trade" / f"dt={day}").mkdir(parents=True)
        (tmp_path / "trade" / f"dt={day}" / "trade.csv").write_text(f"{day}\n")

    def days(through):
        return [f.dt.isoformat() for f in discover(tmp_path, "trade", through=through)]

    assert days(None) == ["2026-01-01", "2026-01-02", "2026-01-03"]
    assert days(dt.date(2026, 1, 2)) == ["2026-01-01", "2026-01-02"]
    assert days(dt.date(2025, 12, 31)) == []
    (tmp_path / "trade" / "2026-01-04").mkdir()  # a misnamed folder is an error whatever the day
    with pytest.raises(LandingError, match="not a dt=YYYY-MM-DD folder"):
        discover(tmp_path, "trade", through=dt.date(2026, 1, 1))


def test_the_size_limit_is_set_in_mb_and_judged_on_any_file_unread(tmp_path):
    assert load_settings({}).landing_max_file_bytes == 2_048_000_000
    assert load_settings({"LANDING_MAX_FILE_MB": "0.5"}).landing_max_file_bytes == 500_000
    for bad in ("0", "-1", "lots", "inf"):
        with pytest.raises(ValueError, match="LANDING_MAX_FILE_MB"):
            load_settings({"LANDING_MAX_FILE_MB": bad})
    scene = tmp_path / "tiles" / "dt=2026-01-01" / "S1.tif"  # not CSV: judged by size before any reader opens it
    scene.parent.mkdir(parents=True)
    scene.write_bytes(b"\0" * 101)
    [f] = discover(tmp_path, "tiles")
    assert unreachable(f, tmp_path, 100) == (
        "too large: 101 bytes, over the limit of 100 (LANDING_MAX_FILE_MB): not read"
    )
    assert unreachable(f, tmp_path, 101) is None


@pytest.mark.integration
def test_header_only_and_all_rejected_files_reconcile(spark, settings, landing):
    landing.write("outcomes", "2026-01-01", "loan_id,entity_id,event_date,event_type,amount")
    landing.write("transactions", "2026-01-01", TXN_HEADER, DAY1[3], DAY1[4])  # both rows rejected
    with pytest.raises(BatchRefused) as refused:  # loudly, by default
        pipeline.ingest(str(landing.root), ["transactions", "outcomes"], settings=settings)
    assert str(refused.value).startswith("transactions: 100% of the batch quarantined (2 of 2 rows")
    assert "top reason: missing entity_id (1, e.g. transactions/dt=2026-01-01/transactions.csv line 1)" in str(
        refused.value
    )
    assert [b["source"] for b in refused.value.batches] == ["transactions", "outcomes"]  # the others still load
    ledger = tables.read(spark, settings, "bronze.file_ledger")
    assert [r.source for r in ledger.collect()] == ["outcomes"]  # the refused file stays unloaded: reruns fail alike
    accepting = load_settings({**os.environ, "INGEST_MAX_QUARANTINED_SHARE": "1"})
    counts = by_source(pipeline.ingest(str(landing.root), ["transactions", "outcomes"], settings=accepting))
    assert counts["transactions"]["quarantined"] == 2 and counts["transactions"]["accepted"] == 0
    assert counts["outcomes"]["files"] == 0  # its file was loaded by the refused run
    assert pipeline.ingest(str(landing.root), ["transactions", "outcomes"], settings=accepting)[0]["files"] == 0
    batches = tables.read(spark, settings, "silver.ingest_batches").where("source = 'outcomes'").first()
    assert (batches.files, batches.bronze_rows, batches.quarantined, batches.rejected_files) == (1, 0, 0, 0)


@pytest.mark.integration
def test_an_all_quarantined_batch_fails_helicopter_ingest_naming_the_top_reason(spark, settings, landing, capsys):
    landing.write("transactions", "2026-01-01", TXN_HEADER, *DAY1[:3])  # no registry: every business is unknown
    assert cli.main(["ingest", "--landing", str(landing.root)]) == 1
    out, err = capsys.readouterr()
    assert json.loads(out.splitlines()[-1])["quarantined"] == 3  # the refused batch's counts, still printed
    example = "e.g. transactions/dt=2026-01-01/transactions.csv line 1"
    assert f"transactions: quarantined 3 x unknown entity_id ({example})" in err
    last = err.strip().splitlines()[-1]
    assert last.startswith("error: transactions: 100% of the batch quarantined (3 of 3 rows, 0 of 1 files whole)")
    assert f"top reason: unknown entity_id (3, {example})" in last and "INGEST_MAX_QUARANTINED_SHARE=0.5" in last


@pytest.mark.chaos
def test_bad_files_go_to_quarantine_whole_and_the_rest_of_the_batch_goes_on(spark, settings, landing):
    # 1,000 bytes is "huge" on inline data; most files are bad here, which would refuse the batch by default
    settings = load_settings({**os.environ, "LANDING_MAX_FILE_MB": "0.001", "INGEST_MAX_QUARANTINED_SHARE": "1"})
    landing.write("entities", "2026-01-01", ENTITY_HEADER, *REGISTRY)
    good = landing.write("transactions", "2026-01-01", TXN_HEADER, DAY1[0], DAY1[1])
    landing.write(
        "transactions",
        "2026-01-01",
        TXN_HEADER.replace("txn_id,entity_id", "entity_id,txn_id"),
        DAY1[2],
        name="swapped.csv",
    )
    landing.write("transactions", "2026-01-01", "", name="empty.csv").write_bytes(b"")
    latin1 = landing.write("transactions", "2026-01-01", TXN_HEADER, name="latin1.csv")
    payer_in_latin1 = "T9,E1,2026-01-01T10:00:00+08:00,1.00,CNY,qr,Müller,success"
    latin1.write_bytes(latin1.read_bytes() + payer_in_latin1.encode("latin-1"))
    secret = landing.root.parent / "outside.csv"
    secret.write_text(TXN_HEADER + "\n" + DAY2[0] + "\n")
    (landing.root / "transactions" / "dt=2026-01-01" / "link.csv").symlink_to(secret)
    landing.write("transactions", "2026-01-01", TXN_HEADER, DAY1[0], name="it's' OR '1'='1.csv")  # a name, not SQL
    cut = landing.write("transactions", "2026-01-01", TXN_HEADER, DAY2[0], DAY1[2], name="truncated.csv")
    cut.write_bytes(cut.read_bytes()[:-25])  # the last line ends mid-field, as an interrupted upload leaves it
    bulk = [f"H{i},E2,2026-01-01T09:00:00+08:00,1.00,CNY,online,p5,success" for i in range(20)]
    huge = landing.write("transactions", "2026-01-01", TXN_HEADER, *bulk, name="huge.csv")
    counts = pipeline.ingest(str(landing.root), ["entities", "transactions"], settings=settings)[1]
    assert [rows for _, rows, _ in counts.pop("top_reasons")] == [1, 1, 1]  # six reasons, one each: the first three
    assert counts == {
        "source": "transactions", "files": 8, "bronze_rows": 5, "accepted": 3, "duplicates": 1, "quarantined": 1,
        "rejected_files": 5,
    }  # fmt: skip
    reasons = {
        r._source_file.rsplit("/", 1)[1]: (r.stage, r.reason)
        for r in tables.read(spark, settings, "quarantine.transactions").collect()
    }
    assert reasons["empty.csv"] == ("file", "empty file: not even a header line")
    assert reasons["link.csv"] == ("file", "a link that leads outside the landing folder: not read")
    assert reasons["swapped.csv"][0] == "file" and reasons["swapped.csv"][1].startswith("header is not the contract's")
    assert reasons["latin1.csv"] == (
        "file",
        f"not UTF-8: undecodable byte at offset {len(TXN_HEADER) + 1 + payer_in_latin1.index('ü')}",
    )
    assert reasons["huge.csv"] == (
        "file",
        f"too large: {huge.stat().st_size:,} bytes, over the limit of 1,000 (LANDING_MAX_FILE_MB): not read",
    )
    assert reasons["truncated.csv"][0] in ("parse", "gate")  # a row cut short: quarantined, its file loaded
    assert sorted(r.txn_id for r in tables.read(spark, settings, "silver.transactions").collect()) == ["T1", "T2", "T8"]
    statuses = {
        r.file_name.rsplit("/", 1)[1]: r.status
        for r in tables.read(spark, settings, "bronze.file_ledger").where("source = 'transactions'").collect()
    }
    assert statuses == {"transactions.csv": "new", "swapped.csv": "rejected", "empty.csv": "rejected",
                        "latin1.csv": "rejected", "truncated.csv": "new", "link.csv": "rejected",
                        "it's' OR '1'='1.csv": "new", "huge.csv": "rejected"}  # fmt: skip
    assert good.exists()
    # the senders fix their files and deliver them again under their names (the huge one cut down under the limit):
    # they load as corrections
    landing.write("transactions", "2026-01-01", TXN_HEADER, DAY1[2], name="swapped.csv")
    landing.write("transactions", "2026-01-01", TXN_HEADER, *bulk[:2], name="huge.csv")
    again = pipeline.ingest(str(landing.root), ["transactions"], settings=settings)[0]
    assert (again["files"], again["accepted"], again["rejected_files"]) == (2, 3, 0)


ROW_FAULTS = ("negative_amount", "absurd_amount", "unknown_currency", "bad_timestamp", "missing_entity_id")


@pytest.mark.integration
def test_a_simulated_world_quarantines_exactly_the_bad_input_it_was_given(spark, settings, tmp_path):
    """Every broken row and file the simulator injected is accounted for: quarantined, deduplicated or rejected whole,
    by the count its truth records; unknown entities are caught against the registry. At the bad rate the issue sets
    (0.02), on a world whose seed draws every kind of fault at least once."""
    world = simulate(WorldSpec(entities=40, days=60, start=dt.date(2025, 3, 1), seed=19, bad_rate=0.02), tmp_path)
    bad = {k: v for k, v in world["bad_inputs"].items() if k.split(".")[0] in ("transactions", "trade")}
    assert all(bad.values()), bad
    counts = by_source(
        pipeline.ingest(str(tmp_path / "landing"), ["entities", "transactions", "trade"], settings=settings)
    )
    tx, trade = counts["transactions"], counts["trade"]

    row_faults = [*ROW_FAULTS, "unknown_entity", "malformed_row", "truncated_file"]  # a cut file loses its last row
    assert tx["quarantined"] == sum(bad[f"transactions.{k}"] for k in row_faults)
    assert tx["duplicates"] == bad["transactions.duplicate_txn"]
    assert tx["rejected_files"] == bad["transactions.added_column"] + bad["transactions.missing_column"]
    assert trade["quarantined"] == bad["trade.negative_amount"] + bad["trade.unknown_entity"]
    assert trade["duplicates"] == bad["trade.duplicate_record"]
    reasons = tables.read(spark, settings, "quarantine.transactions").groupBy("reason").count().collect()
    by_reason = {r.reason: r["count"] for r in reasons}
    assert by_reason["unknown entity_id"] == bad["transactions.unknown_entity"]
    assert by_reason["expect_column_values_to_be_between(amount)"] == (
        bad["transactions.negative_amount"] + bad["transactions.absurd_amount"]
    )
    late = tables.read(spark, settings, "silver.transactions").where("arrived_date > txn_date").count()
    assert late > 0, "the late deliveries land on their own business dates"

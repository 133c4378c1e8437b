"""The session factory, Delta round trips, and the table catalog built from the contracts."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from pyspark.errors import AnalysisException
from pyspark.sql import Row
from pyspark.sql import functions as F

from jobs import tables
from jobs.catalog import all_contracts, conform, contract, ensure_table, register_all


def test_session_is_utc_with_delta(spark):
    assert spark.conf.get("spark.sql.session.timeZone") == "UTC"
    assert "DeltaSparkSessionExtension" in spark.conf.get("spark.sql.extensions")
    ts = spark.sql("SELECT to_timestamp('2026-01-01T08:00:00+08:00') AS t").first().t
    assert ts == dt.datetime(2026, 1, 1, 0, 0)


def test_spark_codegen_off_interprets_every_expression(spark):
    from jobs.errors import SettingsError
    from jobs.settings import load_settings

    assert load_settings({}).spark_codegen and not load_settings({"SPARK_CODEGEN": "OFF"}).spark_codegen
    with pytest.raises(SettingsError, match="SPARK_CODEGEN='sometimes': expected one of on, off"):
        load_settings({"SPARK_CODEGEN": "sometimes"})
    assert spark.conf.get("spark.sql.codegen.wholeStage") == "false"  # the tests' session: SPARK_CODEGEN=off
    doubled = spark.range(3).selectExpr("id * 2 AS twice")
    assert "*(" not in doubled._jdf.queryExecution().executedPlan().toString()  # no whole-stage-generated operator
    assert [r.twice for r in doubled.collect()] == [0, 2, 4]


def test_spark_java_options_reach_the_drivers_jvm(spark):
    from jobs.settings import load_settings
    from jobs.spark_session import java_options

    assert java_options(load_settings({})) == "-Duser.timezone=UTC"
    assert java_options(load_settings({"SPARK_JAVA_OPTIONS": " -Xss4m "})) == "-Duser.timezone=UTC -Xss4m"
    beans = spark.sparkContext._jvm.java.lang.management.ManagementFactory.getGarbageCollectorMXBeans()
    collectors = {bean.getName() for bean in beans}
    assert collectors == {"Copy", "MarkSweepCompact"}, collectors  # the tests' session: SPARK_JAVA_OPTIONS, serial GC


def test_delta_write_merge_and_time_travel(spark, tmp_path):
    path = str(tmp_path / "t")
    spark.createDataFrame([(1, "a"), (2, "b")], "id int, v string").write.format("delta").save(path)
    from delta.tables import DeltaTable

    updates = spark.createDataFrame([(2, "B"), (3, "c")], "id int, v string")
    (
        DeltaTable.forPath(spark, path)
        .alias("t")
        .merge(updates.alias("s"), "t.id = s.id")
        .whenMatchedUpdateAll()
        .whenNotMatchedInsertAll()
        .execute()
    )
    now = {r.id: r.v for r in spark.read.format("delta").load(path).collect()}
    before = {r.id: r.v for r in spark.read.format("delta").option("versionAsOf", 0).load(path).collect()}
    assert now == {1: "a", 2: "B", 3: "c"}
    assert before == {1: "a", 2: "b"}


def test_every_contract_is_complete():
    found = all_contracts()
    assert {
        "bronze.transactions",
        "silver.transactions",
        "silver.txn_daily",
        "gold.feat_txn",
        "gold.preapproved_limits",
        "quarantine.transactions",
    } <= {c.fqn for c in found}
    for c in found:
        assert c.description, c.fqn
        assert all(col.description for col in c.columns), c.fqn
        assert set(c.keys) <= set(c.column_names), c.fqn
        assert set(c.partition_by) <= set(c.column_names), c.fqn


def test_columns_from_expands_landing_as_nullable_text(spark):
    bronze = contract("bronze.transactions")
    landing = contract("landing.transactions")
    assert bronze.column_names[: len(landing.columns)] == landing.column_names
    assert "_source_file" in bronze.column_names
    schema = bronze.struct_type()
    assert all(f.nullable for f in schema.fields[: len(landing.columns)])
    assert contract("landing.transactions").columns[0].nullable is False


def test_preapproved_limits_has_the_guides_columns(spark, guide_limit_fields):
    needed = guide_limit_fields
    assert needed <= set(contract("gold.preapproved_limits").column_names)
    assert {f.name: f.dataType.simpleString() for f in contract("gold.preapproved_limits").struct_type()}[
        "reason_codes"
    ] == "array<string>"


def test_tables_are_created_at_their_path_and_registered(spark, settings):
    names = register_all(spark, settings)
    assert "gold.preapproved_limits" in names
    c = ensure_table(spark, settings, "gold.preapproved_limits")
    assert c.path(settings) == f"{settings.lakehouse_root}/gold/preapproved_limits"
    location = spark.sql("DESCRIBE DETAIL gold.preapproved_limits").first().location
    assert location.endswith("/gold/preapproved_limits")
    assert spark.sql("SELECT count(*) AS n FROM gold.preapproved_limits").first().n == 0


def test_a_table_spark_created_takes_rows_written_without_spark_and_the_arrow_schema_is_sparks(spark, settings):
    """gold.decisions is appended by an application without Spark (delta-rs, `Contract.arrow_schema`), to a table
    Spark may have created first; Spark reads it back."""
    import pyarrow as pa
    from deltalake import write_deltalake
    from pyspark.sql.pandas.types import to_arrow_schema

    for c in all_contracts():
        if not any(col.type.startswith("array<struct") for col in c.columns):
            assert c.arrow_schema() == to_arrow_schema(c.struct_type(), timezone="UTC"), c.fqn
    c = contract("gold.decisions")
    assert tables.read(spark, settings, "gold.decisions").isEmpty()  # created by Spark, from the contract
    row = {col.name: None for col in c.columns} | {"decision_id": "d1", "entity_id": "E1", "pd": 0.1}
    row |= {"decided_at": dt.datetime(2026, 3, 2, 4, tzinfo=dt.UTC), "as_of_date": dt.date(2026, 3, 2)}
    row |= {"previous_as_of_date": dt.date(2026, 3, 1), "reason_codes": ["X"]}
    row |= dict.fromkeys(("documents", "input_versions", "voucher_features", "model_version", "policy_version"), "-")
    row |= {"decision": "approved", "currency": "CNY", "limit_amount": Decimal("1200.00")}
    row |= {"previous_limit_amount": Decimal("1000.00")}
    write_deltalake(c.path(settings), pa.Table.from_pylist([row], schema=c.arrow_schema()), mode="append")
    (back,) = tables.read(spark, settings, "gold.decisions").collect()
    assert (back.decision_id, back.decided_at, back.limit_amount, back.reason_codes) == (
        "d1",
        dt.datetime(2026, 3, 2, 4),
        Decimal("1200.00"),
        ["X"],
    )


def test_a_table_written_under_an_older_contract_gains_the_new_columns(spark, settings):
    c = contract("gold.feat_txn")
    columns = "entity_id string, as_of_date date, gmv_7d double, computed_at timestamp"
    old = spark.createDataFrame([("E1", dt.date(2026, 1, 31), 10.0, dt.datetime(2026, 2, 1))], columns)
    old.write.format("delta").partitionBy("as_of_date").save(c.path(settings))
    ensure_table(spark, settings, "gold.feat_txn")
    table = tables.read(spark, settings, "gold.feat_txn")
    assert table.columns[:3] == ["entity_id", "as_of_date", "gmv_7d"] and set(c.column_names) == set(table.columns)
    row = table.first()
    assert row.gmv_7d == 10.0 and row.trend_365d is None  # written before the column existed
    now = {"entity_id": "E1", "as_of_date": dt.date(2026, 2, 28), "trend_365d": 0.5, "computed_at": dt.datetime.now()}
    new = spark.createDataFrame([dict.fromkeys(c.column_names) | now], c.struct_type())
    tables.replace_where(spark, settings, "gold.feat_txn", new, "as_of_date = '2026-02-28'")
    got = {r.as_of_date: r.trend_365d for r in tables.read(spark, settings, "gold.feat_txn").collect()}
    assert got == {dt.date(2026, 1, 31): None, dt.date(2026, 2, 28): 0.5}


def test_a_new_column_that_may_not_be_null_is_refused(spark, settings):
    c = contract("silver.entities")
    spark.createDataFrame([("E1",)], "entity_id string").write.format("delta").save(c.path(settings))
    with pytest.raises(ValueError, match="lacks its contract's non-null columns"):
        ensure_table(spark, settings, "silver.entities")


def txn_features(spark, as_of: dt.date):
    rows = [Row(entity_id="E1", as_of_date=as_of, gmv_30d=1.0)]
    df = spark.createDataFrame(rows).withColumn("computed_at", F.current_timestamp())
    for c in contract("gold.feat_txn").features:
        if c.name not in df.columns:
            df = df.withColumn(c.name, F.lit(None).cast("double"))
    return df


def test_replace_where_reruns_replace_the_date(spark, settings):
    df = txn_features(spark, dt.date(2026, 1, 1))
    for _ in range(2):
        tables.replace_where(spark, settings, "gold.feat_txn", df, "as_of_date = '2026-01-01'")
    assert tables.read(spark, settings, "gold.feat_txn").count() == 1


def test_replace_where_refuses_rows_outside_its_predicate_unless_unchecked_for_that_write_only(spark, settings):
    stray = txn_features(spark, dt.date(2026, 1, 2))
    with pytest.raises(AnalysisException, match="DELTA_REPLACE_WHERE_MISMATCH"):
        tables.replace_where(spark, settings, "gold.feat_txn", stray, "as_of_date = '2026-01-01'")
    tables.replace_where(spark, settings, "gold.feat_txn", stray, "as_of_date = '2026-01-01'", checked=False)
    assert [r.as_of_date for r in tables.read(spark, settings, "gold.feat_txn").collect()] == [dt.date(2026, 1, 2)]
    with pytest.raises(AnalysisException, match="DELTA_REPLACE_WHERE_MISMATCH"):  # the next write is checked again
        tables.replace_where(spark, settings, "gold.feat_txn", stray, "as_of_date = '2026-01-01'")


def test_replace_rows_of_some_files_keeps_the_others_and_leaves_no_list_in_the_commit(spark, settings):
    def rejects(*rows):
        frame = spark.createDataFrame(rows, "_source_file string, _row_number long, reason string")
        return frame.select(
            F.lit("{}").alias("record"),
            "reason",
            F.lit("parse").alias("stage"),
            "_source_file",
            F.lit("c0").alias("_file_checksum"),
            "_row_number",
            F.lit("run-1").alias("run_id"),
            F.current_timestamp().alias("quarantined_at"),
        )

    def files(*names):
        return spark.createDataFrame([(n,) for n in names], "_source_file string")

    fqn = "quarantine.trade"
    tables.replace_rows_of(
        spark, settings, fqn, rejects(("a.csv", 1, "x"), ("a.csv", 2, "x"), ("b.csv", 1, "x")), files("a.csv", "b.csv")
    )
    for _ in range(2):  # a rerun writes its rows once
        tables.replace_rows_of(spark, settings, fqn, rejects(("a.csv", 3, "y")), files("a.csv"))
    rows = {(r._source_file, r._row_number, r.reason) for r in tables.read(spark, settings, fqn).collect()}
    assert rows == {("a.csv", 3, "y"), ("b.csv", 1, "x")}
    path = contract(fqn).path(settings)
    last = spark.sql(f"DESCRIBE HISTORY delta.`{path}` LIMIT 1").first()
    assert "a.csv" not in str(last.operationParameters)


def test_conform_refuses_missing_columns(spark):
    with pytest.raises(ValueError, match="lacks contract columns"):
        conform(spark.createDataFrame([("E1",)], "entity_id string"), "gold.preapproved_limits")

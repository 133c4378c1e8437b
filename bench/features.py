"""`python -m bench.features`: what tonight's transaction features cost, against history and against DuckDB.

1. History: one new day on top of 30 days of history, and on top of 365 days, at the same daily volume (one simulated
   year; the short world is its last 31 days). Each runs in its own process: the history is ingested untimed, then
   tonight's files are ingested and `gold.feat_txn` computed for tonight, timed (an ingest repeat first removes
   tonight's files from the ledger, the path of a rerun after a crash). Tonight's cost should not grow with history.
   "features" is `gold.feat_txn` alone (`feat_txn.run`), whatever else the nightly feature step computes.
2. DuckDB: the same feature set written as DuckDB SQL, and Spark's `daily_aggregates` + `txn_features`, both over the
   same Parquet file of typed payments, at 1 million and 10 million payments; the two results are compared.

Writes bench/results/features.{json,md}. `--history-only` reruns part 1 and keeps the recorded part 2 (each part
carries the date it was recorded).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import tempfile
from pathlib import Path

from bench.common import RESULTS, in_own_process, machine, machine_line, record, timed

AS_OF = dt.date(2026, 6, 30)
GENERATED_DAYS = 400  # a little more than the features' lookback


# ---- 1. tonight's cost against the length of the history ----


def one_night(landing: Path, history_days: int, repeats: int) -> dict:
    """In this process: ingest the history under `landing`, then time tonight's ingest and features."""
    import os

    work = Path(tempfile.mkdtemp(prefix="helicopter-bench-features-"))
    os.environ["LAKEHOUSE_ROOT"] = str(work / "lakehouse")
    from jobs import pipeline
    from jobs.features import feat_txn
    from jobs.settings import load_settings
    from jobs.spark_session import get_spark

    tonight = sorted(landing.glob(f"*/dt={AS_OF.isoformat()}"))
    held = work / "held"
    for folder in tonight:
        (held / folder.parent.name).mkdir(parents=True, exist_ok=True)
        shutil.move(folder, held / folder.parent.name / folder.name)
    pipeline.ingest(str(landing))
    for folder in tonight:
        shutil.move(held / folder.parent.name / folder.name, folder)
    payments = landing / "transactions" / f"dt={AS_OF.isoformat()}"
    tonight_rows = sum(len(f.read_text().splitlines()) - 1 for f in payments.glob("*.csv"))

    def ingest_tonight():  # a repeat first forgets tonight's files, like a rerun after a crash before the ledger
        spark.sql(f"DELETE FROM delta.`{ledger}` WHERE file_name LIKE '%dt={AS_OF.isoformat()}%'")
        return pipeline.ingest(str(landing))

    spark, ledger = get_spark(load_settings()), load_settings().table_path("bronze", "file_ledger")
    ingest_s, _ = timed(ingest_tonight, repeats)
    features_s, rows = timed(lambda: feat_txn.run(spark, load_settings(), AS_OF), repeats)
    shutil.rmtree(work, ignore_errors=True)
    return {
        "history_days": history_days,
        "tonight_payments": tonight_rows,
        "ingest_seconds": ingest_s,
        "features_seconds": features_s,
        "nightly_seconds": ingest_s + features_s,
        "entities_with_features": rows,
    }


def history_series(entities: int, repeats: int) -> list[dict]:
    """One simulated year; the 30-day world is its last 31 days (same merchants, same night), the other all of it."""
    from simulator.world import WorldSpec, simulate

    work = Path(tempfile.mkdtemp(prefix="helicopter-bench-history-"))
    start = AS_OF - dt.timedelta(days=365)
    simulate(WorldSpec(entities=entities, days=366, start=start, seed=7, bad_rate=0.0), work / "world")
    runs = []
    for days in (30, 365):
        landing = work / f"landing-{days}"
        first = (AS_OF - dt.timedelta(days=days)).isoformat()
        for folder in (work / "world" / "landing").glob("*/dt=*"):
            if folder.parent.name == "entities" or folder.name >= f"dt={first}":
                shutil.copytree(folder, landing / folder.parent.name / folder.name)
        one = ["--one-night", str(days), "--landing", str(landing), "--repeats", str(repeats)]
        runs.append(in_own_process("bench.features", *one))
    shutil.rmtree(work, ignore_errors=True)
    return runs


# ---- 2. Spark against DuckDB on the same Parquet payments ----


def write_payments(path: Path, rows: int, seed: int = 11) -> int:
    """Typed payments (the silver.transactions columns the features use) over GENERATED_DAYS up to AS_OF."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    entities = max(rows // (GENERATED_DAYS * 2), 1)  # about two payments per merchant-day
    entity = rng.integers(0, entities, rows)
    txn_date = np.datetime64(AS_OF) - rng.integers(0, GENERATED_DAYS, rows).astype("timedelta64[D]")
    late = np.where(rng.random(rows) < 0.02, rng.integers(1, 10, rows), 0).astype("timedelta64[D]")
    regular = rng.random(rows) < 0.6
    payer = np.where(regular, entity * 1000 + rng.integers(0, 30, rows), rng.integers(10**9, 10**12, rows))
    table = pa.table(
        {
            "entity_id": pa.array(np.char.add("E", entity.astype(str))),
            "txn_date": pa.array(txn_date),
            "arrived_date": pa.array(txn_date + late),
            "amount": pa.array(np.round(rng.lognormal(4, 1, rows), 2)),  # cast to decimal(18,2) by both readers
            "status": pa.array(rng.choice(["success", "refund", "chargeback"], rows, p=[0.92, 0.06, 0.02])),
            "payer_token": pa.array(np.char.add("p", payer.astype(str))),
            "local_hour": pa.array(rng.integers(0, 24, rows).astype("int32")),
            "channel": pa.array(rng.choice(["qr", "online"], rows, p=[0.7, 0.3])),
        }
    )
    pq.write_table(table, path)
    return entities


def duckdb_sql(path: Path, as_of: dt.date) -> str:
    """gold.feat_txn's features as one DuckDB query over the payments, exact distinct counts."""
    from jobs.features.feat_txn import LOOKBACK_DAYS, SEASON_DAYS, TREND_DAYS, WINDOWS

    n = TREND_DAYS
    sums, payers, features = [], [], []
    for w in WINDOWS:
        sums += [
            f"coalesce(sum(gmv) FILTER (age < {w}), 0) AS gmv_{w}d",
            f"coalesce(sum(orders) FILTER (age < {w}), 0) AS orders_{w}d",
            f"coalesce(sum(orders + refunds + chargebacks) FILTER (age < {w}), 0) AS payments_{w}d",
            f"coalesce(sum(refunds) FILTER (age < {w}), 0) AS refunds_{w}d",
            f"coalesce(sum(chargebacks) FILTER (age < {w}), 0) AS chargebacks_{w}d",
            f"count(*) FILTER (age < {w} AND orders > 0) AS active_days_{w}d",
            f"coalesce(sum(payers) FILTER (age < {w}), 0) AS payer_days_{w}d",
        ]
        payers.append(f"count(DISTINCT payer_token) FILTER (age < {w}) AS distinct_payers_{w}d")
        features += [
            f"gmv_{w}d", f"orders_{w}d", f"active_days_{w}d",
            f"gmv_{w}d / nullif(orders_{w}d, 0) AS avg_ticket_{w}d",
            f"coalesce(distinct_payers_{w}d, 0) AS distinct_payers_{w}d",
            f"1 - distinct_payers_{w}d / nullif(payer_days_{w}d, 0) AS repeat_payer_share_{w}d",
            f"refunds_{w}d / nullif(payments_{w}d, 0) AS refund_rate_{w}d",
            f"chargebacks_{w}d / nullif(payments_{w}d, 0) AS chargeback_rate_{w}d",
        ]  # fmt: skip
    mean = f"(gmv_90d / {n})"
    return f"""
    WITH seen AS (
      SELECT entity_id, date_diff('day', txn_date, DATE '{as_of}') AS age, amount::DECIMAL(18,2)::DOUBLE AS amount,
             status = 'success' AS ok, status, payer_token, local_hour, channel
      FROM read_parquet('{path}')
      WHERE txn_date <= DATE '{as_of}' AND txn_date > DATE '{as_of}' - {LOOKBACK_DAYS}
        AND arrived_date <= DATE '{as_of}'
    ), daily AS (
      SELECT entity_id, age,
             coalesce(sum(amount) FILTER (ok), 0) AS gmv, count(*) FILTER (ok) AS orders,
             count(*) FILTER (status = 'refund') AS refunds, count(*) FILTER (status = 'chargeback') AS chargebacks,
             count(*) FILTER (ok AND (local_hour >= 22 OR local_hour < 6)) AS night_orders,
             count(*) FILTER (ok AND channel = 'qr') AS qr_orders, count(DISTINCT payer_token) FILTER (ok) AS payers
      FROM seen GROUP BY ALL
    ), sums AS (
      SELECT entity_id, {", ".join(sums)},
             coalesce(sum(gmv) FILTER (age BETWEEN 30 AND 59), 0) AS gmv_prev_30d,
             coalesce(sum(gmv) FILTER (age BETWEEN 90 AND 179), 0) AS gmv_prev_90d,
             coalesce(sum(gmv) FILTER (age >= 365), 0) AS gmv_year_ago_30d,
             coalesce(sum(gmv * gmv) FILTER (age < {n}), 0) AS gmv_squares_90d,
             coalesce(sum(gmv * age) FILTER (age < {n}), 0) AS gmv_age_90d,
             coalesce(sum(gmv * age) FILTER (age < 365), 0) AS gmv_age_365d,
             coalesce(sum(night_orders) FILTER (age < {n}), 0) AS night_orders_90d,
             coalesce(sum(night_orders) FILTER (age < 365), 0) AS night_orders_365d,
             coalesce(sum(qr_orders) FILTER (age < {n}), 0) AS qr_orders_90d,
             min(age) FILTER (orders > 0) AS days_since_last_sale, max(age) FILTER (orders > 0) AS history_days,
             least(max(age) FILTER (orders > 0) + 1, 365) AS year_days
      FROM daily GROUP BY entity_id
    ), payers AS (
      SELECT entity_id, {", ".join(payers)} FROM seen WHERE ok GROUP BY entity_id
    ), per_payer AS (
      SELECT entity_id, payer_token, sum(amount) AS g FROM seen
      WHERE ok AND age < {n} AND payer_token IS NOT NULL GROUP BY ALL
    ), concentration AS (
      SELECT entity_id, sum(g * g) / nullif(sum(g) * sum(g), 0) AS payer_hhi_90d,
             max(g) / nullif(sum(g), 0) AS top_payer_share_90d
      FROM per_payer GROUP BY entity_id
    )
    SELECT entity_id, {", ".join(features)},
           gmv_30d / nullif(gmv_prev_30d, 0) - 1 AS growth_30d,
           gmv_90d / nullif(gmv_prev_90d, 0) - 1 AS growth_90d,
           sqrt(greatest(gmv_squares_90d / {n} - {mean} * {mean}, 0)) / nullif({mean}, 0) AS volatility_90d,
           ((-gmv_age_90d + {(n - 1) / 2} * gmv_90d) / {n * (n * n - 1) / 12}) / nullif({mean}, 0) AS trend_90d,
           CASE WHEN year_days >= {n} THEN
             ((-gmv_age_365d + (year_days - 1) / 2 * gmv_365d) / (year_days * (year_days ^ 2 - 1) / 12))
             / nullif(gmv_365d / year_days, 0) END AS trend_365d,
           gmv_30d / nullif(gmv_year_ago_30d / nullif(gmv_365d * {SEASON_DAYS} / 365, 0), 0) AS level_sa_30d,
           days_since_last_sale, history_days, payer_hhi_90d, top_payer_share_90d,
           night_orders_90d / nullif(orders_90d, 0) AS night_share_90d,
           night_orders_365d / nullif(orders_365d, 0) AS night_share_365d,
           qr_orders_90d / nullif(orders_90d, 0) AS qr_share_90d
    FROM sums LEFT JOIN payers USING (entity_id) LEFT JOIN concentration USING (entity_id)
    """


def engines(rows: int, repeats: int) -> dict:
    import duckdb
    import pandas as pd
    from pyspark.sql import functions as F

    from jobs.catalog import contract
    from jobs.features.feat_txn import txn_features
    from jobs.ingest.transactions import daily_aggregates
    from jobs.settings import load_settings
    from jobs.spark_session import get_spark

    work = Path(tempfile.mkdtemp(prefix="helicopter-bench-duckdb-"))
    path = work / "payments.parquet"
    entities = write_payments(path, rows)
    spark = get_spark(load_settings())
    snapshot = spark.createDataFrame([(AS_OF,)], "as_of_date date")

    def payments():
        return (
            spark.read.parquet(str(path))
            .withColumn("amount", F.col("amount").cast("decimal(18,2)"))
            .withColumn("txn_month", F.trunc("txn_date", "month"))
        )

    def spark_features():
        return txn_features(daily_aggregates(payments()), snapshot).toPandas()

    spark_s, by_spark = timed(spark_features, repeats)
    daily = work / "txn_daily"
    daily_aggregates(payments()).write.parquet(str(daily))
    spark_nightly_s, _ = timed(
        lambda: txn_features(spark.read.parquet(str(daily)), snapshot).write.format("noop").mode("overwrite").save(),
        repeats,
    )
    con = duckdb.connect()
    con.execute("SET threads = 2")
    duck_s, by_duck = timed(lambda: con.execute(duckdb_sql(path, AS_OF)).df(), repeats)
    names = [c.name for c in contract("gold.feat_txn").features]
    a = by_spark.set_index("entity_id")[names].sort_index().astype(float)
    b = by_duck.set_index("entity_id")[names].sort_index().astype(float)
    exact = [c for c in names if not c.startswith(("distinct_payers", "repeat_payer_share"))]
    pd.testing.assert_frame_equal(a[exact], b[exact], rtol=1e-6, check_names=False)
    sketch_error = ((a - b).abs() / b.abs().clip(lower=1e-9))[[c for c in names if c not in exact]].max().max()
    shutil.rmtree(work, ignore_errors=True)
    return {
        "payments": rows,
        "entities": entities,
        "spark_seconds": spark_s,
        "spark_from_daily_seconds": spark_nightly_s,
        "duckdb_seconds": duck_s,
        "spark_over_duckdb": spark_s / duck_s,
        "max_relative_difference_of_sketched_payer_counts": float(sketch_error),
    }


# ---- the record ----


def markdown(r: dict) -> str:
    m = r["machine"]
    h30, h365 = r["history"]
    lines = [
        "# Transaction features: tonight's cost",
        "",
        f"{machine_line(m)}, duckdb {r['duckdb']}. Medians of {r['repeats']} repeats (an ingest repeat "
        f"first forgets tonight's files in the ledger).",
        "",
        f"## One new day on top of 30 and of 365 days of history ({r['entities']:,} simulated merchants)",
        "",
        f"Recorded {r.get('history_recorded', r['recorded'])}.",
        "",
        "| history | tonight's payments | ingest s | features s | nightly s |",
        "|---:|---:|---:|---:|---:|",
    ]
    for h in (h30, h365):
        lines.append(
            f"| {h['history_days']} days | {h['tonight_payments']:,} | {h['ingest_seconds']:.1f} | "
            f"{h['features_seconds']:.1f} | {h['nightly_seconds']:.1f} |"
        )
    lines += [
        "",
        f"Ratio 365 / 30 days: features {h365['features_seconds'] / h30['features_seconds']:.2f}, "
        f"whole night (ingest + features) {h365['nightly_seconds'] / h30['nightly_seconds']:.2f}.",
        "",
        "## Spark against the same features in DuckDB SQL, same Parquet payments",
        "",
        f"Recorded {r.get('engines_recorded', r['recorded'])}.",
        "",
        "| payments | merchants | Spark s (payments -> features) | Spark s (daily aggregates -> features) | DuckDB s "
        "| Spark / DuckDB | payer counts: max relative gap (theta sketch vs exact) |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for e in r["engines"]:
        lines.append(
            f"| {e['payments']:,} | {e['entities']:,} | {e['spark_seconds']:.1f} | "
            f"{e['spark_from_daily_seconds']:.1f} | {e['duckdb_seconds']:.1f} | {e['spark_over_duckdb']:.1f} | "
            f"{e['max_relative_difference_of_sketched_payer_counts']:.4f} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--entities", type=int, default=2000)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--sizes", default="1000000,10000000", help="payments for the DuckDB comparison")
    p.add_argument("--one-night", type=int, help=argparse.SUPPRESS)
    p.add_argument("--landing", type=Path, help=argparse.SUPPRESS)
    p.add_argument(
        "--history-only", action="store_true", help="rerun the history part only; keep the recorded DuckDB part"
    )
    a = p.parse_args()
    if a.one_night:
        print(json.dumps(one_night(a.landing, a.one_night, a.repeats)))
        return
    from importlib.metadata import version

    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    result = {
        "recorded": now,
        "machine": machine(),
        "duckdb": version("duckdb"),
        "entities": a.entities,
        "repeats": a.repeats,
        "history_recorded": now,
        "history": history_series(a.entities, a.repeats),
    }
    if a.history_only:
        before = json.loads((RESULTS / "features.json").read_text())
        result |= {"engines_recorded": before.get("engines_recorded", before["recorded"]), "engines": before["engines"]}
    else:
        result |= {"engines_recorded": now, "engines": [engines(int(n), a.repeats) for n in a.sizes.split(",")]}
    record("features", result, markdown(result))


if __name__ == "__main__":
    main()

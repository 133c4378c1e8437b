"""`python -m bench.training`: PD model training on the driver (`xgb.train`) against `xgboost.spark`.

A synthetic training frame of ROWS loans x the feature contract's features (noise, with PD driven by sales and
refunds, over eight month-ends) is trained three ways, each the median wall time of the repeats:

    bare_xgb_train   `xgb.train` alone on the same rows (`pd_model.local_booster`): the learner
    local            `pd_model.fit(frame, spec)`: the time parts, the same `xgb.train`, the test metrics
    spark            `pd_model.fit(frame, spec, rows)`: the same through `SparkXGBClassifier`, one worker per task
                     slot, on the rows as a cached Spark DataFrame (read from Parquet, as training reads Delta)

Spark's start is timed apart. Writes bench/results/training.{json,md}.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from bench.common import machine, machine_line, record, timed

ROWS = 200_000


def training_frame(rows: int, seed: int = 7):
    from jobs.model import pd_model

    rng = np.random.default_rng(seed)
    spec = pd_model.feature_spec()
    frame = pd.DataFrame(rng.normal(size=(rows, len(spec.names))), columns=spec.names)
    frame["gmv_90d"] = rng.lognormal(9, 1, rows)
    risk = -3.0 - 0.9 * np.log(frame["gmv_90d"] / 8000) + 1.2 * frame["refund_rate_90d"]
    frame["bad"] = (rng.random(rows) < 1 / (1 + np.exp(-risk))).astype(int)
    frame["obs_date"] = [dt.date(2022 + i * 48 // rows // 12, 1 + i * 48 // rows % 12, 28) for i in range(rows)]
    return frame, spec


def run(rows: int, repeats: int) -> dict:
    work = Path(tempfile.mkdtemp(prefix="helicopter-bench-training-"))
    os.environ["LAKEHOUSE_ROOT"] = str(work / "lakehouse")
    from jobs.model import pd_model
    from jobs.settings import load_settings
    from jobs.spark_session import get_spark

    frame, spec = training_frame(rows)
    parts = pd_model.time_parts(frame["obs_date"], frame["bad"])
    fitted, stop = frame[parts == pd_model.FIT], frame[parts == pd_model.STOP]
    results = {}
    t, booster = timed(lambda: pd_model.local_booster(fitted, stop, spec, pd_model.booster_params(spec)), repeats)
    results["bare_xgb_train"] = {"seconds": t, "best_iteration": int(booster.best_iteration)}
    t, (_, metrics) = timed(lambda: pd_model.fit(frame, spec), repeats)
    results["local"] = {"seconds": t, "best_iteration": metrics["best_iteration"], "auc": metrics["test"]["auc"]}
    t, spark = timed(lambda: get_spark(load_settings()), 1)
    results["spark_start"] = {"seconds": t}
    frame.to_parquet(work / "frame.parquet")
    spark_rows = spark.read.parquet(str(work / "frame.parquet")).cache()
    spark_rows.count()
    t, (_, metrics) = timed(lambda: pd_model.fit(frame, spec, spark_rows), repeats)
    results["spark"] = {
        "seconds": t,
        "best_iteration": metrics["best_iteration"],
        "auc": metrics["test"]["auc"],
        "num_workers": metrics["params"]["num_workers"],
    }
    return {"rows": rows, "features": len(spec.names), "bad_rate": float(frame["bad"].mean()), "stages": results}


def markdown(r: dict) -> str:
    m, s = r["machine"], r["stages"]
    lines = [
        "# PD model training: driver against xgboost.spark",
        "",
        f"{machine_line(m)}. {r['rows']:,} loans x {r['features']} features (bad rate "
        f"{r['bad_rate']:.1%}); median of {r['repeats']} runs; Spark started in {s['spark_start']['seconds']:.1f} s.",
        "",
        "| training | seconds (median) | rounds kept | out-of-time AUC |",
        "|---|---:|---:|---:|",
    ]
    for name in ("bare_xgb_train", "local", "spark"):
        auc = f"{s[name]['auc']:.4f}" if "auc" in s[name] else "-"
        label = f"spark ({s[name]['num_workers']} workers)" if name == "spark" else name
        lines.append(f"| {label} | {s[name]['seconds']:.1f} | {s[name]['best_iteration'] + 1} | {auc} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rows", type=int, default=ROWS)
    p.add_argument("--repeats", type=int, default=3)
    a = p.parse_args()
    result = {
        "recorded": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "repeats": a.repeats,
        **run(a.rows, a.repeats),
    }
    record("training", result, markdown(result))


if __name__ == "__main__":
    main()

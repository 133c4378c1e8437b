"""The quality runner: validates a Spark DataFrame with its Great Expectations suite.

Suites live in `expectations/<layer>/<name>.json`, beside the contract `schemas/<layer>/<name>.yaml`, in GX's own
suite format. Each expectation's `meta.level` says what a failure means:
- `row`: the failing rows (found by GX through the table's keys) go to quarantine with the expectation as reason;
- `table` (the default): the whole batch is refused and the run stops with a clear message.

A suite runs first for its verdicts alone (GX's BOOLEAN_ONLY, a third of the time of a complete result); only the
expectations that failed run again for their failing rows and observed values.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from jobs.catalog import contract, contract_file
from jobs.errors import QualityGateError

EXPECTATIONS_DIR = Path(__file__).resolve().parent.parent / "expectations"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GateResult:
    suite: str
    passed: object  # DataFrame of rows that passed every row-level expectation
    rejected: object  # DataFrame of the failing rows, with a `reason` column
    rejected_rows: int  # how many they are (known on the driver: GX returns the failing rows' keys)
    checked: int  # expectations evaluated
    failed: list[str]  # "expectation(column): n rows" for each failed expectation
    seconds: float  # spent validating (GX's metrics, and collecting the failing rows' keys)


def suite_json(fqn: str) -> dict:
    return json.loads(contract_file(EXPECTATIONS_DIR, fqn, ".json").read_text())


def _describe(config) -> str:
    column = config.kwargs.get("column")
    return f"{config.type}({column})" if column else config.description or config.type


@cache
def _batch_definition():
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    for noisy in ("great_expectations", "great_expectations.data_context.types.base"):  # the latter sets INFO itself
        logging.getLogger(noisy).setLevel(logging.WARNING)
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    asset = context.data_sources.add_spark("lakehouse").add_dataframe_asset("batch")
    return asset.add_batch_definition_whole_dataframe("whole")


def _suite(fqn: str, only: list[int] | None = None):
    """`fqn`'s suite, or the expectations at positions `only` of it; each expectation's position is in its meta, which
    its result carries (GX answers in an order of its own)."""
    import great_expectations as gx
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    doc = suite_json(fqn)
    expectations = [
        ExpectationConfiguration(**e | {"meta": (e.get("meta") or {}) | {"position": i}}).to_domain_obj()
        for i, e in enumerate(doc["expectations"])
        if only is None or i in only
    ]
    return gx.ExpectationSuite(name=doc["name"], expectations=expectations)


def validate(df, fqn: str) -> GateResult:
    """Run `fqn`'s suite on `df` (which must be unique on the table's keys)."""
    from pyspark.sql import functions as F

    start = time.perf_counter()
    keys = list(contract(fqn).keys)
    batch = _batch_definition().get_batch(batch_parameters={"dataframe": df})
    verdicts = batch.validate(_suite(fqn), result_format={"result_format": "BOOLEAN_ONLY"}).results
    failing = [r.expectation_config.meta["position"] for r in verdicts if not r.success]
    detailed = (
        batch.validate(
            _suite(fqn, failing), result_format={"result_format": "COMPLETE", "unexpected_index_column_names": keys}
        ).results
        if failing
        else []
    )
    spark = df.sparkSession
    failed, table_failures, bad_rows = [], [], []
    for r in detailed:
        if r.success:  # failed on its own batch a moment ago: the batch changed under the gate
            raise QualityGateError(f"{fqn}: {_describe(r.expectation_config)} failed, then passed on the same batch")
        what = _describe(r.expectation_config)
        if (r.expectation_config.meta or {}).get("level") == "row":
            ids = r.result.get("unexpected_index_list") or []
            failed.append(f"{what}: {len(ids)} rows")
            bad_rows += [{**{k: i[k] for k in keys}, "reason": what} for i in ids]
        else:
            observed = r.result.get("observed_value", r.result.get("unexpected_count"))
            failed.append(f"{what}: observed {observed}")
            table_failures.append(f"{what} (observed {observed})")
    if table_failures:
        raise QualityGateError(f"{fqn} failed its quality gate: " + "; ".join(table_failures))
    schema = ", ".join(f"`{k}` string" for k in keys) + ", reason string"
    reasons = (
        spark.createDataFrame(bad_rows, schema)
        .groupBy(*keys)
        .agg(F.concat_ws("; ", F.sort_array(F.collect_set("reason"))).alias("reason"))
    )
    keyed = df.select("*", *[F.col(k).cast("string").alias(f"__key_{k}") for k in keys])
    on = [keyed[f"__key_{k}"] == reasons[k] for k in keys]
    helper_cols = [f"__key_{k}" for k in keys]
    rejected = keyed.join(reasons, on, "inner").drop(*helper_cols, *[reasons[k] for k in keys])
    passed = keyed.join(reasons, on, "left_anti").drop(*helper_cols)
    rejected_rows = len({tuple(row[k] for k in keys) for row in bad_rows})
    seconds = time.perf_counter() - start
    log.info("%s: %d expectations in %.1f s, failed: %s", fqn, len(verdicts), seconds, failed or "none")
    return GateResult(fqn, passed, rejected, rejected_rows, len(verdicts), failed, seconds)

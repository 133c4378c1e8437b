"""The features step: each producer of its tables, in order, and what each cost, kept in `silver.feature_runs`."""

from __future__ import annotations

import datetime as dt
import importlib
import logging
import time

from jobs import tables
from jobs.catalog import contract, producers, tables_of
from jobs.settings import Settings

log = logging.getLogger(__name__)
RUNS = "silver.feature_runs"


def run(spark, settings: Settings, as_of: dt.date) -> dict[str, int]:
    """Run the `run` of every module that writes a table of the features step (their contracts' `produced_by`), each
    after the modules whose tables it reads, and record each one's rows and seconds for the night. Returns the rows
    each wrote, by its tables."""
    written, runs = {}, []
    for module in producers("features"):
        own = [t for t in tables_of("features") if contract(t).module == module]
        started, start = dt.datetime.now(dt.UTC), time.perf_counter()
        rows = importlib.import_module(module).run(spark, settings, as_of)
        seconds = time.perf_counter() - start
        names = " and ".join(own)
        written[names] = rows
        runs.append((as_of, module, own, int(rows), seconds, started))
        log.info("%s as of %s: %s rows in %.1f s", names, as_of, rows, seconds)
    record = spark.createDataFrame(runs, contract(RUNS).struct_type())
    tables.replace_where(spark, settings, RUNS, record, f"as_of_date = DATE'{as_of.isoformat()}'")
    return written

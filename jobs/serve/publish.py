"""`helicopter publish`: gold.preapproved_limits for one date -> the serving store, verified, swapped in atomically."""

from __future__ import annotations

import datetime as dt
import json

from pyspark.sql import functions as F

from jobs import tables
from jobs.errors import ServingError
from jobs.serve import store
from jobs.settings import Settings


def serving_rows(limits) -> list[dict]:
    """gold.preapproved_limits rows -> serving rows (dates as ISO text, reason codes as a JSON array)."""
    selected = limits.select(*store.FIELDS).orderBy("entity_id")
    return [
        {
            **row.asDict(),
            "as_of_date": row["as_of_date"].isoformat(),
            "limit_amount": float(row["limit_amount"]),
            "reason_codes": json.dumps(list(row["reason_codes"])),
        }
        for row in selected.toLocalIterator()
    ]


def run(spark, settings: Settings, as_of: dt.date) -> store.Published:
    limits = tables.read(spark, settings, "gold.preapproved_limits").where(F.col("as_of_date") == F.lit(as_of))
    rows = serving_rows(limits)
    if not rows:
        raise ServingError(f"gold.preapproved_limits has no rows as of {as_of}: run `helicopter score --as-of {as_of}`")
    source_rows = limits.count()  # counted by Delta, apart from the rows read above
    return store.publish(store.engine(settings.serving_url), rows, source_rows, store.checksum(rows))

"""Exchange rates: typing to silver.fx_rates (`jobs.ingest.currency` converts amounts with them)."""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from jobs.ingest.currency import RATE
from jobs.ingest.source import Source, blank, reject_reasons


def typed_fx_rates(bronze: DataFrame) -> DataFrame:
    """Bronze text rows -> silver.fx_rates columns, with `_reject_reason` where a field cannot be typed."""
    typed = bronze.withColumns(
        {
            "rate_date": F.try_to_date(F.col("rate_date"), "yyyy-MM-dd"),
            "base_currency": F.upper(F.trim("base_currency")),
            "quote_currency": F.upper(F.trim("quote_currency")),
            "rate": F.expr(f"try_cast(rate AS {RATE})"),
            "arrived_date": F.col("_dt"),
        }
    )
    return reject_reasons(
        typed,
        {
            "malformed line": F.col("_corrupt_record").isNotNull(),
            "unparseable rate_date": F.col("rate_date").isNull(),
            "missing base_currency": blank("base_currency"),
            "missing quote_currency": blank("quote_currency"),
            "base_currency is quote_currency": F.col("base_currency") == F.col("quote_currency"),
            "unparseable rate": F.col("rate").isNull(),
        },
    )


SOURCE = Source(name="fx_rates", silver="silver.fx_rates", typed=typed_fx_rates)

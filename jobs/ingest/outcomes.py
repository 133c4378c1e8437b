"""Loan outcomes: typing the loan book's events to silver.loan_events."""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from jobs.ingest.source import Source, blank, reject_reasons


def typed_loan_events(bronze: DataFrame) -> DataFrame:
    """Bronze text rows -> silver.loan_events columns, with `_reject_reason` where a field cannot be typed."""
    typed = bronze.withColumn("event_date", F.try_to_date(F.col("event_date"), "yyyy-MM-dd")).withColumn(
        "amount", F.expr("try_cast(amount AS DECIMAL(18,2))")
    )
    return reject_reasons(
        typed,
        {
            "malformed line": F.col("_corrupt_record").isNotNull(),
            "missing loan_id": blank("loan_id"),
            "missing entity_id": blank("entity_id"),
            "missing event_type": blank("event_type"),
            "unparseable event_date": F.col("event_date").isNull(),
        },
    )


SOURCE = Source(name="outcomes", silver="silver.loan_events", typed=typed_loan_events, entity_columns=("entity_id",))

"""Loan outcomes: typing the loan book's events to silver.loan_events, and who is past due on a date."""

from __future__ import annotations

import datetime as dt

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from jobs.ingest.source import Source, blank, reject_reasons
from jobs.snapshots import of_dates, pair

DELINQUENT_EVENTS = ("dpd30", "dpd60", "dpd90")
RESOLVING_EVENTS = ("cured", "closed")


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


def delinquent_as_of(loan_events: DataFrame, dates: DataFrame) -> DataFrame:
    """(as_of_date, entity_id): for each of `dates` (a frame of `as_of_date`), the borrowers with a loan past due
    (dpd30, dpd60, dpd90) on or before it, not cured or closed on or after that event by it."""
    events = pair(loan_events, dates, F.col("event_date") <= F.col("as_of_date"))
    per_loan = events.groupBy("as_of_date", "loan_id", "entity_id").agg(
        F.max(F.when(F.col("event_type").isin(*DELINQUENT_EVENTS), F.col("event_date"))).alias("late"),
        F.max(F.when(F.col("event_type").isin(*RESOLVING_EVENTS), F.col("event_date"))).alias("resolved"),
    )
    late = F.col("late").isNotNull() & (F.col("resolved").isNull() | (F.col("resolved") < F.col("late")))
    return per_loan.where(late).select("as_of_date", "entity_id").distinct()


def delinquent_entities(loan_events: DataFrame, as_of: dt.date) -> DataFrame:
    """(entity_id): the borrowers past due as of `as_of` (`delinquent_as_of`)."""
    return delinquent_as_of(loan_events, of_dates(loan_events.sparkSession, [as_of])).drop("as_of_date")


SOURCE = Source(name="outcomes", silver="silver.loan_events", typed=typed_loan_events, entity_columns=("entity_id",))

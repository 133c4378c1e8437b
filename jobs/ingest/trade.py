"""Trade between businesses: typing orders and fund transfers to silver.trade_records."""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from jobs.ingest.source import Source, blank, month_partitions, reject_reasons
from jobs.ingest.transactions import ISO_WITH_OFFSET


def typed_trade(bronze: DataFrame) -> DataFrame:
    """Bronze text rows -> silver.trade_records columns, with `_reject_reason` where a field cannot be typed. The
    business date is the local one, read from the timestamp before its offset."""
    ts = F.try_to_timestamp(F.col("ts"), F.lit(ISO_WITH_OFFSET))
    typed = (
        bronze.withColumn("record_ts", ts)
        .withColumn("trade_date", F.when(ts.isNotNull(), F.to_date(F.substring("ts", 1, 10))))
        .withColumn("trade_month", F.trunc("trade_date", "month"))
        .withColumn("amount", F.expr("try_cast(amount AS DECIMAL(18,2))"))
        .withColumn("reference", F.when(~blank("reference"), F.col("reference")))
        .withColumn("memo", F.when(~blank("memo"), F.col("memo")))
        .withColumn("arrived_date", F.col("_dt"))
    )
    return reject_reasons(
        typed,
        {
            "malformed line": F.col("_corrupt_record").isNotNull(),
            "missing record_id": blank("record_id"),
            "missing payer_id": blank("payer_id"),
            "missing payee_id": blank("payee_id"),
            "payer is payee": F.col("payer_id") == F.col("payee_id"),
            "unparseable ts": F.col("record_ts").isNull(),
            "unparseable amount": F.col("amount").isNull(),
        },
    )


SOURCE = Source(
    name="trade",
    silver="silver.trade_records",
    typed=typed_trade,
    prune=month_partitions("trade_month"),
    converts_on="trade_date",
    entity_columns=("payer_id", "payee_id"),
)

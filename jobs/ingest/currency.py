"""Money in the reporting currency: a batch's amounts converted at ingest with the rates of silver.fx_rates."""

from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

RATE = "decimal(24,10)"


def daily_rates(fx_rates: DataFrame, reporting: str, max_age_days: int) -> DataFrame:
    """(currency, on_date, fx_rate): the units of `reporting` one unit of `currency` buys on each day that has a rate:
    the latest rate of the pair dated on or before the day and at most `max_age_days` old, quoted either way (a
    direct quote wins over an inverse one of the same day)."""
    direct = fx_rates.where((F.col("quote_currency") == reporting) & (F.col("base_currency") != reporting)).select(
        F.col("base_currency").alias("currency"),
        "rate_date",
        F.col("rate").cast(RATE).alias("fx_rate"),
        F.lit(0).alias("_inverse"),
    )
    inverse = fx_rates.where((F.col("base_currency") == reporting) & (F.col("quote_currency") != reporting)).select(
        F.col("quote_currency").alias("currency"),
        "rate_date",
        (F.lit(1) / F.col("rate")).cast(RATE).alias("fx_rate"),
        F.lit(1).alias("_inverse"),
    )
    pair_day = Window.partitionBy("currency", "rate_date").orderBy("_inverse")
    in_order = Window.partitionBy("currency").orderBy("rate_date")
    last_day = F.least(F.date_sub(F.lead("rate_date").over(in_order), 1), F.date_add("rate_date", max_age_days))
    return (
        direct.unionByName(inverse)
        .withColumn("_rank", F.row_number().over(pair_day))
        .where("_rank = 1")
        .withColumn("_last_day", F.coalesce(last_day, F.date_add("rate_date", max_age_days)))
        .select("currency", F.explode(F.sequence("rate_date", "_last_day")).alias("on_date"), "fx_rate")
    )


def with_fx_rate(rows: DataFrame, rates: DataFrame, reporting: str, day: str) -> DataFrame:
    """`rows` with `currency` upper-cased and `fx_rate`: the units of the reporting currency one unit of it buys on
    the row's `day` (`daily_rates`), 1 for the reporting currency itself, null when there is no rate."""
    rows = rows.withColumn("currency", F.upper(F.trim("currency")))
    found = F.broadcast(rates.select(F.col("currency").alias("_rated"), F.col("on_date").alias("_on"), "fx_rate"))
    rated = rows.join(found, (F.col("currency") == F.col("_rated")) & (F.col(day) == F.col("_on")), "left")
    own = F.col("currency") == reporting
    return rated.withColumn("fx_rate", F.when(own, F.lit(1).cast(RATE)).otherwise(F.col("fx_rate"))).drop(
        "_rated", "_on"
    )


def in_reporting_currency(typed: DataFrame, rates: DataFrame, reporting: str, max_age_days: int, day: str) -> DataFrame:
    """Typed rows with `amount` and `currency` in the reporting currency, converted at the rate of their business
    date (`day`), the amount as landed in `original_amount` and `original_currency` and the rate in `fx_rate`; a row
    whose currency has no rate for its date gets a reject reason naming the pair and the setting."""
    rated = with_fx_rate(typed, rates, reporting, day)
    fx_rate = F.col("fx_rate")
    unrated = fx_rate.isNull() & F.col("currency").isNotNull() & F.col(day).isNotNull() & F.col("amount").isNotNull()
    reason = F.concat(
        F.lit("no exchange rate "), F.col("currency"), F.lit(f"->{reporting} in silver.fx_rates dated up to "),
        F.lit(f"{max_age_days} days before the row's {day} (FX_MAX_AGE_DAYS)"),
    )  # fmt: skip
    converted = F.round(F.col("amount") * fx_rate, 2).try_cast("decimal(18,2)")
    too_large = converted.isNull() & fx_rate.isNotNull() & F.col("amount").isNotNull()
    joined = F.concat_ws(
        "; ", "_reject_reason", F.when(unrated, reason), F.when(too_large, F.lit(f"amount too large in {reporting}"))
    )
    return rated.withColumns(
        {
            "original_amount": F.col("amount"),
            "original_currency": F.col("currency"),
            "amount": converted,
            "currency": F.lit(reporting),
            "_reject_reason": F.when(joined != "", joined),
        }
    )

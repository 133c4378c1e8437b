"""silver.vouchers: each document of silver.voucher_documents read (on the executors, by `jobs.documents.read`: its
text layer, or for a page without one the upstream OCR's reading that came with it, else the product's own OCR),
verified against the taxonomy and the entity's behaviour, and checked for reuse across entities; MERGEd on voucher_id.

The entity's behaviour is what the lakehouse saw it sell: payments (silver.txn_daily) for merchants, sales orders
(silver.trade_records) for distributors and stores; and its registration date (silver.entities). A document that
reports the business's flows over a period (a statement's month, a tax return's quarter: the taxonomy's `over:
period`) is judged against the sales of that period; any other against those of the REVENUE_DAYS before its
submission. Reuse is decided over the batch and the vouchers stored before: the first entity to hand over a document
keeps it, a later copy from another entity is suspicious.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import math
import statistics
from collections.abc import Iterator
from dataclasses import dataclass

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from jobs import quality, tables
from jobs.catalog import contract
from jobs.documents import read as reader
from jobs.documents.classify import form_of
from jobs.documents.taxonomy import field_specs, headline_field, judged_over_its_period
from jobs.documents.verify import (
    SUSPICIOUS,
    UNREADABLE,
    Revenue,
    as_date,
    counterparty_field,
    reuse_key,
    verify_voucher,
)
from jobs.ingest.currency import daily_rates
from jobs.settings import Settings

REVENUE_DAYS = 365  # a document without a period of its own (rent, a bill, a contract) is judged against the sales
# of these days before it: a year, as what a business carries is set by its level, not by a quarter's swings
MIN_REVENUE_DAYS = 30  # fewer days of a window seen (and not the whole of a shorter one), and its revenue is unknown
SURELY = 0.9  # a document whose content reads as another type with this probability is flagged
SALES_HISTORY_DAYS = 366  # the sales a document can be judged against: these days before its submission
TABLE = "silver.vouchers"
REUSED = "reused: same document as {} of another entity"
log = logging.getLogger(__name__)


# ---------------------------------------------------------------------------------------------------------------
# One document (pure Python, runs on the executors)


def tokenised(fields: dict, voucher_type: str, key: bytes) -> dict:
    """The fields with the submitter's own ones (names, addresses) replaced by HMAC-SHA256 tokens."""
    own = {s["name"] for s in field_specs(voucher_type) if s.get("own")}
    out = {}
    for name, f in fields.items():
        if name in own and f["value"] is not None:
            f = f | {"value": hmac.new(key, str(f["value"]).encode(), hashlib.sha256).hexdigest()}
        out[name] = f
    return out


def value_of(fields: dict, name: str | None):
    return fields.get(name, {}).get("value") if name else None


def known(value):
    """None for a missing value as pandas hands it over (None, NaN, NaT), else the value."""
    import pandas as pd

    if value is None or hasattr(value, "__len__"):  # text, and a list as a list or an array
        return value
    return None if pd.isna(value) else value


def revenue_window(fields: dict, submitted: dt.date, over_period: bool) -> tuple[dt.date, dt.date, bool]:
    """(first day, last day, whether the document's own period) of the days a document's amounts are judged
    against: with `over_period` (a type reporting the business's flows), the period it reports, when it states one
    that ended by the submission and began within SALES_HISTORY_DAYS of it; else the REVENUE_DAYS up to the
    submission."""
    start, end = value_of(fields, "period_start"), value_of(fields, "period_end")
    if over_period and isinstance(start, dt.date) and isinstance(end, dt.date) and start <= end <= submitted:
        if (submitted - start).days < SALES_HISTORY_DAYS:
            return start, end, True
    return submitted - dt.timedelta(days=REVENUE_DAYS - 1), submitted, False


def monthly_revenue(
    sales: list[tuple[dt.date, float]], first_sale: dt.date | None, start, end, own_period: bool = False
) -> Revenue | None:
    """Sales per 30 days over the days of [start, end] the lakehouse saw the business selling (from its first
    sale); None when it saw none, or fewer than MIN_REVENUE_DAYS of them and not the whole window: a few days' sales
    are no month's revenue.

    Judged over a document's `own_period`, the revenue is that period's, exactly. Otherwise it is the business's
    level, known as well as its months agree: its spread is the standard error of the mean of the whole 30-day
    stretches seen, back from `end` (None with fewer than two: one month says nothing of the next)."""
    if first_sale is None:
        return None
    seen_from = max(first_sale, start)
    seen = (end - seen_from).days + 1
    if seen < min(MIN_REVENUE_DAYS, (end - start).days + 1):
        return None
    monthly = sum(amount for day, amount in sales if seen_from <= day <= end) * 30 / seen
    if own_period:
        return Revenue(monthly)
    months = [0.0] * (seen // 30)
    for day, amount in sales:
        back = (end - day).days // 30
        if seen_from <= day <= end and back < len(months):
            months[back] += amount
    mean = statistics.fmean(months) if len(months) >= 2 else 0.0
    if mean <= 0:
        return None
    return Revenue(monthly, statistics.stdev(months) / mean / math.sqrt(len(months)))


@dataclass(frozen=True)
class Rates:
    """The units of the reporting currency one unit of a currency buys, per (currency, day) (`daily_rates`)."""

    reporting: str
    by_day: dict

    def revenue_in(self, revenue: Revenue | None, currency: str | None, day: dt.date) -> Revenue | None:
        """A revenue in the reporting currency, in `currency` at its rate of `day` (a document without a currency
        is taken to be in the reporting one); None without a rate."""
        if revenue is None or currency in (None, self.reporting):
            return revenue
        rate = self.by_day.get((currency, day))
        return None if rate is None else revenue.scaled(1 / rate)


def disagreement(voucher_type: str, reads_as: tuple[str, float] | None) -> list[str]:
    """A flag when the content surely reads as another type than the declared one (the verdict stands)."""
    if reads_as is None or reads_as[1] < SURELY or reads_as[0] == form_of(voucher_type):
        return []
    return [f"declared {voucher_type}, reads as {reads_as[0]}"]


def read_document(doc: dict, key: bytes, rates: Rates) -> dict:
    """One silver.vouchers row (without extracted_at) from a voucher_documents row with the entity's `sales`
    (day, sales) of the SALES_HISTORY_DAYS before the submission, its `first_sale` and its `registered` date. The
    document's amounts are judged against the sales in its own currency, at the rate of the last day judged."""
    doc = {k: known(v) for k, v in doc.items()}
    for day in ("submitted_date", "arrived_date", "registered", "first_sale"):
        doc[day] = None if doc.get(day) is None else as_date(doc[day])
    sales = [(as_date(s["day"]), float(s["sales"])) for s in (doc.get("sales") if doc.get("sales") is not None else [])]
    vtype, upstream = doc["voucher_type"], doc["ocr_path"]
    reading = reader.read_document(doc["pdf_path"], upstream, own_ocr=upstream is None, voucher_type=vtype)
    fields = reading.fields
    if reading.problem:
        status, reasons = UNREADABLE, [reading.problem]
    else:
        start, end, own_period = revenue_window(fields, doc["submitted_date"], judged_over_its_period(vtype))
        sold = monthly_revenue(sales, doc["first_sale"], start, end, own_period)
        revenue = rates.revenue_in(sold, value_of(fields, "currency"), end)
        verdict = verify_voucher(vtype, fields, doc["submitted_date"], revenue, doc["registered"])
        status, reasons = verdict.status, list(verdict.reasons) + disagreement(vtype, reading.reads_as)
    number, party = value_of(fields, "document_number"), value_of(fields, counterparty_field(vtype))
    amount = value_of(fields, headline_field(vtype))
    key_parts = reuse_key(vtype, number, party, amount)
    return {
        **{c: doc[c] for c in ("voucher_id", "entity_id", "voucher_type", "submitted_date", "arrived_date", "image")},
        "document_number": number,
        "counterparty": party,
        "issue_date": value_of(fields, "issue_date"),
        "amount": amount,
        "amount_untaxed": value_of(fields, "amount_untaxed"),
        "amount_tax": value_of(fields, "amount_tax"),
        "currency": value_of(fields, "currency"),
        "fields": reader.fields_json(tokenised(fields, vtype, key)),
        "min_confidence": min((f["confidence"] for f in fields.values()), default=None),
        "status": status,
        "reasons": reasons,
        "reuse_key": None if key_parts is None else "|".join(map(str, key_parts)),
        "pdf_checksum": doc["pdf_checksum"],
    }


# ---------------------------------------------------------------------------------------------------------------
# Spark


def documents(voucher_documents: DataFrame) -> DataFrame:
    """The columns of silver.voucher_documents the reading needs, the declared type as voucher_type."""
    return voucher_documents.select(
        "voucher_id",
        "entity_id",
        F.col("declared_type").alias("voucher_type"),
        "submitted_date",
        "arrived_date",
        "image",
        "pdf_path",
        "ocr_path",
        "pdf_checksum",
    )


def recent_sales(docs: DataFrame, daily: DataFrame, trade: DataFrame) -> DataFrame:
    """Per voucher_id: the entity's `sales` (payments plus sales orders) of each day of the SALES_HISTORY_DAYS up
    to the submission, as (day, sales) in day order, and its `first_sale` the lakehouse saw; none when it shows
    neither."""
    payments = daily.select("entity_id", F.col("txn_date").alias("day"), F.col("gmv").cast("double").alias("sales"))
    orders = trade.where(F.col("record_type") == "order").select(
        F.col("payee_id").alias("entity_id"), F.col("trade_date").alias("day"), F.col("amount").cast("double")
    )
    sales = payments.unionByName(orders.withColumnRenamed("amount", "sales"))
    day, submitted = F.col("day"), F.col("submitted_date")
    within = (day <= submitted) & (day > F.date_sub(submitted, SALES_HISTORY_DAYS))
    return (
        docs.select("voucher_id", "entity_id", "submitted_date")
        .join(sales, "entity_id")
        .groupBy("voucher_id")
        .agg(
            F.sort_array(F.collect_list(F.when(within, F.struct("day", "sales")))).alias("sales"),
            F.min("day").alias("first_sale"),
        )
    )


def with_context(docs: DataFrame, entities: DataFrame, daily: DataFrame, trade: DataFrame) -> DataFrame:
    """Documents with the entity's recent `sales`, `first_sale` and `registered` date (null where unknown)."""
    registered = entities.select("entity_id", F.col("registered_date").alias("registered"))
    return docs.join(recent_sales(docs, daily, trade), "voucher_id", "left").join(registered, "entity_id", "left")


def read_on_executors(docs: DataFrame, key: bytes, rates: Rates) -> DataFrame:
    """Every document read and verified where it sits (mapInPandas over the rows; the files are read by path)."""
    schema = contract(TABLE).struct_type()
    out = type(schema)([f for f in schema.fields if f.name != "extracted_at"])
    names = out.fieldNames()

    def read_partition(batches: Iterator) -> Iterator:
        import pandas as pd

        for batch in batches:
            rows = [read_document(doc, key, rates) for doc in batch.to_dict("records")]
            yield pd.DataFrame({n: pd.Series([r[n] for r in rows], dtype=object) for n in names})

    parts = max(1, docs.sparkSession.sparkContext.defaultParallelism * 2)
    return docs.repartition(parts).mapInPandas(read_partition, out).withColumn("extracted_at", F.current_timestamp())


def flag_reason(status: str, reasons: list[str], first_copy: str) -> dict:
    """The status and reasons of a document another entity handed over first (`first_copy`): suspicious, the reason
    first, earlier reasons kept only if it was suspicious already (what `flag_reuse` does to each such row)."""
    return {"status": SUSPICIOUS, "reasons": [REUSED.format(first_copy), *(reasons if status == SUSPICIOUS else [])]}


def flag_reuse(batch: DataFrame, stored: DataFrame) -> DataFrame:
    """The batch with documents another entity handed over first (in the batch or before) made suspicious: the
    reason first, earlier reasons kept only if the document was suspicious already."""
    columns = ["voucher_id", "entity_id", "submitted_date", "reuse_key"]
    earlier = stored.select(*columns).join(batch.select("voucher_id"), "voucher_id", "left_anti")
    first = Window.partitionBy("reuse_key").orderBy("submitted_date", "voucher_id")
    copies = (
        batch.select(*columns)
        .unionByName(earlier)
        .where(F.col("reuse_key").isNotNull())
        .withColumn("first_entity", F.first("entity_id").over(first))
        .withColumn("first_copy", F.first("voucher_id").over(first))
        .where(F.col("first_entity") != F.col("entity_id"))
        .select("voucher_id", "first_copy")
    )
    reused = F.col("first_copy").isNotNull()
    before, after = REUSED.split("{}")
    reason = F.array(F.concat(F.lit(before), F.col("first_copy"), F.lit(after)))
    kept = F.when(F.col("status") == SUSPICIOUS, F.col("reasons")).otherwise(F.array().cast("array<string>"))
    return (
        batch.join(copies, "voucher_id", "left")
        .withColumn("reasons", F.when(reused, F.concat(reason, kept)).otherwise(F.col("reasons")))
        .withColumn("status", F.when(reused, F.lit(SUSPICIOUS)).otherwise(F.col("status")))
        .drop("first_copy")
    )


def rates_for(spark, settings: Settings, docs: DataFrame) -> Rates:
    """The daily rates of silver.fx_rates over the days the documents' sales are judged on."""
    first = docs.agg(F.min("submitted_date")).first()[0]
    fx_rates = tables.read(spark, settings, "silver.fx_rates")
    rates = daily_rates(fx_rates, settings.reporting_currency, settings.fx_max_age_days)
    if first is not None:
        rates = rates.where(F.col("on_date") > F.date_sub(F.lit(first), SALES_HISTORY_DAYS))
    return Rates(settings.reporting_currency, {(r.currency, r.on_date): float(r.fx_rate) for r in rates.collect()})


def run(spark, settings: Settings, as_of: dt.date | None = None) -> int:
    """Read, verify and MERGE every document not read yet, or changed since it was read, whatever the night
    (`as_of`) is; returns the rows written. Rows failing a row-level expectation are left out (logged, and tried again
    next time); a table-level failure stops the run."""
    from jobs.pii import token_key

    docs = documents(tables.read(spark, settings, "silver.voucher_documents"))
    read = tables.read(spark, settings, TABLE).select("voucher_id", "pdf_checksum")
    docs = docs.join(read, ["voucher_id", "pdf_checksum"], "left_anti")
    context = with_context(
        docs,
        tables.read(spark, settings, "silver.entities"),
        tables.read(spark, settings, "silver.txn_daily"),
        tables.read(spark, settings, "silver.trade_records"),
    )
    # materialised once: the files are read once, and the MERGE below cannot change what was read or compared
    batch = read_on_executors(context, token_key(settings), rates_for(spark, settings, docs)).localCheckpoint()
    if batch.isEmpty():
        return 0
    result = flag_reuse(batch, tables.read(spark, settings, TABLE)).localCheckpoint()
    gate = quality.validate(result, TABLE)
    if gate.failed:
        log.warning("%s: left out rows that failed: %s", TABLE, gate.failed)
    tables.merge(spark, settings, TABLE, gate.passed)
    written = gate.passed.count()
    return written

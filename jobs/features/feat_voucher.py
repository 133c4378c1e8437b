"""gold.feat_voucher: what the documents an entity handed over say about it, as of each snapshot date.

A snapshot sees only the vouchers submitted on or before its as-of date that had arrived by it. Counts, the
consistency score and the licence age use every such document; the monthly amounts declared (rent, payroll, revenue)
use the verified documents of the DECLARED_DAYS before it, their amounts converted to the reporting currency at the
rate of their issue date (a document without a currency is taken to be in it; one in a currency without a rate
declares no amount).
"""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from jobs import tables
from jobs.catalog import contract
from jobs.documents.taxonomy import load_taxonomy
from jobs.documents.verify import SUSPICIOUS, UNREADABLE, VERIFIED
from jobs.ingest.currency import daily_rates, with_fx_rate
from jobs.settings import Settings
from jobs.snapshots import of_dates, pair, write

DECLARED_DAYS = 365
RENT_PER_MONTH = {"shop_lease": 1.0, "land_lease": 1 / 12}  # headline amount -> per month
REVENUE_PER_MONTH = {"platform_settlement": 1.0, "bank_statement": 1.0, "tax_return": 1 / 3}
FEATURE_COLUMNS = [c.name for c in contract("gold.feat_voucher").columns if c.name != "computed_at"]


def registered_date(fields: str | None) -> dt.date | None:
    """The registration date a document's fields (silver.vouchers.fields, JSON) state, if any."""
    value = (json.loads(fields).get("registered_date") or {}).get("value") if fields else None
    try:
        return dt.date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def mean(values: pd.Series) -> float | None:
    """The mean of the known values, None without one (as SQL's avg)."""
    known = values.dropna()
    return float(known.sum() / len(known)) if len(known) else None


def declared(docs: pd.DataFrame, recent: pd.Series, scale: dict[str, float]) -> pd.Series:
    """The headline amount per month of each recent verified document of one of `scale`'s types, else NaN."""
    kind = docs["voucher_type"]
    return (docs["amount"].astype("float64") * kind.map(scale)).where(recent & kind.isin(list(scale)))


def features_of(rows: pd.DataFrame) -> pd.DataFrame:
    """One business's vouchers, each paired with an `as_of_date`, -> its gold.feat_voucher rows (without
    computed_at): what each snapshot may see, those submitted by it that had arrived by it. The vouchers are
    silver.vouchers rows with `amount` in the reporting currency (`in_reporting`). Pandas, so that the night
    (`applyInPandas`) and one business on demand compute the same."""
    seen = rows[(rows["submitted_date"] <= rows["as_of_date"]) & (rows["arrived_date"] <= rows["as_of_date"])]
    types = load_taxonomy()["types"]
    out = []
    for (entity_id, as_of), docs in seen.groupby(["entity_id", "as_of_date"], sort=True):
        age = docs["as_of_date"].map(dt.date.toordinal) - docs["submitted_date"].map(dt.date.toordinal)
        verified, suspicious = docs["status"] == VERIFIED, docs["status"] == SUSPICIOUS
        recent = verified & (age < DECLARED_DAYS)
        rents = [r for t, f in RENT_PER_MONTH.items() if (r := mean(declared(docs, recent, {t: f}))) is not None]
        licences = docs[verified & (docs["voucher_type"] == "business_licence")]
        latest = licences.sort_values(["submitted_date", "voucher_id"]).tail(1)
        registered = registered_date(latest["fields"].iloc[0]) if len(latest) else None
        readable = verified.sum() + suspicious.sum()
        out.append(
            {
                "entity_id": entity_id,
                "as_of_date": as_of,
                **{f"verified_{t}": float((verified & (docs["voucher_type"] == t)).sum()) for t in types},
                "documents": float(len(docs)),
                "suspicious_documents": float(suspicious.sum()),
                "unreadable_documents": float((docs["status"] == UNREADABLE).sum()),
                "days_since_last_document": float(age.min()),
                "declared_monthly_rent": sum(rents) if rents else None,  # per lease kind, added over kinds
                "declared_monthly_payroll": mean(declared(docs, recent, {"payroll": 1.0})),
                "declared_monthly_revenue": mean(declared(docs, recent, REVENUE_PER_MONTH)),
                "consistency_score": float(verified.sum() / readable) if readable else None,
                "licence_age_days": float((as_of - registered).days) if registered else None,
            }
        )
    return pd.DataFrame(out, columns=FEATURE_COLUMNS)


def in_reporting(vouchers: DataFrame, rates: DataFrame, reporting: str) -> DataFrame:
    """silver.vouchers rows with `amount` in the reporting currency, at the rate of the issue date (else of the
    submission date); null where the document's currency has no rate."""
    dated = vouchers.withColumns(
        {"currency": F.coalesce("currency", F.lit(reporting)), "_day": F.coalesce("issue_date", "submitted_date")}
    )
    rated = with_fx_rate(dated, rates, reporting, "_day")
    return rated.withColumn("amount", F.col("amount") * F.col("fx_rate").cast("double")).drop("_day", "fx_rate")


def voucher_features(vouchers: DataFrame, snapshots: DataFrame) -> DataFrame:
    """silver.vouchers rows (`amount` in the reporting currency) x snapshots (`jobs.snapshots`) -> gold.feat_voucher
    rows: `features_of` on each business's vouchers."""
    columns = ["voucher_id", "entity_id", "voucher_type", "status", "submitted_date", "arrived_date", "fields"]
    paired = pair(vouchers.select(*columns, F.col("amount").cast("double")), snapshots, F.lit(True))
    schema = contract("gold.feat_voucher").struct_type()
    computed = type(schema)([f for f in schema.fields if f.name != "computed_at"])
    return (
        paired.groupBy("entity_id")
        .applyInPandas(features_of, computed)
        .withColumn("computed_at", F.current_timestamp())
    )


def snapshots(spark, settings: Settings, wanted: DataFrame) -> int:
    """Compute and write the `wanted` snapshots (`jobs.snapshots`); returns rows written."""
    reporting = settings.reporting_currency
    rates = daily_rates(tables.read(spark, settings, "silver.fx_rates"), reporting, settings.fx_max_age_days)
    vouchers = in_reporting(tables.read(spark, settings, "silver.vouchers"), rates, reporting)
    return write(spark, settings, "gold.feat_voucher", voucher_features(vouchers, wanted), wanted)


def run(spark, settings: Settings, as_of: dt.date) -> int:
    """The night's snapshot: every business as of `as_of`."""
    return snapshots(spark, settings, of_dates(spark, [as_of]))

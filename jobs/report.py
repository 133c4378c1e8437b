"""The run summary: what tonight's limits look like, the model behind them, what the gates let through and what each
feature producer cost."""

from __future__ import annotations

import datetime as dt

from jobs.errors import ModelError
from jobs.settings import load_settings

QUANTILES = (0.1, 0.25, 0.5, 0.75, 0.9)
PD_SPREAD = (0.1, 0.9)  # the PDs of a segment, from its 10th to its 90th percentile


def summary(as_of: dt.date) -> dict:
    """Figures of the limits as of `as_of`, read from the gold and silver tables."""
    from pyspark.sql import functions as F

    from jobs import registry, tables
    from jobs.model import pd_model
    from jobs.spark_session import get_spark

    settings = load_settings()
    spark = get_spark(settings)
    limits = tables.read(spark, settings, "gold.preapproved_limits").where(F.col("as_of_date") == F.lit(as_of))
    approved = F.col("decision") == "approved"
    by_segment = limits.groupBy("segment").agg(
        F.count("*").alias("scored"),
        F.avg(approved.cast("double")).alias("approval_share"),
        F.avg("pd").alias("mean_pd"),
        F.percentile_approx("pd", list(PD_SPREAD)).alias("pd_spread"),
        F.count_distinct("pd").alias("distinct_pds"),
        F.percentile_approx(F.when(approved, F.col("limit_amount").cast("double")), 0.5).alias("median_limit"),
    )
    totals = limits.agg(
        F.count("*").alias("scored"),
        F.sum(approved.cast("int")).alias("approved"),
        F.sum("limit_amount").cast("double").alias("exposure"),
        F.percentile_approx(F.when(approved, F.col("limit_amount").cast("double")), list(QUANTILES)).alias("q"),
        F.first("model_version").alias("model_version"),
        F.array_sort(F.collect_set("currency")).alias("currencies"),
    ).first()
    if not totals["scored"]:
        raise ModelError(f"no limits as of {as_of}: run `helicopter score --as-of {as_of}`")
    model = pd_model.summary(registry.version(spark, settings, pd_model.REGISTRY, totals["model_version"]))
    reasons = (
        limits.select(F.explode("reason_codes").alias("reason"))
        .groupBy("reason")
        .count()
        .orderBy(F.col("count").desc())
        .limit(5)
        .collect()
    )
    batches = tables.read(spark, settings, "silver.ingest_batches")
    latest = batches.groupBy("source").agg(F.max("ingested_at").alias("ingested_at"))
    gates = batches.join(latest, ["source", "ingested_at"]).orderBy("source").collect()
    costs = tables.read(spark, settings, "silver.feature_runs").where(F.col("as_of_date") == F.lit(as_of))
    return {
        "as_of": as_of.isoformat(),
        "scored": totals["scored"],
        "approved": totals["approved"],
        "exposure": totals["exposure"] or 0.0,
        "currency": ", ".join(totals["currencies"]),  # the limits' own (REPORTING_CURRENCY when they were scored)
        "limit_quantiles": dict(zip(QUANTILES, totals["q"] or [], strict=False)),
        "segments": [r.asDict() for r in by_segment.orderBy("segment").collect()],
        "model": model,
        "top_reasons": [(r["reason"], r["count"]) for r in reasons],
        "last_batches": [r.asDict() for r in gates],
        "feature_runs": [r.asDict() for r in costs.orderBy("started_at").collect()],
    }


def render(s: dict, result: dict | None = None) -> str:
    """The summary as text for the terminal."""
    share = s["approved"] / s["scored"]
    lines = [
        f"Pre-approved limits as of {s['as_of']}",
        f"  entities scored   {s['scored']:,}",
        f"  approved          {s['approved']:,} ({share:.1%})",
        f"  total exposure    {s['exposure']:,.0f} {s['currency']}",
        "  approved limits   "
        + (", ".join(f"p{int(q * 100)} {v:,.0f}" for q, v in s["limit_quantiles"].items()) or "none"),
        "  by segment",
    ]
    alike = []
    for seg in s["segments"]:
        median = f"{seg['median_limit']:,.0f}" if seg["median_limit"] is not None else "-"
        low, high = seg["pd_spread"]
        lines.append(
            f"    {seg['segment']:<18} {seg['scored']:>7,} scored, {seg['approval_share']:.1%} approved, "
            f"mean PD {seg['mean_pd']:.2%} (p10 {low:.2%} to p90 {high:.2%}), median limit {median}"
        )
        if seg["distinct_pds"] == 1 and seg["scored"] > 1:
            alike.append(seg["segment"])
    if alike:
        lines.append(
            f"  one PD for every  {', '.join(alike)}: the model does not tell these businesses apart, so their "
            "limits differ by capacity alone"
        )
    m = s["model"]
    auc = f"AUC {m['auc']:.3f}" if m.get("auc") is not None else "no AUC"
    if m.get("auc_95"):
        auc += " (95% {:.3f} to {:.3f})".format(*m["auc_95"])
    lines.append(
        f"  model             {m['model_version']}: {auc} on its {m['judged_on']}; "
        f"{m['fit_rows']:,} loans fitted, {m['stop_rows']:,} stopped and calibrated, {m['test_rows']:,} tested"
    )
    lines.append("  top reasons       " + ", ".join(f"{r} ({n:,})" for r, n in s["top_reasons"]))
    lines.append(
        "  last ingest       "
        + "; ".join(
            f"{b['source']}: {b['bronze_rows']:,} rows -> {b['accepted']:,} accepted, {b['duplicates']:,} duplicates, "
            f"{b['quarantined']:,} quarantined, {b['rejected_files']:,} files rejected whole"
            for b in s["last_batches"]
        )
    )
    runs = s.get("feature_runs") or []
    if runs:
        lines.append(f"  features          {len(runs)} producers in {sum(r['seconds'] for r in runs):,.1f} s")
        lines += [f"    {', '.join(r['tables']):<60} {r['seconds']:7.1f} s, {r['rows']:,} rows" for r in runs]
    if result and result.get("publish"):
        p = result["publish"]
        lines.append(f"  published         {p['rows']:,} limits to the serving store (checksum {p['checksum'][:12]})")
    if result and result.get("night_report"):
        lines.append(f"  report            {result['night_report']}")
    return "\n".join(lines)

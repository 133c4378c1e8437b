"""The night report: one self-contained HTML file (plots embedded) that tells a risk analyst and the operator whether
tonight's limits can be trusted. Written to `$LAKEHOUSE_ROOT/reports/night-<as_of>.html` by `helicopter report` and
by the nightly DAG.

Sections: limits and exposure; score and limit distributions by segment; drift of the score and the model's most
important features against the previous night (PSI); the model's validation on its out-of-time test (ROC, KS,
calibration with intervals, ECE; labelled in-sample for a model whose history held no test); the night's
data quality; coverage by data family.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
import re
from functools import reduce
from pathlib import Path

import numpy as np
import pandas as pd

from jobs.catalog import contract, ingest_sources
from jobs.errors import ModelError
from jobs.model.metrics import PSI_ALERT, PSI_WATCH, psi
from jobs.registry import RegisteredModel
from jobs.settings import Settings

FEATURE_VECTOR = "gold.feature_vector"
FAMILIES = contract(FEATURE_VECTOR).extra["families"]  # data family -> feature table
SECTIONS = (
    "Limits and exposure",
    "Distributions by segment",
    "Drift against the previous night",
    "Model validation",
    "Data quality",
    "Coverage by data family",
)


def drift(now: pd.DataFrame, before: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """PSI of each column tonight against the previous night, with its band."""
    rows = []
    for c in columns:
        value = psi(before[c].to_numpy(dtype=float), now[c].to_numpy(dtype=float))
        band = "n/a" if np.isnan(value) else "alert" if value > PSI_ALERT else "watch" if value > PSI_WATCH else "ok"
        rows.append({"column": c, "psi": round(value, 4), "band": band})
    return pd.DataFrame(rows)


def _png(fig) -> str:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return f'<img alt="plot" src="data:image/png;base64,{base64.b64encode(buffer.getvalue()).decode()}">'


def distribution_plots(limits: pd.DataFrame) -> str:
    """A row per segment, on bins shared by every row: its PDs (from 0), and its approved limits (log scale). A
    segment whose businesses all get one PD says so in its title."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    segments = sorted(limits["segment"].unique())
    pd_bins = np.linspace(0, max(float(limits["pd"].max()), 1e-6) * 1.02, 41)
    approved = limits.loc[limits["decision"] == "approved", "limit_amount"].astype(float)
    low, high = (approved.min(), approved.max()) if len(approved) else (1.0, 10.0)
    limit_bins = np.geomspace(max(low, 1.0), max(high, low * 1.01, 10.0), 31)
    fig, axes = plt.subplots(len(segments), 2, figsize=(11, 1.9 * len(segments)), squeeze=False)
    for (left, right), segment in zip(axes, segments, strict=True):
        group = limits[limits["segment"] == segment]
        told = "one PD for all" if group["pd"].nunique() == 1 else f"PD spread (sd) {group['pd'].std(ddof=0):.4f}"
        left.hist(group["pd"], bins=pd_bins)
        left.set_title(f"{segment}: {len(group):,} scored, {told}", fontsize=9)
        right.hist(group.loc[group["decision"] == "approved", "limit_amount"].astype(float), bins=limit_bins)
        right.set_xscale("log")
        right.set_title(f"{segment}: approved limits", fontsize=9)
    axes[-1][0].set_xlabel("PD")
    axes[-1][1].set_xlabel(f"limit ({', '.join(sorted(limits['currency'].unique()))}, log scale)")
    fig.tight_layout()
    return _png(fig)


def validation_plots(validation: pd.DataFrame, table: pd.DataFrame) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import roc_curve

    fig, (roc, cal) = plt.subplots(1, 2, figsize=(11, 3.6))
    fpr, tpr, _ = roc_curve(validation["bad"], validation["pd"])
    roc.plot(fpr, tpr), roc.plot([0, 1], [0, 1], linestyle=":")
    roc.set(title="ROC on the loans the model is judged on", xlabel="false positive rate", ylabel="true positive rate")
    top = max(table["mean_pd"].max(), table["bad_rate"].max(), table["high"].max())
    cal.plot(table["mean_pd"], table["bad_rate"], marker="o", label="observed")
    cal.fill_between(table["mean_pd"], table["low"], table["high"], alpha=0.25, label="95% interval the PDs predict")
    cal.plot([0, top], [0, top], linestyle=":"), cal.legend()
    cal.set(title="Calibration by decile", xlabel="mean predicted PD", ylabel="observed bad rate")
    return _png(fig)


def validation_section(model: RegisteredModel, judged: pd.DataFrame | None) -> str:
    """The plots of the loans the model is judged on (`judged`, scored again; None: they could not be read back),
    then the model's card: its figures as registered, on its out-of-time test or labelled in-sample."""
    from markdown_it import MarkdownIt

    from jobs.model import model_card, pd_model

    m = model.metrics[model_card.judged_part(model.metrics)]
    plots = validation_plots(judged, pd.DataFrame(m["calibration"])) if judged is not None and m["auc"] else ""
    card = re.sub(r"^(#+) ", r"##\1 ", model_card.render(model, pd_model.model_spec(model)), flags=re.M)  # under h2
    return plots + MarkdownIt("commonmark", {"html": False}).enable("table").render(card)


def _table(frame: pd.DataFrame) -> str:
    return frame.to_html(index=False, border=0, float_format=lambda v: f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.4g}")


def render(data: dict) -> str:
    """The report's HTML from the night's figures (see `gather`)."""
    limits, as_of = data["limits"], data["as_of"]
    approved = limits["decision"] == "approved"
    by_segment = (
        limits.assign(approved=approved, exposure=limits["limit_amount"].astype(float))
        .groupby("segment", as_index=False)
        .agg(
            scored=("entity_id", "size"),
            approval_rate=("approved", "mean"),
            mean_pd=("pd", "mean"),
            pd_sd=("pd", lambda p: p.std(ddof=0)),
            distinct_pds=("pd", "nunique"),
            exposure=("exposure", "sum"),
        )
    )
    alike = by_segment.loc[(by_segment["distinct_pds"] == 1) & (by_segment["scored"] > 1), "segment"].tolist()
    one_pd = (
        f"<p><b>One PD for every business of {html.escape(', '.join(alike))}</b>: the model does not tell them "
        "apart, so their limits differ by capacity alone.</p>"
        if alike
        else ""
    )
    parts = {
        SECTIONS[0]: f"<p>{len(limits):,} entities scored, {approved.mean():.1%} approved, total exposure "
        f"{limits['limit_amount'].astype(float).sum():,.0f} {html.escape(str(limits['currency'].iloc[0]))}; model "
        f"<code>{html.escape(data['model'].model_version)}</code>, policy "
        f"<code>{html.escape(str(limits['policy_version'].iloc[0]))}</code>.</p>" + one_pd + _table(by_segment),
        SECTIONS[1]: distribution_plots(limits),
    }
    if data["previous"] is None:
        parts[SECTIONS[2]] = "<p>No previous night to compare with.</p>"
    else:
        parts[SECTIONS[2]] = (
            f"<p>Against {data['previous']}; PSI above {PSI_WATCH} is watched, above {PSI_ALERT} an alert.</p>"
            + _table(data["drift"])
        )
    parts[SECTIONS[3]] = validation_section(data["model"], data["validation"])
    parts[SECTIONS[4]] = _table(data["batches"]) + "<h3>Quarantine reasons</h3>" + _table(data["reasons"])
    parts[SECTIONS[5]] = _table(data["coverage"])
    body = "".join(f"<section><h2>{html.escape(t)}</h2>{parts[t]}</section>" for t in SECTIONS)
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>Helicopter night report {as_of}</title><style>"
        "body{font-family:sans-serif;margin:2em;max-width:1100px}table{border-collapse:collapse;margin:.5em 0}"
        "td,th{padding:2px 10px;text-align:right}th{background:#eee}h2{border-bottom:1px solid #ccc}"
        f"</style></head><body><h1>Pre-approved limits as of {as_of}</h1>{body}"
        f"<p><small>Generated {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC.</small></p></body></html>"
    )


def gather(spark, settings: Settings, as_of: dt.date) -> dict:
    """Read the night's figures from the lakehouse (small frames: one row per entity at most)."""
    from pyspark.sql import DataFrame
    from pyspark.sql import functions as F

    from jobs import registry, tables
    from jobs.model import pd_model

    all_limits = tables.read(spark, settings, "gold.preapproved_limits")
    limits = all_limits.where(F.col("as_of_date") == F.lit(as_of)).toPandas()
    if limits.empty:
        raise ModelError(f"no limits as of {as_of}: run `helicopter score --as-of {as_of}`")
    model = registry.version(spark, settings, pd_model.REGISTRY, limits["model_version"].iloc[0])
    previous = all_limits.where(F.col("as_of_date") < F.lit(as_of)).agg(F.max("as_of_date")).first()[0]
    data = {"as_of": as_of, "limits": limits, "model": model, "previous": previous, "drift": None}
    if previous is not None:
        features = tables.read(spark, settings, FEATURE_VECTOR)
        top = top_features(model, 5)
        nights = [
            all_limits.where(F.col("as_of_date") == F.lit(d))
            .select("entity_id", "pd")
            .join(features.where(F.col("as_of_date") == F.lit(d)).select("entity_id", *top), "entity_id", "left")
            .toPandas()
            for d in (as_of, previous)
        ]
        data["drift"] = drift(nights[0], nights[1], ["pd", *top])
    try:
        data["validation"] = pd_model.judged_predictions(spark, settings, model)
    except ModelError:
        data["validation"] = None
    batches = tables.read(spark, settings, "silver.ingest_batches")
    scored_at = limits["scored_at"].max().to_pydatetime()
    night = batches.where(  # the ingest runs of the 24 hours before these limits were scored
        (F.col("ingested_at") <= F.lit(scored_at)) & (F.col("ingested_at") >= F.lit(scored_at - dt.timedelta(days=1)))
    )
    data["batches"] = night.orderBy("ingested_at", "source").toPandas()
    run_ids = [r.run_id for r in night.select("run_id").distinct().collect()]
    reasons = [
        tables.read(spark, settings, f"quarantine.{source}")
        .where(F.col("run_id").isin(run_ids))
        .groupBy(F.lit(source).alias("source"), "reason")
        .count()
        for source in ingest_sources()
    ]
    data["reasons"] = reduce(DataFrame.unionByName, reasons).orderBy(F.desc("count"), "source", "reason").toPandas()
    data["coverage"] = pd.DataFrame(
        [
            {
                "family": family,
                "table": fqn,
                "entities_informed": tables.read(spark, settings, fqn)
                .where(F.col("as_of_date") == F.lit(as_of))
                .select("entity_id")
                .distinct()
                .count(),
                "entities_scored": len(limits),
            }
            for family, fqn in FAMILIES.items()
        ]
    )
    return data


def top_features(model: RegisteredModel, n: int) -> list[str]:
    """The model's `n` most important features (total gain), the ones whose drift matters most."""
    import xgboost as xgb

    booster = xgb.Booster()
    booster.load_model(model.artifact_path)
    gain = booster.get_score(importance_type="total_gain")
    return sorted(gain, key=gain.get, reverse=True)[:n]


def write(spark, settings: Settings, as_of: dt.date) -> Path:
    """Gather, render and write the night's report; returns its path."""
    path = Path(settings.lakehouse_root) / "reports" / f"night-{as_of.isoformat()}.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(gather(spark, settings, as_of)), encoding="utf-8")
    return path

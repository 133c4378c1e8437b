"""`python -m evaluation.model`: the PD model on simulated worlds, against the ceiling each world allows.

For each seed (by default two used in development and one drawn from the run's date, never used before), a world of
ENTITIES businesses over DAYS days is simulated (realism v2 unless `--realism plain`), ingested (BATCH_DAYS landing
days per batch), and the PD model trained as of its last day (`pipeline.train`: the labelled loans, their
point-in-time feature vectors, XGBoost, the registry). Then, on the loans the pipeline judges the model on (its
out-of-time test; in-sample loans, labelled so, when the world is too short for one):

- AUC of the model against the oracle: the AUC of the simulator's true PDs on the same loans' drawn outcomes;
- the bank's classic baseline on the same loans: a logistic scorecard on weight-of-evidence bins
  (`evaluation.scorecard`), learning from the loans the model was fitted and calibrated on;
- each family's best single feature alone: its AUC on the same loans;
- calibration by decile of predicted PD: mean PD against the realised default rate;
- an ablation by data family: the same training on the transaction features alone, then adding the graph, the farm
  and the voucher features, with the AUC of each segment, on those loans and cross-fitted over every
  matured loan (FOLDS folds of businesses: a segment's few defaults in one window cannot tell its lift);
- segments handled by features (one model, the family indicators telling segments apart) against one model per
  segment, cross-fitted the same way;
- about the most the features can tell: trees fitted to the true PDs themselves, cross-fitted, scored on the outcomes;
- which features carry the signal: each segment's features ranked by their rank correlation with the businesses'
  latent quality (the simulator's truth);
- scoring with reason codes: tonight's scoring frame repeated to SCORED entities (new ids), through
  `score.limits` (PD, reason codes, limit policy), written to a Delta table; median of the repeats (first seed only).

Across the seeds: the share of the oracle per seed, its mean and spread. Writes bench/results/model.{json,md}.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import MEASURED, RESULTS, machine, machine_line, record, timed
from simulator.population import REALISMS

ENTITIES = 20_000
# an out-of-time test (`pd_model.time_parts`) needs the test (the latest quarter of the matured loans), the stop and
# the fit parts an outcome horizon (365 days) apart, with at least as many fit loans as stop loans. At 1,900 days
# (49 matured months) seed 7's fit part held 79 loans fewer than its stop part and the split fell back to two parts;
# 2,000 days leave about a month's loans to spare
DAYS = 2_000
DEVELOPMENT_SEEDS = (7, 8)
# The loans that mature in a world are those disbursed in its first DAYS - 365 days. Starting in June, the first are
# the month ends of July to September, which judge the season growing in the scenes (parcel_season.JUDGED_FROM_MONTH):
# a world starting in January would give its first farmers' loans no season to be judged on.
START = dt.date(2024, 6, 1)
BATCH_DAYS = 183  # the history loads as a backfill would, half a year of landing days per batch, each reconciled
SCORED = 100_000
FOLDS = 5
SIGNAL_TOP = 6  # features listed per segment in the signal table
CEILING_PARAMS = {"max_depth": 4, "eta": 0.05, "subsample": 0.8, "seed": 7, "nthread": 2}  # trees fitted to the truth
CEILING_ROUNDS = 600
ENOUGH_DEFAULTS = 20  # a decile is judged on calibration from this many realised defaults
# from this many defaults, chance alone moves a decile's default rate by less than 10 % (the 95 % interval's
# half-width, about 1.96 / sqrt(defaults) of the rate): a 10 % gap tells the model, not the draw
TELLING_DEFAULTS = 385
WORLDS = RESULTS / "model_worlds"  # one file per seed's world
SCORECARD_JUDGED_FROM = 100  # a segment is judged against the scorecard from this many judged defaults
FAMILIES = ("transactions", "trade", "farm", "vouchers")  # the ablation adds them in this order
FAMILY_SOURCES = {
    "transactions": ("transactions",),
    "trade": ("trade",),
    "farm": ("parcels", "tiles"),
    "vouchers": ("vouchers",),
}


def family_specs(without: list[str]) -> dict[str, object]:
    """Feature specs of the ablation: transactions alone, then + graph, + farm, + vouchers (everything), leaving out
    a family whose landing source was left out."""
    from jobs.model import pd_model

    full = pd_model.feature_spec()
    family_features = features_by_family()
    own = set(full.names).difference(*family_features.values())  # days_registered, the has_<family> indicators
    kept = [f for f in FAMILIES if not set(FAMILY_SOURCES[f]) & set(without)]
    specs = {}
    for n in range(1, len(kept) + 1):
        families = kept[:n]
        indicators = {f"has_{f}" for f in family_features if f not in families}  # of the families left out
        names = (own - indicators).union(*(family_features[f] for f in families))
        keep = [i for i, name in enumerate(full.names) if name in names]
        specs[" + ".join(families)] = pd_model.FeatureSpec(
            [full.names[i] for i in keep], [full.monotone[i] for i in keep], full.reason_codes, full.absent_codes
        )
    return specs


def features_by_family() -> dict[str, set[str]]:
    """Each feature family's features, from the feature contracts."""
    from jobs.catalog import contract
    from jobs.model import pd_model

    families = contract(pd_model.FEATURE_TABLE).extra["families"]
    return {f: {c.name for c in contract(t).features} for f, t in families.items()}


def best_single_features(judged, names: list[str]) -> dict[str, dict]:
    """Per family, its feature that alone ranks the judged loans' outcomes best (AUC whatever its direction, over
    the loans where it is known)."""
    from sklearn.metrics import roc_auc_score

    best = {}
    for family, features in features_by_family().items():
        aucs = {}
        for name in sorted(features & set(names)):
            known = judged[name].notna()
            if judged.loc[known, "bad"].nunique() == 2 and judged.loc[known, name].nunique() > 1:
                auc = float(roc_auc_score(judged.loc[known, "bad"], judged.loc[known, name]))
                aucs[name] = max(auc, 1.0 - auc)
        if aucs:
            top = max(aucs, key=aucs.get)
            best[family] = {"feature": top, "auc": aucs[top]}
    return best


def against_scorecard(frame, parts, judged, spec) -> dict:
    """The scorecard learning from the loans the model was fitted and calibrated on, judged on the same loans as the
    model: AUC over all and per segment, with each segment's judged defaults."""
    from sklearn.metrics import roc_auc_score

    from evaluation import scorecard
    from jobs.model import pd_model

    learned = frame[parts.isin([pd_model.FIT, pd_model.STOP])]
    card = scorecard.fit(learned, spec.names, learned["bad"])
    pd_ = scorecard.predict(card, judged)
    result = {"auc": float(roc_auc_score(judged["bad"], pd_)), "features": len(card.edges), "segments": {}}
    for segment, rows in judged.assign(scorecard_pd=pd_).groupby("segment"):
        if rows["bad"].nunique() == 2:
            result["segments"][segment] = {
                "auc": float(roc_auc_score(rows["bad"], rows["scorecard_pd"])),
                "defaults": int(rows["bad"].sum()),
            }
    return result


def with_gaps(calibration: list[dict]) -> list[dict]:
    """Calibration rows by decile (loans, mean_pd, bad_rate) with their defaults, the relative gap of the mean PD to
    the default rate, and the 95 % (Wilson) interval of the default rate: how far chance alone moves it."""
    from scipy.stats import binomtest

    rows = []
    for d in calibration:
        defaults = round(d["bad_rate"] * d["loans"])
        interval = binomtest(defaults, d["loans"]).proportion_ci(method="wilson")
        gap = d["mean_pd"] / d["bad_rate"] - 1 if d["bad_rate"] else None
        rows.append({**d, "defaults": defaults, "gap": gap, "rate_low": interval.low, "rate_high": interval.high})
    return rows


def deciles(bad, pd_) -> list[dict]:
    """Calibration by decile of the PDs `pd_` against the outcomes `bad`, with gaps and intervals (`with_gaps`)."""
    from jobs.model.metrics import calibration

    return with_gaps(calibration(bad, pd_).reset_index().to_dict("records"))


def against_oracle(frame, truth_pd, spec, baselines: bool = False) -> dict:
    """Train as the pipeline does; AUC and calibration on the loans the pipeline judges the model on (its out-of-time
    test, or in-sample loans when the world is too short for one, labelled so), beside the true PDs' AUC and
    calibration on the same loans; with `baselines`, the scorecard and each family's best single feature too."""
    from sklearn.metrics import roc_auc_score

    from jobs.model import pd_model

    _, metrics = pd_model.fit(frame, spec)
    part = pd_model.judged_part(metrics)
    parts = pd_model.time_parts(frame["obs_date"], frame["bad"])
    judged = frame[parts == part]
    true_pd = judged["entity_id"].map(truth_pd).to_numpy()
    oracle = float(roc_auc_score(judged["bad"], true_pd))
    return {
        "judged_on": pd_model.JUDGED_ON[part],
        "judged_loans": len(judged),
        "judged_defaults": int(judged["bad"].sum()),
        "auc": metrics[part]["auc"],
        "oracle_auc": oracle,
        "auc_share_of_oracle": metrics[part]["auc"] / oracle,
        "auc_95": metrics[part]["auc_95"],
        "ece_share_of_mean_pd": metrics[part]["ece_share_of_mean_pd"],
        "calibration": with_gaps(metrics[part]["calibration"]),
        "oracle_calibration": deciles(judged["bad"].to_numpy(), true_pd),
        "segments": {s: m["auc"] for s, m in metrics[part].get("segments", {}).items()},
        "best_iteration": metrics["best_iteration"],
    } | (
        {
            "scorecard": against_scorecard(frame, parts, judged, spec),
            "best_single_features": best_single_features(judged, spec.names),
        }
        if baselines
        else {}
    )


def scored_fold(learn, held_out, spec):
    """The pipeline's training (`pd_model.fit`: its own time split stops it early) on `learn`; PDs of `held_out`."""
    import xgboost as xgb

    from jobs.model import pd_model

    booster, _ = pd_model.fit(learn.reset_index(drop=True), spec)
    rows = xgb.DMatrix(held_out[spec.names], feature_names=spec.names)
    return pd_model.calibrated_pd(booster, rows, booster.best_iteration + 1)


def scored_fold_per_segment(learn, held_out, spec, pooled_for: set[str]):
    """One model per segment, each trained on its segment's rows of `learn` and scoring the segment in `held_out`. A
    segment whose rows cannot be split in time with both outcomes in each part is scored by the model of every segment
    (`learn` whole), and named in `pooled_for`."""
    import numpy as np

    from jobs.errors import ModelError

    predicted = np.zeros(len(held_out))
    for segment, rows in learn.groupby("segment"):
        mine = (held_out["segment"] == segment).to_numpy()
        try:
            predicted[mine] = scored_fold(rows, held_out[mine], spec)
        except ModelError:
            predicted[mine] = scored_fold(learn, held_out[mine], spec)
            pooled_for.add(segment)
    return predicted


def cross_fitted(frame, truth_pd, spec, score_fold=scored_fold) -> dict:
    """`score_fold` trained on FOLDS - 1 folds of businesses scores the fold left out; the pooled out-of-fold AUC of
    every matured loan, all and by segment, beside the oracle's on the same loans, each segment's defaults, and the
    calibration by decile."""
    import numpy as np
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import GroupKFold

    predicted = np.zeros(len(frame))
    for learn, held_out in GroupKFold(FOLDS).split(frame, groups=frame["entity_id"]):
        predicted[held_out] = score_fold(frame.iloc[learn], frame.iloc[held_out], spec)
    oracle = frame["entity_id"].map(truth_pd).to_numpy()
    segments = frame["segment"].to_numpy()
    slices = {"all": np.ones(len(frame), bool)} | {s: segments == s for s in sorted(set(segments))}
    bad = frame["bad"].to_numpy()
    return {"calibration": deciles(bad, predicted)} | {
        name: {
            "auc": float(roc_auc_score(bad[rows], predicted[rows])),
            "oracle_auc": float(roc_auc_score(bad[rows], oracle[rows])),
            "defaults": int(bad[rows].sum()),
        }
        for name, rows in slices.items()
    }


def fitted_to_truth(truth_pd):
    """A `score_fold` for `cross_fitted` that learns the true PDs themselves (trees fitted to their logit), not the
    drawn outcomes: scored on the outcomes, about the most the features can tell. An estimate, not a bound: a model
    learning from the outcomes should come near it."""

    def score_fold(learn, held_out, spec):
        import xgboost as xgb
        from scipy.special import expit, logit

        target = logit(learn["entity_id"].map(truth_pd).to_numpy())
        booster = xgb.train(CEILING_PARAMS, xgb.DMatrix(learn[spec.names], label=target), CEILING_ROUNDS)
        return expit(booster.predict(xgb.DMatrix(held_out[spec.names])))

    return score_fold


def feature_signal(frame, quality, spec) -> dict[str, list[tuple[str, float]]]:
    """Per segment, every feature of `spec` that varies there with its rank correlation (Spearman, over the loans where
    the feature is known) with the businesses' latent quality, strongest first."""
    q = frame["entity_id"].map(quality)
    signal = {}
    for segment, rows in frame.groupby("segment"):
        varying = [name for name in spec.names if rows[name].nunique() > 1]
        rho = rows[varying].corrwith(q[rows.index], method="spearman")
        signal[segment] = [(name, float(rho[name])) for name in rho.abs().sort_values(ascending=False).index]
    return signal


def strongest(signal: list[tuple[str, float]]) -> list[tuple[str, float]]:
    """The SIGNAL_TOP strongest of a segment's features, one window of each (its best)."""
    seen, top = set(), []
    for name, rho in signal:
        if (stem := re.sub(r"_\d+d$", "", name)) not in seen:
            seen.add(stem)
            top.append((name, rho))
    return top[:SIGNAL_TOP]


def scoring(spark, settings, as_of: dt.date, repeats: int) -> dict:
    """`score.limits` on tonight's scoring frame repeated to SCORED rows, written to a Delta table."""
    from pyspark.sql import functions as F

    from jobs import tables
    from jobs.model import pd_model, score

    vectors = tables.read(spark, settings, pd_model.FEATURE_TABLE)
    frame = score.scoring_frame(vectors, tables.read(spark, settings, "silver.loan_events"), as_of)
    copies = -(-SCORED // frame.count())
    frame = (
        frame.crossJoin(spark.range(copies).withColumnRenamed("id", "copy"))
        .withColumn("entity_id", F.concat_ws("-", "entity_id", F.col("copy").cast("string")))
        .drop("copy")
        .limit(SCORED)
        .persist()
    )
    rows = frame.count()
    model = pd_model.current_model(spark, settings, as_of)
    out = str(Path(settings.lakehouse_root) / "bench_scored")

    def run():
        score.limits(frame, model, pd_model.model_spec(model), as_of).write.format("delta").mode("overwrite").save(out)

    seconds, _ = timed(run, repeats)
    written = spark.read.format("delta").load(out)
    with_reasons = written.where(F.size("reason_codes") > 0).count()
    return {"rows": rows, "seconds": seconds, "rows_per_second": rows / seconds, "with_reason_codes": with_reasons}


def fresh_seed(day: dt.date) -> int:
    """A seed never used in development: the run's date as a number (20261204)."""
    return int(day.strftime("%Y%m%d"))


def run(
    entities: int,
    days: int,
    repeats: int,
    without: list[str],
    resume: Path | None = None,
    first_day: dt.date = START,
    seed: int = DEVELOPMENT_SEEDS[0],
    realism: str = "v2",
    with_scoring: bool = True,
    batch_days: int = BATCH_DAYS,
) -> dict:
    """Simulate (unless `resume` names the folder of an earlier run, whose world and lakehouse are reused: sources
    already loaded load nothing again), ingest every landing source but those `without`, train, measure."""
    work = resume or Path(tempfile.mkdtemp(prefix=f"helicopter-bench-model-{seed}-"))
    os.environ["LAKEHOUSE_ROOT"] = str(work / "lakehouse")
    import pyarrow.parquet as pq

    from jobs import pipeline
    from jobs.errors import BatchRefused
    from jobs.ingest.sources import SOURCES
    from jobs.model import pd_model
    from jobs.settings import load_settings
    from jobs.spark_session import get_spark
    from simulator.world import WorldSpec, simulate

    stages = {}
    spec = WorldSpec(entities, days, first_day, seed=seed, bad_rate=0.002, realism=REALISMS[realism])
    if resume is None:
        start = time.perf_counter()
        simulate(spec, work / "world")
        stages["simulate"] = time.perf_counter() - start
    as_of = spec.start + dt.timedelta(days=days - 1)
    batch_ends = [spec.start + dt.timedelta(days=d - 1) for d in range(batch_days, days, batch_days)] + [None]
    refused = []  # a batch of deliberately broken files only is refused whole (INGEST_MAX_QUARANTINED_SHARE)
    for source in [s for s in SOURCES if s not in without]:
        start = time.perf_counter()
        for through in batch_ends:
            try:
                pipeline.ingest(str(work / "world" / "landing"), [source], through=through)
            except BatchRefused as e:
                refused.append(str(e))
        stages[f"ingest {source}"] = time.perf_counter() - start
    for name, fn in (
        ("features", lambda: pipeline.features(as_of)),
        ("train", lambda: pipeline.train(as_of)),
    ):
        start = time.perf_counter()
        fn()
        stages[name] = time.perf_counter() - start
    settings = load_settings()  # LAKEHOUSE_ROOT is this seed's: settings are read afresh
    spark = get_spark(settings)
    truth = pq.read_table(work / "world" / "truth" / "entities.parquet", columns=["entity_id", "true_pd", "quality"])
    truth = truth.to_pandas().set_index("entity_id")
    truth_pd = truth["true_pd"]
    full = pd_model.feature_spec()
    frame = pd_model.training_frame(pd_model.training_rows(spark, settings, as_of), as_of, full)
    specs = family_specs(without)
    full_spec = list(specs)[-1]  # the model the study reports: only it is set beside the baselines
    ablation = {name: against_oracle(frame, truth_pd, spec, name == full_spec) for name, spec in specs.items()}
    crossed = {name: cross_fitted(frame, truth_pd, spec) for name, spec in specs.items()}
    pooled_for: set[str] = set()
    per_segment = cross_fitted(
        frame, truth_pd, list(specs.values())[-1], lambda *fold: scored_fold_per_segment(*fold, pooled_for)
    )
    per_segment["pooled_for"] = sorted(pooled_for)
    return {
        "seed": seed,
        "realism": realism,
        "entities": entities,
        "days": days,
        "batch_days": batch_days,
        "start": first_day.isoformat(),
        "resumed": resume is not None,
        "without": without,
        "loans": len(frame),
        "defaults": int(frame["bad"].sum()),
        "stages_seconds": stages,
        "refused_batches": refused,
        "model": list(ablation.values())[-1],
        "ablation": {name: {k: r[k] for k in ("auc", "oracle_auc", "segments")} for name, r in ablation.items()},
        "ablation_cross_fitted": crossed,
        "model_per_segment_cross_fitted": per_segment,
        "signal": feature_signal(frame, truth["quality"], full),
        "ceiling": cross_fitted(frame, truth_pd, list(specs.values())[-1], fitted_to_truth(truth_pd)),
        "scoring": scoring(spark, settings, as_of, repeats) if with_scoring else None,
    }


def calibration_verdict(deciles: list[dict]) -> str:
    judged = [d for d in deciles if d["defaults"] >= ENOUGH_DEFAULTS]
    if not judged:
        return f"no decile has {ENOUGH_DEFAULTS} defaults."
    within = sum(abs(d["gap"]) <= 0.10 for d in judged)
    chance = sum(d["rate_low"] <= d["mean_pd"] <= d["rate_high"] for d in judged)
    telling = [d for d in judged if d["defaults"] >= TELLING_DEFAULTS]
    return (
        f"of the {len(judged)} deciles with at least {ENOUGH_DEFAULTS} defaults, {within} within 10 % and {chance} "
        f"within the 95 % interval of their default rate; largest relative gap "
        f"{max(abs(d['gap']) for d in judged):.1%}. "
        + (
            f"Of the {len(telling)} with at least {TELLING_DEFAULTS} defaults (where chance alone stays within "
            f"10 %), {sum(abs(d['gap']) <= 0.10 for d in telling)} within 10 %."
            if telling
            else f"None has {TELLING_DEFAULTS} defaults, where chance alone would stay within 10 %."
        )
    )


def calibration_table(deciles: list[dict]) -> list[str]:
    lines = [
        "| decile | loans | defaults | mean PD | default rate (95 % interval) | relative gap |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for d in deciles:
        gap = f"{d['gap']:+.1%}" if d["gap"] is not None else "-"
        lines.append(
            f"| {d['decile']} | {d['loans']:,} | {d['defaults']} | {d['mean_pd']:.4f} | "
            f"{d['bad_rate']:.4f} ({d['rate_low']:.4f}-{d['rate_high']:.4f}) | {gap} |"
        )
    return lines


def markdown(result: dict) -> str:
    m = result["machine"]
    head = [
        "# The PD model against the oracle",
        "",
        f"{machine_line(m)}. Recorded {result['recorded']}.",
        "",
        *seeds_markdown(result),
        f"## The first world in detail (seed {result['seeds'][0]['seed']})",
        "",
    ]
    return "\n".join(head) + "\n" + world_markdown(result["seeds"][0] | {"repeats": result["repeats"]})


def world_markdown(r: dict) -> str:
    model = r["model"]
    crossed = r["ablation_cross_fitted"]
    last = list(crossed.values())[-1]
    lines = [
        f"A simulated world of {r['entities']:,} businesses over {r['days']} days from {r['start']} (realism "
        f"{r.get('realism', 'plain')}, seed {r.get('seed', 7)}, {r.get('batch_days', BATCH_DAYS)} landing days a batch)"
        + (f", its {', '.join(r['without'])} left out (that family is absent)" if r["without"] else "")
        + (
            " (resumed on an earlier run's world and lakehouse, so what it had loaded loaded nothing; "
            if r.get("resumed")
            else " ("
        )
        + "stages timed in this run: "
        + ", ".join(f"{k} {v:.0f} s" for k, v in r["stages_seconds"].items())
        + f"); {r['loans']:,} matured loans, {r['defaults']:,} defaults. Judged on its {model['judged_on']}: "
        f"{model['judged_loans']:,} loans, {model['judged_defaults']} defaults."
        + "".join(f" Refused at ingest, as it should be: {why}" for why in r.get("refused_batches", [])),
        "",
        f"- AUC {model['auc']:.4f}, oracle (true PDs on the same loans) {model['oracle_auc']:.4f}: "
        f"**{model['auc_share_of_oracle']:.3f} of the oracle**.",
        f"- Calibration on the same loans: {calibration_verdict(model['calibration'])}",
        "- The true PDs on the same loans, calibrated by construction (what chance alone does to a decile): "
        + calibration_verdict(model["oracle_calibration"]),
        "",
        *calibration_table(model["calibration"]),
        "",
        f"Cross-fitted over every matured loan (below): {calibration_verdict(last['calibration'])}",
        "",
        *calibration_table(last["calibration"]),
    ]
    segments = sorted(model["segments"])
    lines += [
        "",
        "## Ablation by data family (AUC on the judged loans, all and by segment)",
        "",
        "| features | all | " + " | ".join(segments) + " |",
        "|---|---:|" + "---:|" * len(segments),
    ]
    for name, a in r["ablation"].items():
        cells = [f"{a['segments'].get(s):.3f}" if a["segments"].get(s) is not None else "-" for s in segments]
        lines.append(f"| {name} | {a['auc']:.4f} | " + " | ".join(cells) + " |")
    lines += [
        "",
        f"Cross-fitted over all {r['loans']:,} matured loans ({FOLDS} folds of businesses, pooled out-of-fold AUC; "
        "the oracle and the defaults of each slice below the table):",
        "",
        "| features | all | " + " | ".join(segments) + " |",
        "|---|---:|" + "---:|" * len(segments),
    ]
    for name, a in crossed.items():
        lines.append(f"| {name} | " + " | ".join(f"{a[s]['auc']:.3f}" for s in ["all", *segments]) + " |")
    per_segment = r["model_per_segment_cross_fitted"]
    lines += [
        f"| {list(crossed)[-1]}, one model per segment | "
        + " | ".join(f"{per_segment[s]['auc']:.3f}" for s in ["all", *segments])
        + " |",
        "| oracle | " + " | ".join(f"{last[s]['oracle_auc']:.3f}" for s in ["all", *segments]) + " |",
        "| defaults | " + " | ".join(f"{last[s]['defaults']:,}" for s in ["all", *segments]) + " |",
    ]
    if pooled := per_segment.get("pooled_for"):
        lines += [
            "",
            f"One model per segment: in some folds, {', '.join(pooled)} had too few loans of one outcome for a model "
            "of its own, and was scored there by the model of every segment.",
        ]
    if ceiling := r.get("ceiling"):
        lines += [
            "",
            "About the most the features can tell (trees fitted to the true PDs, not to the outcomes, cross-fitted the "
            "same way):",
            "",
            "| | " + " | ".join(["all", *segments]) + " |",
            "|---|" + "---:|" * (len(segments) + 1),
            "| AUC | " + " | ".join(f"{ceiling[s]['auc']:.3f}" for s in ["all", *segments]) + " |",
            "| share of the oracle | "
            + " | ".join(f"{ceiling[s]['auc'] / ceiling[s]['oracle_auc']:.3f}" for s in ["all", *segments])
            + " |",
        ]
    lines += [
        "",
        "## Which features carry the signal",
        "",
        f"Per segment, the {SIGNAL_TOP} features with the largest rank correlation (Spearman, over the loans where the "
        "feature is known) with the businesses' latent quality, the best window of each (every feature in the JSON):",
        "",
        *(
            f"- {segment}: " + ", ".join(f"`{name}` {rho:+.2f}" for name, rho in strongest(signal))
            for segment, signal in r.get("signal", {}).items()
        ),
    ]
    s = r["scoring"]
    lines += (
        []
        if s is None
        else [
            "",
            "## Scoring with reason codes",
            "",
            f"{s['rows']:,} entities through `score.limits` (PD, reason codes, limit policy) into Delta: "
            f"{s['seconds']:.1f} s (median of {r['repeats']}), {s['rows_per_second']:,.0f} entities/s; "
            f"{s['with_reason_codes']:,} carry reason codes.",
        ]
    )
    return "\n".join(lines) + "\n"


def seeds_markdown(r: dict) -> list[str]:
    """The figures across seeds: each seed's share of the oracle, its calibration and the scorecard beside it."""
    worlds = r["seeds"]
    shares = [w["model"]["auc_share_of_oracle"] for w in worlds]
    lines = [
        "## Across seeds",
        "",
        f"{len(worlds)} world{'s' if len(worlds) > 1 else ''}, realism {r['realism']}; "
        + (
            f"seed {', '.join(fresh)} drawn from the date of its run, never used in development"
            if (fresh := [str(w["seed"]) for w in worlds if w.get("fresh")])
            else "no seed drawn from the date of its run among them: every seed was used in development"
        )
        + f" (development seeds: {', '.join(map(str, DEVELOPMENT_SEEDS))}). Each world's file in "
        "`bench/results/model_worlds/` names its commit and machine.",
        "",
        "| seed | commit | judged on | loans | defaults | AUC (95 % interval) | oracle | share of the oracle | "
        "ECE / mean PD | scorecard AUC |",
        "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for w in worlds:
        m = w["model"]
        low, high = m["auc_95"] or (float("nan"), float("nan"))
        ece = m["ece_share_of_mean_pd"]
        lines.append(
            f"| {w['seed']} | {w.get('commit', '?')[:7]} | {m['judged_on']} | {m['judged_loans']:,} | "
            f"{m['judged_defaults']:,} | "
            f"{m['auc']:.4f} ({low:.4f}-{high:.4f}) | {m['oracle_auc']:.4f} | {m['auc_share_of_oracle']:.3f} | "
            f"{'-' if ece is None else f'{ece:.1%}'} | {m['scorecard']['auc']:.4f} |"
        )
    lines += [
        "",
        f"**Share of the oracle: mean {statistics.mean(shares):.3f}**"
        + (f", standard deviation {statistics.stdev(shares):.3f}" if len(shares) > 1 else "")
        + f", from {min(shares):.3f} to {max(shares):.3f}.",
        "",
        "The scorecard learns from the loans the model was fitted and calibrated on. Where the model is judged on "
        "in-sample loans, the scorecard is too, and more so: its weights of evidence were computed from those very "
        "outcomes. Only an out-of-time test compares the two.",
        "",
        f"Against the scorecard, per segment with at least {SCORECARD_JUDGED_FROM} judged defaults (model AUC / "
        "scorecard AUC, defaults):",
        "",
    ]
    for w in worlds:
        m = w["model"]
        judged = {s: c for s, c in m["scorecard"]["segments"].items() if c["defaults"] >= SCORECARD_JUDGED_FROM}
        cells = [
            f"{s} {m['segments'].get(s, float('nan')):.3f} / {c['auc']:.3f} ({c['defaults']})"
            for s, c in judged.items()
        ]
        lines.append(f"- seed {w['seed']}: " + ("; ".join(cells) if cells else "no segment has enough defaults"))
    lines += ["", "Each family's best single feature alone, AUC on the judged loans:", ""]
    for w in worlds:
        best = w["model"]["best_single_features"]
        lines.append(
            f"- seed {w['seed']}: " + "; ".join(f"{f} `{b['feature']}` {b['auc']:.3f}" for f, b in sorted(best.items()))
        )
    return lines + [""]


def world_file(seed: int) -> Path:
    """Where one seed's world is recorded: worlds run apart (one a night, or on other machines) are assembled."""
    return WORLDS / f"seed-{seed}.json"


def one_seed(a, seed: int, with_scoring: bool) -> None:
    """One seed's run in a process of its own (one Spark session, one lakehouse per world), recorded in its file."""
    args = ["--entities", str(a.entities), "--days", str(a.days), "--repeats", str(a.repeats)]
    args += ["--batch-days", str(a.batch_days), "--start", a.start.isoformat(), "--realism", a.realism]
    args += ["--seeds", str(seed), "--world-out", str(world_file(seed))]
    args += ["--without", *a.without] if a.without else []
    args += ["--resume", str(a.resume)] if a.resume else []
    args += [] if with_scoring else ["--no-scoring"]
    subprocess.run([sys.executable, "-m", "evaluation.model", *args], check=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--entities", type=int, default=ENTITIES)
    p.add_argument("--days", type=int, default=DAYS)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--without", nargs="*", default=[], help="landing sources not to ingest (their family is absent)")
    p.add_argument("--resume", type=Path, help="the folder of an earlier run (one seed): reuse its world and lakehouse")
    p.add_argument("--start", type=dt.date.fromisoformat, default=START, help="the world's first day")
    p.add_argument("--realism", choices=sorted(REALISMS), default="v2")
    p.add_argument("--batch-days", type=int, default=BATCH_DAYS, help="landing days ingested per batch")
    p.add_argument(
        "--seeds",
        default=",".join(map(str, DEVELOPMENT_SEEDS)) + ",fresh",
        help="comma-separated; 'fresh' is the run's date as a number, a seed never used in development",
    )
    p.add_argument("--assemble", action="store_true", help="run nothing: record the seeds' worlds already recorded")
    p.add_argument("--world-out", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--no-scoring", action="store_true", help=argparse.SUPPRESS)
    a = p.parse_args()
    fresh = fresh_seed(dt.date.today())
    seeds = [fresh if s == "fresh" else int(s) for s in a.seeds.split(",")]
    if a.world_out:
        world = run(
            a.entities,
            a.days,
            a.repeats,
            a.without,
            a.resume,
            a.start,
            seeds[0],
            a.realism,
            not a.no_scoring,
            a.batch_days,
        )
        stamp = {"commit": MEASURED, "recorded": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
        stamp |= {"machine": machine(), "fresh": seeds[0] == fresh}
        a.world_out.parent.mkdir(parents=True, exist_ok=True)
        a.world_out.write_text(json.dumps(stamp | world, indent=1, default=str) + "\n", encoding="utf-8")
        return
    if a.resume and len(seeds) > 1:
        p.error("--resume reuses one world: give one seed with --seeds")
    if not a.assemble:
        print(f"seeds {seeds}; {fresh} (the run's date) was never used in development", file=sys.stderr)
        for i, seed in enumerate(seeds):
            one_seed(a, seed, with_scoring=i == 0)
    worlds = [json.loads(world_file(seed).read_text(encoding="utf-8")) for seed in seeds]
    result = {
        "recorded": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "repeats": a.repeats,
        "realism": a.realism,
        "seeds": worlds,
    }
    record("model", result, markdown(result))


if __name__ == "__main__":
    main()

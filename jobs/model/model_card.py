"""A model card for every registered PD model: the data it learnt from, the features it reads and their directions,
how well it does on the loans it is judged on (its out-of-time test) with intervals, its calibration, its stability
and what it cannot be trusted for. Written as Markdown beside the booster (`<version>.card.md`) when the model is
registered, and shown in the night report."""

from __future__ import annotations

from pathlib import Path

from jobs.model.metrics import PSI_ALERT
from jobs.registry import RegisteredModel

FIT, STOP, TEST, GAP = "fit", "stop", "test", "gap"  # the parts of a training set (`pd_model.time_parts`)
JUDGED_ON = {TEST: "out-of-time test", STOP: "in-sample loans it stopped and was calibrated on (no out-of-time test)"}
MIN_JUDGED_DEFAULTS = 30  # fewer defaults than this in the judged loans: the figures are too uncertain to lean on


def judged_part(metrics: dict) -> str:
    """The part a model's headline figures come from: its out-of-time test, or, for a history too short for one, the
    loans it stopped and was calibrated on (in-sample)."""
    return TEST if metrics.get("test") else STOP


def limitations(model: RegisteredModel) -> list[str]:
    """What the record itself says the model cannot be trusted for, one sentence each."""
    part = judged_part(model.metrics)
    judged = model.metrics[part]
    found = []
    if part != TEST:
        found.append(
            "No out-of-time test: the history is too short for three parts an outcome horizon apart, so every figure "
            "here is in-sample (the loans it stopped and was calibrated on)."
        )
    if judged["bads"] < MIN_JUDGED_DEFAULTS:
        found.append(
            f"Only {judged['bads']} defaults in the judged loans (under {MIN_JUDGED_DEFAULTS}): its AUC and "
            "calibration are uncertain; read the intervals."
        )
    outside = [str(d["decile"]) for d in judged["calibration"] if not d["inside"]]
    if outside:
        found.append(
            f"Decile {', '.join(outside)}: the realised default rate falls outside the 95% interval the PDs predict."
        )
    share = judged["ece_share_of_mean_pd"]
    if share is not None and share > 0.10:
        found.append(f"Expected calibration error is {share:.0%} of the mean PD (10% is the bar).")
    untested = [s for s, m in judged.get("segments", {}).items() if m["auc"] is None]
    if untested:
        found.append(f"No ranking tested for {', '.join(untested)}: one outcome class only in the judged loans.")
    shifted = [n for n, v in model.metrics["stability"]["features"].items() if v is not None and v > PSI_ALERT]
    if shifted:
        found.append(f"Features shifted between the fitted and the judged loans (PSI above {PSI_ALERT}): "
                     f"{', '.join(sorted(shifted))}.")  # fmt: skip
    found.append(
        "Outcomes exist only for the loans the lender granted: businesses its earlier policy declined are not in the "
        "data, and the model's ranking of them is untested."
    )
    return found


def render(model: RegisteredModel, spec) -> str:
    """The card as Markdown; `spec`, the model's `pd_model.FeatureSpec`, tells its features' directions and codes."""
    part = judged_part(model.metrics)
    judged, parts, stability = model.metrics[part], model.training["parts"], model.metrics["stability"]
    auc = "-" if judged["auc"] is None else f"{judged['auc']:.3f}"
    interval = " ({:.3f} to {:.3f})".format(*judged["auc_95"]) if judged["auc_95"] else ""
    ece_share = judged["ece_share_of_mean_pd"]
    lines = [
        f"# Model card: {model.model_version}",
        "",
        f"{model.algorithm}, trained as of {model.trained_as_of}; {model.status}: {model.decision}.",
        "",
        "## Data",
        "",
        f"Loans by disbursement date, each part {model.training['gap_days']} days (the outcome horizon) after the one "
        f"before; bad means 90 days past due within the horizon. Bad rate of the fitted loans "
        f"{model.training['fit_bad_rate']:.2%}.",
        "",
        "| part | loans | disbursed | used for |",
        "|---|---:|---|---|",
        *(
            f"| {p} | {parts[p]['rows']:,} | {' to '.join(parts[p]['dates']) or '-'} | {use} |"
            for p, use in (
                (FIT, "learning the trees"),
                (STOP, "early stopping and calibration"),
                (TEST, "the out-of-time test"),
                (GAP, "nothing"),
            )
        ),
        "",
        "## Features",
        "",
        "| feature | direction | reason code |",
        "|---|---|---|",
        *(
            f"| {n} | {({1: 'raises PD', -1: 'lowers PD'}).get(d, 'free')} | {spec.reason_codes.get(n, '')} |"
            for n, d in zip(spec.names, spec.monotone, strict=True)
        ),
        "",
        f"## Performance on its {JUDGED_ON[part]}",
        "",
        f"{judged['rows']:,} loans, {judged['bads']:,} bad. AUC {auc}{interval} (95% bootstrap), "
        + ("" if judged["gini"] is None else f"Gini {judged['gini']:.3f}, KS {judged['ks']:.3f}, ")
        + f"Brier {judged['brier']:.4f}, mean PD {judged['mean_pd']:.4f}, ECE {judged['ece']:.4f}"
        + ("" if ece_share is None else f" ({ece_share:.0%} of the mean PD)")
        + ".",
        "",
        "| segment | loans | bad | AUC (95%) |",
        "|---|---:|---:|---|",
        *(
            f"| {s} | {m['rows']:,} | {m['bads']:,} | "
            + ("-" if m["auc"] is None else f"{m['auc']:.3f}")
            + (" ({:.3f} to {:.3f})".format(*m["auc_95"]) if m["auc_95"] else "")
            + " |"
            for s, m in judged.get("segments", {}).items()
        ),
        "",
        "## Calibration",
        "",
        "| decile | loans | mean PD | realised | 95% interval the PDs predict | inside |",
        "|---:|---:|---:|---:|---|---|",
        *(
            f"| {d['decile']} | {d['loans']:,} | {d['mean_pd']:.4f} | {d['bad_rate']:.4f} | "
            f"{d['low']:.4f} to {d['high']:.4f} | {'yes' if d['inside'] else 'no'} |"
            for d in judged["calibration"]
        ),
        "",
        "## Stability",
        "",
        "PSI of the judged loans against the fitted ones: PD "
        + ("-" if stability["pd"] is None else f"{stability['pd']:.3f}")
        + "; the features that moved most: "
        + ", ".join(
            f"{n} {v:.3f}"
            for n, v in sorted(
                ((n, v) for n, v in stability["features"].items() if v is not None), key=lambda f: -f[1]
            )[:5]
        )
        + ".",
        "",
        "## Known limitations",
        "",
        *(f"- {limit}" for limit in limitations(model)),
        "",
    ]
    return "\n".join(lines)


def path_of(model: RegisteredModel) -> Path:
    """Where a model's card is written: beside its booster."""
    return Path(model.artifact_path).with_suffix(".card.md")


def write(model: RegisteredModel, spec) -> Path:
    path = path_of(model)
    path.write_text(render(model, spec), encoding="utf-8")
    return path

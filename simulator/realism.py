"""How realistic a simulated world is, measured from its truth and its landing files (never from the lakehouse).

The figures every later claim rests on: how well the true PDs rank the drawn loan outcomes (the ceiling any model
can reach), the base default rate, the cloud share of the scenes, how close the two nearest crop season curves are,
and how much of the documents and parcels lie; and how hard the world is to read: how well each family's best habit
alone ranks the outcomes, how far the credit cycle moves the default rate, what the lender's own earlier selection
does to the book, and how many merchants' payments never reach the lender.
"""

from __future__ import annotations

import itertools
import json
import pathlib

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
from sklearn.metrics import roc_auc_score

from simulator import farms, payments

SEASON_DAYS = np.arange(100, 301)  # day of year: the growing season of the farm region


def outcome_figures(truth: pathlib.Path) -> dict:
    entities = pq.read_table(truth / "entities.parquet", columns=["entity_id", "true_pd", "segment"]).to_pandas()
    loans = pq.read_table(truth / "loans.parquet", columns=["entity_id", "bad"]).to_pandas()
    loans = loans.merge(entities, on="entity_id")
    return {
        "loans": len(loans),
        "base_default_rate": float(loans["bad"].mean()),
        "oracle_auc": float(roc_auc_score(loans["bad"], loans["true_pd"])) if loans["bad"].nunique() == 2 else None,
        "default_rate_by_segment": {s: float(g.mean()) for s, g in loans.groupby("segment")["bad"]},
        "segments": entities["segment"].value_counts().sort_index().to_dict(),
    }


def oriented_auc(bad: pd.Series, score: pd.Series) -> float:
    """AUC of a score whatever its direction: how well it ranks the outcomes alone."""
    auc = float(roc_auc_score(bad, score))
    return max(auc, 1.0 - auc)


def habit_figures(truth: pathlib.Path) -> dict:
    """Per family, each habit's AUC on the outcomes of the loans of businesses that show it, and the best one."""
    habits = pq.read_table(truth / "habits.parquet").to_pandas()
    loans = pq.read_table(truth / "loans.parquet", columns=["entity_id", "bad"]).to_pandas()
    judged = loans.merge(habits, on="entity_id")
    figures = {}
    for family, rows in judged.groupby("family"):
        aucs = {h: oriented_auc(g["bad"], g["value"]) for h, g in rows.groupby("habit") if g["bad"].nunique() == 2}
        if aucs:
            best = max(aucs, key=aucs.get)
            figures[family] = {"best_habit": best, "best_auc": aucs[best], "aucs": aucs}
    return figures


def cycle_figures(truth: pathlib.Path) -> dict:
    """The credit cycle as drawn (the mean PD at disbursement) and as realised (the default rate), by quarter of
    disbursement, relative to their means over the book."""
    loans = pq.read_table(truth / "loans.parquet", columns=["disbursed_date", "bad", "pd_at_disbursement"]).to_pandas()
    by = loans.groupby(pd.to_datetime(loans["disbursed_date"]).dt.to_period("Q"))
    drawn = by["pd_at_disbursement"].mean() / loans["pd_at_disbursement"].mean()
    realised = by["bad"].mean() / loans["bad"].mean()
    return {
        "pd_by_quarter_relative": {"min": float(drawn.min()), "max": float(drawn.max())},
        "default_rate_by_quarter_relative": {"min": float(realised.min()), "max": float(realised.max())},
    }


def selection_figures(truth: pathlib.Path) -> dict:
    """What the lender's own earlier selection does: the applicants it declined, and the default rate and oracle AUC
    on every application against those on the granted loans alone."""
    apps = pq.read_table(truth / "applications.parquet", columns=["entity_id", "bad", "granted"]).to_pandas()
    entities = pq.read_table(truth / "entities.parquet", columns=["entity_id", "true_pd"]).to_pandas()
    apps = apps.merge(entities, on="entity_id")
    granted = apps[apps["granted"]]
    return {
        "applications": len(apps),
        "declined_share": float(1.0 - apps["granted"].mean()),
        "default_rate_all_applicants": float(apps["bad"].mean()),
        "default_rate_granted": float(granted["bad"].mean()),
        "oracle_auc_all_applicants": float(roc_auc_score(apps["bad"], apps["true_pd"])),
        "oracle_auc_granted": float(roc_auc_score(granted["bad"], granted["true_pd"])),
    }


def hidden_flow_share(truth: pathlib.Path) -> float:
    """The share of merchants whose payments never reach the lender."""
    entities = pq.read_table(truth / "entities.parquet", columns=["segment", "payments_seen"]).to_pandas()
    merchants = entities[entities["segment"].isin(payments.MERCHANT_SEGMENTS)]
    return float(1.0 - merchants["payments_seen"].mean())


def cloud_share(landing: pathlib.Path) -> float | None:
    covers = [
        json.loads(p.read_text(encoding="utf-8"))["cloud_cover"] for p in sorted(landing.glob("tiles/dt=*/*.json"))
    ]
    return float(np.mean(covers)) / 100 if covers else None


def closest_crops() -> dict:
    """The pair of crops whose season curves (at normal vigour) lie closest: mean absolute NDVI gap over the season."""
    curves = {c: np.array([farms.crop_ndvi(np.array([i]), d, np.ones(1))[0] for d in SEASON_DAYS]) for i, c in
              enumerate(farms.CROPS)}  # fmt: skip
    gaps = {(a, b): float(np.abs(curves[a] - curves[b]).mean()) for a, b in itertools.combinations(farms.CROPS, 2)}
    pair = min(gaps, key=gaps.get)
    return {"pair": list(pair), "mean_ndvi_gap": gaps[pair], "next_closest_gap": sorted(gaps.values())[1]}


def lie_figures(truth: pathlib.Path) -> dict:
    parcels = pq.read_table(truth / "parcels.parquet", columns=["over_declared"]).to_pandas()
    vouchers = pq.read_table(truth / "vouchers.parquet", columns=["tampered", "tamper_kind"]).to_pandas()
    return {
        "over_declared_parcels": float(parcels["over_declared"].mean()) if len(parcels) else None,
        "tampered_vouchers": float(vouchers["tampered"].mean()) if len(vouchers) else None,
        "tamper_kinds": vouchers["tamper_kind"].value_counts().sort_index().to_dict(),
    }


def measure(world: pathlib.Path) -> dict:
    world = pathlib.Path(world)
    return {
        **outcome_figures(world / "truth"),
        "cloud_share": cloud_share(world / "landing"),
        "closest_crops": closest_crops(),
        **lie_figures(world / "truth"),
        "best_habit_auc": habit_figures(world / "truth"),
        "credit_cycle": cycle_figures(world / "truth"),
        "selection": selection_figures(world / "truth"),
        "hidden_flow_share": hidden_flow_share(world / "truth"),
    }

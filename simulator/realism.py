"""How realistic a simulated world is, measured from its truth and its landing files (never from the lakehouse).

The figures every later claim rests on: how well the true PDs rank the drawn loan outcomes (the ceiling any model
can reach), the base default rate, the cloud share of the scenes, how close the two nearest crop season curves are,
and how much of the documents and parcels lie.
"""

from __future__ import annotations

import itertools
import json
import pathlib

import numpy as np
import pyarrow.parquet as pq
from sklearn.metrics import roc_auc_score

from simulator import farms

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
    }

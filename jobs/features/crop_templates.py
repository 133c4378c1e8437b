"""Each crop's typical season curve, learnt from the parcels that declared it, and how well a parcel's clear
observations match each one: a matched filter for crops whose curves differ by less than one crossing's noise
(spring wheat and barley: a few days of timing, one of season length).

A template is the median daily curve of a crop's labelled parcels, re-drawn ALIGNMENTS times with each parcel moved
by its best shift. A parcel is fitted to each template as offset + scale x template(day - shift), the shift searched
every SHIFT_STEP days within +-SHIFT_RANGE. Its score for a crop is the Gaussian log-likelihood of that fit (the
residual variance: the labelled parcels' median) plus the log-density of its shift under the crop's own spread of
shifts (sowing dates); the scores, as probabilities over the crops, are features of the crop model.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

DAYS = np.arange(1.0, 367.0)  # the templates' daily grid (day of year)
SHIFT_RANGE, SHIFT_STEP = 15.0, 0.5
SHIFTS = np.arange(-SHIFT_RANGE, SHIFT_RANGE + SHIFT_STEP / 2, SHIFT_STEP)
ALIGNMENTS = 2
MIN_POINTS = 4  # offset, scale and shift need more points than three


@dataclass(frozen=True)
class Templates:
    crops: tuple[str, ...]
    curves: np.ndarray  # crops x DAYS
    shift_sd: np.ndarray  # per crop: the spread of its labelled parcels' shifts, days
    residual_var: float  # the labelled parcels' median residual variance against their own crop

    def save(self, path: Path) -> None:
        # exact (no rounding): the nights after its model's training read the templates back
        doc = {"crops": self.crops, "curves": self.curves.tolist(), "shift_sd": self.shift_sd.tolist(),
               "residual_var": self.residual_var}  # fmt: skip
        path.write_text(json.dumps(doc))

    @classmethod
    def load(cls, path: Path) -> Templates:
        doc = json.loads(path.read_text())
        return cls(tuple(doc["crops"]), np.array(doc["curves"]), np.array(doc["shift_sd"]), doc["residual_var"])


def daily_curve(doy: np.ndarray, ndvi: np.ndarray) -> np.ndarray:
    """The observations interpolated on DAYS; NaN outside their span."""
    curve = np.interp(DAYS, doy, ndvi)
    curve[(DAYS < doy[0]) | (DAYS > doy[-1])] = np.nan
    return curve


def median_curve(curves: list[np.ndarray]) -> np.ndarray:
    """Median of daily curves, gaps filled by interpolation and held flat at the ends."""
    stacked = np.stack(curves)
    seen = np.isfinite(stacked).any(axis=0)
    median = np.full(DAYS.size, np.nan)
    median[seen] = np.nanmedian(stacked[:, seen], axis=0)
    return pd.Series(median).interpolate(limit_direction="both").to_numpy()


def on_days(curves: np.ndarray, days: np.ndarray) -> np.ndarray:
    """Daily curves (rows on DAYS) read at any days (held flat past DAYS' ends), linear between days: shape
    curves.shape[:-1] + days.shape."""
    x = np.clip(days - DAYS[0], 0.0, DAYS.size - 1.0)
    left = np.minimum(x.astype(int), DAYS.size - 2)
    frac = x - left
    return curves[..., left] * (1.0 - frac) + curves[..., left + 1] * frac


def best_fits(doy: np.ndarray, ndvi: np.ndarray, curves: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(residual sum of squares, shift) of the best least-squares fit of offset + scale x curve(day - shift), per
    curve (row of `curves`)."""
    moved = on_days(curves, doy[None, :] - SHIFTS[:, None])  # curves x shifts x points
    dx = moved - moved.mean(axis=2, keepdims=True)
    dy = ndvi - ndvi.mean()
    cov, var = (dx * dy).sum(axis=2), (dx * dx).sum(axis=2)
    rss = (dy * dy).sum() - cov * cov / np.maximum(var, 1e-12)
    best = rss.argmin(axis=1)
    rows = np.arange(len(curves))
    return rss[rows, best], SHIFTS[best]


def usable(series: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    return np.array([len(d) >= MIN_POINTS for d, _ in series])


def learn(series: list[tuple[np.ndarray, np.ndarray]], labels: np.ndarray) -> Templates:
    """Templates of every crop in `labels` from its parcels' clear observations (doy, ndvi)."""
    ok = usable(series)
    crops = tuple(sorted(set(labels[ok])))
    curves, shift_sd, residual = [], [], []
    for crop in crops:
        mine = [series[i] for i in np.flatnonzero(ok & (labels == crop))]
        curve = median_curve([daily_curve(d, v) for d, v in mine])
        for _ in range(ALIGNMENTS):
            fits = [best_fits(d, v, curve[None]) for d, v in mine]
            curve = median_curve([daily_curve(d - shift[0], v) for (d, v), (_, shift) in zip(mine, fits)])
        fits = [best_fits(d, v, curve[None]) for d, v in mine]
        curves.append(curve)
        shift_sd.append(max(float(np.std([shift[0] for _, shift in fits])), SHIFT_STEP))
        residual += [rss[0] / (len(d) - 3) for (d, _), (rss, _) in zip(mine, fits)]
    return Templates(crops, np.stack(curves), np.array(shift_sd), float(np.median(residual)))


def match(series: list[tuple[np.ndarray, np.ndarray]], templates: Templates) -> np.ndarray:
    """Per parcel and crop, the probability that its observations follow the crop's template (rows of NaN for a
    parcel with fewer than MIN_POINTS observations)."""
    out = np.full((len(series), len(templates.crops)), np.nan)
    for i, (doy, ndvi) in enumerate(series):
        if len(doy) < MIN_POINTS:
            continue
        rss, shift = best_fits(doy, ndvi, templates.curves)
        score = -0.5 * rss / templates.residual_var - 0.5 * (shift / templates.shift_sd) ** 2
        p = np.exp(score - score.max())
        out[i] = p / p.sum()
    return out

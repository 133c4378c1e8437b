"""The growing season of each parcel as of a date: its NDVI curve with the cloud gaps filled, its phenology, and the
planted area the pixels show.

A snapshot as of D looks at the season (April to October) of the latest year whose season had
reached July by D (so from January to June the farmer is judged on last year's harvest), and at the observations of
silver.parcel_observations acquired and arrived by D. An observation counts when its mask leaves at least
MIN_CLEAR_SHARE of the plot clear; a value far below both neighbours (the thin cloud edges a mask misses) is dropped.
The curve is interpolated linearly between observations (never extrapolated past the last one) on a 5-day grid.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

SEASON_START, SEASON_END = (4, 1), (10, 31)  # month, day
JUDGED_FROM_MONTH = 7  # a season counts from July on; before, the previous year's season is the latest one
MIN_CLEAR_SHARE = 0.8
DIP = 0.1  # an observation this far below both neighbours is a missed cloud
GRID_STEP = 5  # days between points of the filled curve
CURVE_DOYS = tuple(range(100, 301, 10))  # days of year the crop model reads the curve at
NEAR_PEAK = 0.05  # planted share: the median over the clear scenes whose p90 is this close to the season's peak
HALF = 0.5  # green-up and senescence: where the curve crosses half-way from its base to its peak


def season_year(as_of: dt.date) -> int:
    return as_of.year if as_of.month >= JUDGED_FROM_MONTH else as_of.year - 1


def season_window(year: int) -> tuple[dt.date, dt.date]:
    return dt.date(year, *SEASON_START), dt.date(year, *SEASON_END)


def clean_series(doy: np.ndarray, ndvi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Observations sorted by day, one per day (the mean), with dips below both neighbours by DIP dropped."""
    frame = pd.DataFrame({"doy": doy, "ndvi": ndvi}).groupby("doy", as_index=False)["ndvi"].mean()
    d, v = frame["doy"].to_numpy(float), frame["ndvi"].to_numpy(float)
    if len(v) >= 3:  # the ends have one neighbour: bare soil before green-up is no dip
        keep = np.ones(len(v), bool)
        keep[1:-1] = ~((v[1:-1] < v[:-2] - DIP) & (v[1:-1] < v[2:] - DIP))
        d, v = d[keep], v[keep]
    return d, v


def filled_curve(doy: np.ndarray, ndvi: np.ndarray, first: int, last: int) -> tuple[np.ndarray, np.ndarray]:
    """(grid days, NDVI) every GRID_STEP days from `first` to `last` day of year, interpolated between observations
    and NaN outside the observed span."""
    grid = np.arange(first, last + 1, GRID_STEP, dtype=float)
    if len(doy) == 0:
        return grid, np.full(grid.size, np.nan)
    curve = np.interp(grid, doy, ndvi)
    curve[(grid < doy[0]) | (grid > doy[-1])] = np.nan
    return grid, curve


def crossing(grid: np.ndarray, curve: np.ndarray, i: int, level: float) -> float:
    """The day between grid[i] and grid[i + 1] where the curve, linear between them, meets `level`."""
    step = curve[i + 1] - curve[i]
    return float(grid[i] + (level - curve[i]) / step * (grid[i + 1] - grid[i]))


def phenology(grid: np.ndarray, curve: np.ndarray) -> dict:
    """Green-up day, peak NDVI and its day, senescence day, season length (days) and NDVI integral (NDVI x days
    above the curve's base) of a filled curve; None where the curve does not show it."""
    seen = np.isfinite(curve)
    out = dict.fromkeys(
        ("green_up_doy", "peak_ndvi", "peak_doy", "senescence_doy", "season_length_days", "ndvi_integral")
    )
    if seen.sum() < 3:
        return out
    g, c = grid[seen], curve[seen]
    top = int(np.argmax(c))
    base = float(c.min())
    half = base + HALF * (c[top] - base)
    out |= {
        "peak_ndvi": float(c[top]),
        "peak_doy": float(g[top]),
        "ndvi_integral": float(np.sum(c - base) * GRID_STEP),
    }
    rising = np.flatnonzero(c[: top + 1] < half)
    falling = np.flatnonzero(c[top:] < half)
    if rising.size:  # crossings interpolated between grid days: the timing is what tells close crops apart
        out["green_up_doy"] = crossing(g, c, rising[-1], half)
    if falling.size:
        out["senescence_doy"] = crossing(g, c, top + falling[0] - 1, half)
    if rising.size and falling.size:
        out["season_length_days"] = out["senescence_doy"] - out["green_up_doy"]
    return out


def planted_share(obs: pd.DataFrame) -> float | None:
    """Share of the plot's pixels that are planted: the median over the clear, green scenes near the season's peak."""
    green = obs.dropna(subset=["green_pixel_count", "ndvi_p90"])
    if green.empty:
        return None
    near = green[green["ndvi_p90"] >= green["ndvi_p90"].max() - NEAR_PEAK]
    clear = near["clear_pixel_count"].fillna(near["pixel_count"])  # green pixels are clear ones
    return float((near["green_pixel_count"] / clear).median())


def series_features(doy: np.ndarray, ndvi: np.ndarray, first: int, last: int) -> dict:
    """The clear observations (sorted, dips dropped), the filled curve at CURVE_DOYS and the phenology of a season
    seen from day of year `first` to `last`."""
    d, v = clean_series(doy, ndvi)
    grid, curve = filled_curve(d, v, first, last)
    at = np.interp(CURVE_DOYS, grid, curve, left=np.nan, right=np.nan)
    return {
        "clear_observations": int(len(d)),
        "clear_doys": [int(x) for x in d],
        "clear_ndvi": [round(float(x), 4) for x in v],
        "ndvi_curve": [None if np.isnan(x) else round(float(x), 4) for x in at],
        **phenology(grid, curve),
    }


def parcel_season(obs: pd.DataFrame, year: int, as_of: dt.date) -> dict:
    """Season features of one parcel from its observations (silver.parcel_observations rows seen by `as_of`)."""
    start, end = season_window(year)
    end = min(end, as_of)
    inside = obs[(obs["acquisition_date"] >= start) & (obs["acquisition_date"] <= end) & (obs["pixel_count"] > 0)]
    clear = inside[inside["clear_share"].fillna(1.0) >= MIN_CLEAR_SHARE].dropna(subset=["ndvi_median"])
    doy = pd.to_datetime(clear["acquisition_date"]).dt.dayofyear.to_numpy()
    first, last = start.timetuple().tm_yday, end.timetuple().tm_yday
    return {
        "observations": int(len(inside)),
        **series_features(doy, clear["ndvi_median"].to_numpy(float), first, last),
        "planted_share": planted_share(clear),
    }


# ---------------------------------------------------------------------------------------------------------------
# Every parcel and snapshot (Spark; one pandas group per parcel and snapshot, on the executors)

SEASON_FIELDS = (
    "observations int, clear_observations int, clear_doys array<int>, clear_ndvi array<double>, "
    "ndvi_curve array<double>, green_up_doy double, peak_ndvi double, "
    "peak_doy double, senescence_doy double, season_length_days double, ndvi_integral double, planted_share double"
)


def seen_by(observations, snapshots):
    """Pair each snapshot (as_of_date, season_year) with the observations of its season that it may see (acquired
    and arrived by it)."""
    from pyspark.sql import functions as F

    s = snapshots.withColumn("_start", F.make_date("season_year", *map(F.lit, SEASON_START)))
    seen = (
        (F.col("acquisition_date") <= F.col("as_of_date"))
        & (F.col("arrived_date") <= F.col("as_of_date"))
        & (F.col("acquisition_date") >= F.col("_start"))
    )
    return observations.join(F.broadcast(s), seen).drop("_start")


def season_features(observations, parcels, snapshots):
    """Per parcel known by each snapshot (arrived by it): its season's features as of the snapshot; a parcel the
    scenes have not seen yet gets zero observations and nulls."""
    from pyspark.sql import functions as F

    columns = ["parcel_id", "as_of_date", "season_year", "acquisition_date", "pixel_count", "clear_pixel_count",
               "clear_share", "ndvi_median", "ndvi_p90", "green_pixel_count"]  # fmt: skip
    schema = f"parcel_id string, as_of_date date, season_year int, {SEASON_FIELDS}"

    def season_of_group(group: pd.DataFrame) -> pd.DataFrame:
        first = group.iloc[0]
        row = parcel_season(group, int(first["season_year"]), first["as_of_date"])
        return pd.DataFrame([{"parcel_id": first["parcel_id"], "as_of_date": first["as_of_date"],
                              "season_year": int(first["season_year"]), **row}])  # fmt: skip

    seen = seen_by(observations, snapshots).select(*columns)
    seasons = seen.groupBy("parcel_id", "as_of_date").applyInPandas(season_of_group, schema)
    known = parcels.join(F.broadcast(snapshots), F.col("arrived_date") <= F.col("as_of_date")).drop("arrived_date")
    return known.join(seasons.drop("season_year"), ["parcel_id", "as_of_date"], "left").fillna(
        0, subset=["observations", "clear_observations"]
    )

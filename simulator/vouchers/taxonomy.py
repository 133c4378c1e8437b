"""The document types the simulator draws, read from the landing contract's taxonomy
(`schemas/vouchers/taxonomy.yaml`: types, their fields, labels, formats, and which segments hand them over), and
the calendar arithmetic of their dates."""

from __future__ import annotations

import datetime as dt
import pathlib
from functools import cache

import yaml

TAXONOMY_PATH = pathlib.Path(__file__).resolve().parents[2] / "schemas" / "vouchers" / "taxonomy.yaml"


@cache
def load_taxonomy() -> dict:
    return yaml.safe_load(TAXONOMY_PATH.read_text(encoding="utf-8"))


def add_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def as_date(x) -> dt.date:
    """A date from a date, a datetime or pandas Timestamp, or an ISO string."""
    if isinstance(x, dt.datetime):
        return x.date()
    return x if isinstance(x, dt.date) else dt.date.fromisoformat(str(x))

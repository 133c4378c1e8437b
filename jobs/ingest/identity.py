"""Owners' identification numbers: normalised and judged by their scheme (`id_schemes.yaml`) while still in clear
text, before ingest tokenises them."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

SCHEMES_FILE = Path(__file__).resolve().parent / "id_schemes.yaml"
MOD11_2_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
MOD11_2_CHARACTERS = "10X98765432"  # the check character for each remainder of the weighted sum, mod 11


@cache
def schemes() -> dict[str, dict]:
    return yaml.safe_load(SCHEMES_FILE.read_text())


def iso7064_mod11_2(number: Column) -> Column:
    """Whether the last character of a 18-character number is the ISO 7064 MOD 11-2 check of the 17 digits before."""
    weighted = sum(F.substring(number, i + 1, 1).cast("int") * w for i, w in enumerate(MOD11_2_WEIGHTS))
    expected = F.lit(MOD11_2_CHARACTERS).substr(weighted % 11 + 1, F.lit(1))
    return expected == F.substring(number, 18, 1)


CHECKS = {"none": lambda number: F.lit(True), "iso7064_mod11_2": iso7064_mod11_2}


def judged_ids(rows: DataFrame, scheme: str = "owner_id_scheme", number: str = "owner_id_number") -> DataFrame:
    """`rows` with `number` normalised (upper case, spaces and hyphens removed; blank as null), `scheme` upper-cased
    (blank as null), and `_id_problem`: why the number cannot be taken (no scheme, an unknown one, a number that does
    not match the scheme's pattern or fails its check), or null."""
    normal = F.upper(F.regexp_replace(F.col(number), r"[\s-]", ""))
    code = F.upper(F.trim(F.col(scheme)))
    rows = rows.withColumns({number: F.when(normal != "", normal), scheme: F.when(code != "", code)})
    n, s = F.col(number), F.col(scheme)
    problem = F.when(n.isNull(), F.lit(None)).when(s.isNull(), F.lit(f"{number} without {scheme}"))
    for code, rule in schemes().items():
        mine = s == code
        problem = problem.when(mine & ~n.rlike(rule["pattern"]), F.lit(f"{number} does not match {code}"))
        problem = problem.when(mine & ~CHECKS[rule["check"]](n), F.lit(f"{number} fails the {code} check"))
    known = s.isin(*schemes())
    problem = problem.when(~known, F.concat(F.lit(f"unknown {scheme} "), s))
    return rows.withColumn("_id_problem", problem)

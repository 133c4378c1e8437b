"""The model registry: every model the product trains (the PD model, the crop model) as one typed record per
version, in the Delta table of its kind. A record says what the model learnt from, what it scored, where its artifact
is and whether it serves: `champion` (the newest trained at or before a date scores then), `challenger` (registered,
not promoted) or `rolled_back` (withdrawn)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from dataclasses import dataclass, field

from jobs import tables
from jobs.catalog import contract
from jobs.errors import ModelError
from jobs.settings import Settings

CHAMPION, CHALLENGER, ROLLED_BACK = "champion", "challenger", "rolled_back"
JSON_FIELDS = ("params", "training", "metrics", "input_versions")  # stored as JSON text


@dataclass(frozen=True)
class RegisteredModel:
    model_version: str
    trained_as_of: dt.date
    algorithm: str
    features: list[str]
    params: dict  # the learner's settings; a booster's also the rounds it keeps
    training: dict  # what it learnt from: windows, rows, outcomes
    metrics: dict  # what it scored, on which data
    artifact_path: str
    input_versions: dict = field(default_factory=dict)  # {table: Delta version} of its inputs
    status: str = CHAMPION
    decision: str = ""  # why it has that status
    trained_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC).replace(tzinfo=None))

    def row(self) -> dict:
        values = dataclasses.asdict(self)
        return values | {k: json.dumps(values[k], sort_keys=True, default=str) for k in JSON_FIELDS}

    @classmethod
    def from_row(cls, row) -> RegisteredModel:
        values = row.asDict() if hasattr(row, "asDict") else dict(row)
        return cls(**(values | {k: json.loads(values[k]) for k in JSON_FIELDS}))


def register(spark, settings: Settings, fqn: str, *models: RegisteredModel) -> None:
    """Write the records, in one commit (a rerun of the same version replaces it)."""
    c = contract(fqn)
    tables.merge(spark, settings, fqn, spark.createDataFrame([m.row() for m in models], c.struct_type()))


def records(spark, settings: Settings, fqn: str, status: str | None = None, as_of: dt.date | None = None):
    """The records (of one status; trained at or before `as_of`), newest first."""
    from pyspark.sql import functions as F

    rows = tables.read(spark, settings, fqn)
    if status is not None:
        rows = rows.where(F.col("status") == status)
    if as_of is not None:
        rows = rows.where(F.col("trained_as_of") <= F.lit(as_of))
    ordered = rows.orderBy(F.col("trained_as_of").desc(), F.col("trained_at").desc())
    return [RegisteredModel.from_row(r) for r in ordered.collect()]


def champion(spark, settings: Settings, fqn: str, as_of: dt.date) -> RegisteredModel | None:
    """The newest champion trained as of `as_of` or earlier."""
    found = records(spark, settings, fqn, CHAMPION, as_of)
    return found[0] if found else None


def version(spark, settings: Settings, fqn: str, model_version: str) -> RegisteredModel:
    from pyspark.sql import functions as F

    found = tables.read(spark, settings, fqn).where(F.col("model_version") == model_version).collect()
    if not found:
        raise ModelError(f"{fqn} holds no model {model_version}")
    return RegisteredModel.from_row(found[0])


def rollback(spark, settings: Settings, fqn: str) -> RegisteredModel:
    """Withdraw the newest champion; the champion before it serves again. Returns that one."""
    found = records(spark, settings, fqn, CHAMPION)
    if len(found) < 2:
        raise ModelError(f"no earlier champion to restore: {fqn} holds {len(found)} champion(s)")
    newest, restored = found[:2]
    why = f"rolled back; {restored.model_version} restored"
    register(spark, settings, fqn, dataclasses.replace(newest, status=ROLLED_BACK, decision=why))
    return restored

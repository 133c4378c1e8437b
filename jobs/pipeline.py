"""The nightly chain as steps: each is one call that the CLI and the Airflow DAGs make alike.

ingest (every source) -> features as of D (every family, then the feature vectors) -> training set and PD model
(when none is registered yet) -> scores and limits as of D -> publish to the serving store.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from dataclasses import asdict

from jobs.errors import BatchRefused, LandingError, ModelError
from jobs.settings import Settings, load_settings

log = logging.getLogger(__name__)


def _spark(settings: Settings):
    from jobs.spark_session import get_spark

    return get_spark(settings)


def new_run_id(prefix: str = "run") -> str:
    return f"{prefix}-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"


def ingest(
    landing: str,
    sources: list[str] | None = None,
    run_id: str | None = None,
    settings: Settings | None = None,
    through: dt.date | None = None,
) -> list[dict]:
    """Load the new landing files into bronze and silver. Every source by default (`sources` for some), every file
    not loaded yet (with `through`, only those in `dt=` folders up to that day); each batch gated, quarantined and
    reconciled. Returns the batch counts, each with its top quarantine reasons. A batch quarantined above
    INGEST_MAX_QUARANTINED_SHARE is refused: the other sources still load, then BatchRefused names each refused one."""

    from jobs.ingest.source import ingest as ingest_source
    from jobs.ingest.source import loaded_files, record_batches
    from jobs.ingest.sources import SOURCES

    settings = settings or load_settings()
    unknown = sorted(set(sources or []) - set(SOURCES))
    if unknown:
        raise LandingError(f"unknown source {unknown[0]!r}; known: {', '.join(SOURCES)}")
    run_id = run_id or new_run_id("ingest")
    spark = _spark(settings)
    names = list(sources or SOURCES)
    ledger = loaded_files(spark, settings, names)  # one Spark job: a source with nothing new then runs none
    loaded = []
    try:
        for name in names:
            loaded.append(ingest_source(spark, settings, landing, SOURCES[name], run_id, through, ledger[name]))
    finally:  # the sources loaded before one that failed are recorded all the same
        refused = record_batches(spark, settings, run_id, loaded)
    batches = [asdict(b.counts) for b in loaded]
    if refused:
        what_now = "the files stay unloaded: fix or re-deliver them, or raise the setting, and ingest again"
        limit = f"over INGEST_MAX_QUARANTINED_SHARE={settings.max_quarantined_share:g}"
        raise BatchRefused(f"{' | '.join(refused)} ({limit}; {what_now})", batches)
    return batches


def features(as_of: dt.date, settings: Settings | None = None) -> dict[str, int]:
    """Compute the features as of the date. Tonight's documents read, scenes observed, trade edges, each family's
    features and the feature vectors the model reads: the `run` of every module that writes a table of the features
    step, each after the modules whose tables it reads, each one's rows and seconds kept in `silver.feature_runs`.
    Returns the rows each wrote, by its tables."""
    from jobs.features import step

    settings = settings or load_settings()
    return step.run(_spark(settings), settings, as_of)


def train(as_of: dt.date, settings: Settings | None = None) -> dict:
    """Train a PD model. Label the loans matured by `as_of`, build their point-in-time features, train, and register
    the model (the champion only if it beats the one before). Returns its registry row."""
    from jobs.model import pd_model, training_set

    settings = settings or load_settings()
    spark = _spark(settings)
    labelled = training_set.run(spark, settings, as_of)
    log.info("training set as of %s: %d labelled loans", as_of, labelled)
    return pd_model.summary(pd_model.train(spark, settings, as_of))


def rollback_model(settings: Settings | None = None) -> dict:
    """Withdraw the newest champion PD model; returns the one that scores again."""
    from jobs.model import pd_model

    settings = settings or load_settings()
    return pd_model.summary(pd_model.rollback(_spark(settings), settings))


def ensure_model(as_of: dt.date, settings: Settings | None = None) -> str:
    """Find the PD model to score with. The registered champion, or a first one trained now when none exists yet.
    Returns its version."""
    from jobs.model import pd_model

    settings = settings or load_settings()
    try:
        return pd_model.current_model(_spark(settings), settings, as_of).model_version
    except ModelError:
        log.info("no PD model registered as of %s: training the first one", as_of)
        return train(as_of, settings)["model_version"]


def score(as_of: dt.date, settings: Settings | None = None) -> int:
    """Score every business and apply the limit policy. The limits go to `gold.preapproved_limits` after their
    quality gate. Returns the businesses scored."""
    from jobs.model import score as scoring

    settings = settings or load_settings()
    return scoring.run(_spark(settings), settings, as_of)


def publish(as_of: dt.date, settings: Settings | None = None) -> dict:
    """Publish the limits to the serving store. Load, verify, swap atomically. Returns what was published."""
    from jobs.serve import publish as publishing

    settings = settings or load_settings()
    return asdict(publishing.run(_spark(settings), settings, as_of))


def night_report(as_of: dt.date, settings: Settings | None = None) -> str:
    """Write the night report. One HTML file (plots embedded) under `$LAKEHOUSE_ROOT/reports/`. Returns its path."""
    from jobs import night_report as report

    settings = settings or load_settings()
    return str(report.write(_spark(settings), settings, as_of))


NIGHT = ("ingest", "features", "ensure_model", "score", "publish", "night_report")  # the nightly chain, in order
STEPS = (*NIGHT, "train", "rollback_model")  # every step a DAG task or spark-submit may run


def night_arguments(step: str, landing: str, as_of: dt.date) -> dict:
    """What a step of the night is called with: ingest takes the landing folder, every other step the as-of date."""
    return {"landing": landing} if step == "ingest" else {"as_of": as_of}


def nightly(landing: str, as_of: dt.date, settings: Settings | None = None, on_step=None) -> dict:
    """The whole nightly chain for `as_of` (NIGHT, the steps the DAG runs, in its order); returns what each step did.
    `on_step(name)` is called as each step starts (progress for the terminal)."""
    settings = settings or load_settings()
    done = {}
    for step in NIGHT:
        if on_step:
            on_step(step)
        done[step] = globals()[step](**night_arguments(step, landing, as_of), settings=settings)
    return done

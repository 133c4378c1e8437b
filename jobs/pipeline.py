"""The nightly chain as steps: each is one call that the CLI and the Airflow DAGs make alike.

ingest (every source) -> features as of D (every family, then the feature vectors) -> training set and PD model
(when none is registered yet) -> scores and limits as of D -> publish to the serving store.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from dataclasses import asdict

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
    """Load new landing files of each source (all by default; with `through`, only those in `dt=` folders up to that
    day) into bronze and silver; returns the batch counts."""
    from jobs.ingest.landing import LandingError
    from jobs.ingest.source import ingest as ingest_source
    from jobs.ingest.sources import SOURCES

    settings = settings or load_settings()
    unknown = sorted(set(sources or []) - set(SOURCES))
    if unknown:
        raise LandingError(f"unknown source {unknown[0]!r}; known: {', '.join(SOURCES)}")
    run_id = run_id or new_run_id("ingest")
    spark = _spark(settings)
    return [
        asdict(ingest_source(spark, settings, landing, SOURCES[name], run_id, through)) for name in (sources or SOURCES)
    ]


def features(as_of: dt.date, settings: Settings | None = None) -> dict[str, int]:
    """Tonight's documents read, scenes observed, trade edges, each family's features as of `as_of`, and the feature
    vectors the model reads; returns the rows written per table."""
    from jobs.features import (
        feat_farm,
        feat_graph,
        feat_txn,
        feat_voucher,
        feature_vector,
        parcel_observations,
        trade_edges,
    )
    from jobs.vouchers import silver_vouchers

    settings = settings or load_settings()
    spark = _spark(settings)
    steps = {
        "silver.vouchers": lambda: silver_vouchers.run(spark, settings),  # the documents not read yet
        "silver.parcel_observations": lambda: parcel_observations.run(spark, settings),  # the pairs not seen yet
        "silver.trade_edges": lambda: trade_edges.run(spark, settings, as_of),
        "gold.feat_txn": lambda: feat_txn.run(spark, settings, [as_of]),
        "gold.feat_graph": lambda: feat_graph.run(spark, settings, as_of),
        "gold.feat_voucher": lambda: feat_voucher.run(spark, settings, [as_of]),
        "gold.feat_farm": lambda: feat_farm.run(spark, settings, [as_of]),  # with gold.parcel_season
        "gold.feature_vector": lambda: feature_vector.run(spark, settings, [as_of]),
    }
    return {table: step() for table, step in steps.items()}


def train(as_of: dt.date, settings: Settings | None = None) -> dict:
    """Label the loans matured by `as_of`, build their point-in-time features, train and register a PD model."""
    from jobs.model import pd_model, training_set

    settings = settings or load_settings()
    spark = _spark(settings)
    labelled = training_set.run(spark, settings, as_of)
    log.info("training set as of %s: %d labelled loans", as_of, labelled)
    return pd_model.train(spark, settings, as_of)


def rollback_model(settings: Settings | None = None) -> dict:
    """Withdraw the newest champion PD model; returns the one that scores again."""
    from jobs.model import pd_model

    settings = settings or load_settings()
    return pd_model.rollback(_spark(settings), settings)


def ensure_model(as_of: dt.date, settings: Settings | None = None) -> str:
    """The model to score with: the registered one, or a first one trained now when none exists yet."""
    from jobs.model import pd_model

    settings = settings or load_settings()
    try:
        return pd_model.current_model(_spark(settings), settings, as_of)["model_version"]
    except pd_model.ModelError:
        log.info("no PD model registered as of %s: training the first one", as_of)
        return train(as_of, settings)["model_version"]


def score(as_of: dt.date, settings: Settings | None = None) -> int:
    from jobs.model import score as scoring

    settings = settings or load_settings()
    return scoring.run(_spark(settings), settings, as_of)


def publish(as_of: dt.date, settings: Settings | None = None) -> dict:
    from jobs.serve import publish as publishing

    settings = settings or load_settings()
    return asdict(publishing.run(_spark(settings), settings, as_of))


def night_report(as_of: dt.date, settings: Settings | None = None) -> str:
    """Write the night's HTML report; returns its path."""
    from jobs import night_report as report

    settings = settings or load_settings()
    return str(report.write(_spark(settings), settings, as_of))


def nightly(landing: str, as_of: dt.date, settings: Settings | None = None, on_step=None) -> dict:
    """The whole nightly chain for `as_of`, in the order the DAG runs it; returns what each step did.
    `on_step(name)` is called as each step starts (progress for the terminal)."""
    settings = settings or load_settings()
    steps = {
        "ingest": lambda: ingest(landing, settings=settings),
        "features": lambda: features(as_of, settings),
        "model_version": lambda: ensure_model(as_of, settings),
        "scored": lambda: score(as_of, settings),
        "published": lambda: publish(as_of, settings),
        "report": lambda: night_report(as_of, settings),
    }
    done = {}
    for name, step in steps.items():
        if on_step:
            on_step(name)
        done[name] = step()
    return done

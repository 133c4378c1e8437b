"""Every environment-dependent value, read from the environment in one place.

Transforms never branch on where they run: local, cluster and production differ only in these settings.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from pathlib import Path

from jobs.errors import SettingsError


@dataclass(frozen=True)
class Settings:
    lakehouse_root: str
    spark_master: str
    serving_url: str
    airflow_home: str
    shuffle_partitions: int
    model_dir: str
    landing_dir: str
    serving_api_keys: tuple[str, ...] = ()
    task_runner: str = "in-process"
    spark_driver_memory: str = "4g"
    # off: Spark interprets each query's expressions instead of compiling Java for them; on small data (a test, a
    # quiet night) compiling, and the JIT warming each new class, costs more than the compiled code saves
    spark_codegen: bool = True
    spark_extra_packages: tuple[str, ...] = ()
    spark_java_options: str = ""  # more options for the driver's and executors' JVMs, e.g. a garbage collector
    pii_token_key: str = ""
    challenger_margin: float = 0.005
    pd_training_backend: str = "auto"
    pd_spark_training_rows: int = 1_000_000
    landing_max_file_bytes: int = 2_048_000_000  # a larger landing file is quarantined whole, unread
    application_max_file_bytes: int = 20_000_000  # a larger document handed over with an application is refused
    reporting_currency: str = "CNY"  # every amount is converted to it at ingest (silver.fx_rates)
    fx_max_age_days: int = 7  # the oldest rate, in days before an amount's date, that may convert it
    max_quarantined_share: float = 0.5  # a source's batch quarantining more of its rows fails the ingest
    graph_window_days: int = 365  # gold.feat_graph's graph-wide features see the trade of this many days to as_of
    crop_model_every_days: int = 7  # the crop model is trained again after this many days (or a new season or crop mix)

    def table_path(self, layer: str, name: str) -> str:
        return f"{self.lakehouse_root.rstrip('/')}/{layer}/{name}"


def _absolute(path: str) -> str:
    """Local paths become absolute; URIs (s3a://, abfss://, ...) are kept as they are."""
    return path if "://" in path else str(Path(path).expanduser().resolve())


def _choice(env, name: str, default: str, allowed: tuple[str, ...]) -> str:
    value = env.get(name, default).strip().lower()
    if value not in allowed:
        raise SettingsError(f"{name}={value!r}: expected one of {', '.join(allowed)}")
    return value


def _megabytes(env, name: str, default: str) -> int:
    """A size in MB (10^6 bytes; fractions allowed), as bytes."""
    try:
        size = float(env.get(name, default))
    except ValueError:
        size = math.nan
    if not 0 < size < math.inf:
        raise SettingsError(f"{name}={env.get(name)!r}: expected a size in MB above 0")
    return int(size * 1_000_000)


def _currency(env, name: str, default: str) -> str:
    value = env.get(name, default).strip().upper()
    if not re.fullmatch(r"[A-Z]{3}", value):
        raise SettingsError(f"{name}={value!r}: expected an ISO-4217 code such as CNY, EUR or USD")
    return value


def _number(env, name: str, default: str, low: float, high: float, kind=float):
    """A number in [low, high] (`kind` int or float)."""
    try:
        value = kind(env.get(name, default))
    except ValueError:
        value = None
    if value is None or not low <= value <= high:
        what = "a whole number" if kind is int else "a number"
        raise SettingsError(f"{name}={env.get(name)!r}: expected {what} from {low} to {high}")
    return value


def load_settings(env: dict[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    root = _absolute(env.get("LAKEHOUSE_ROOT", "./lakehouse"))
    return Settings(
        lakehouse_root=root,
        spark_master=env.get("SPARK_MASTER", "local[*]"),
        serving_url=env.get("SERVING_URL", f"sqlite:///{root}/serving.db"),
        airflow_home=_absolute(env.get("AIRFLOW_HOME", "./.airflow")),
        shuffle_partitions=int(env.get("SPARK_SHUFFLE_PARTITIONS", "4")),
        model_dir=env.get("MODEL_DIR", f"{root}/models"),
        landing_dir=_absolute(env.get("LANDING_DIR", "./landing")),
        task_runner=env.get("HELICOPTER_TASK_RUNNER", "in-process"),
        spark_driver_memory=env.get("SPARK_DRIVER_MEMORY", "4g"),
        spark_codegen=_choice(env, "SPARK_CODEGEN", "on", ("on", "off")) == "on",
        spark_extra_packages=tuple(p.strip() for p in env.get("SPARK_EXTRA_PACKAGES", "").split(",") if p.strip()),
        spark_java_options=env.get("SPARK_JAVA_OPTIONS", "").strip(),
        serving_api_keys=tuple(k.strip() for k in env.get("SERVING_API_KEYS", "").split(",") if k.strip()),
        pii_token_key=env.get("PII_TOKEN_KEY", ""),
        challenger_margin=float(env.get("CHALLENGER_MIN_AUC_GAIN", "0.005")),
        pd_training_backend=_choice(env, "PD_TRAINING_BACKEND", "auto", ("local", "spark", "auto")),
        pd_spark_training_rows=int(env.get("PD_SPARK_TRAINING_ROWS", "1000000")),
        landing_max_file_bytes=_megabytes(env, "LANDING_MAX_FILE_MB", "2048"),
        application_max_file_bytes=_megabytes(env, "APPLICATION_MAX_FILE_MB", "20"),
        reporting_currency=_currency(env, "REPORTING_CURRENCY", "CNY"),
        fx_max_age_days=_number(env, "FX_MAX_AGE_DAYS", "7", 0, 366, int),
        max_quarantined_share=_number(env, "INGEST_MAX_QUARANTINED_SHARE", "0.5", 0, 1),
        graph_window_days=_number(env, "GRAPH_WINDOW_DAYS", "365", 1, 3660, int),
        crop_model_every_days=_number(env, "CROP_MODEL_EVERY_DAYS", "7", 1, 366, int),
    )

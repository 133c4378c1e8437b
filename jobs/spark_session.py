"""The one Spark session factory: Delta extension and catalog, UTC, defaults that suit a small machine.

`python -m jobs.spark_session --check` starts Spark once, which makes it fetch and cache the Delta jars.
"""

from __future__ import annotations

import logging
import os
import sys
from contextlib import contextmanager
from pathlib import Path

from jobs.settings import Settings, load_settings


def get_spark(settings: Settings | None = None):
    """Return the process's Spark session, creating it on first use (one session per process: the settings of the
    first call set the master and the JVM's log folder; table locations always come from each job's settings)."""
    from delta import configure_spark_with_delta_pip
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    settings = settings or load_settings()
    # workers must run this interpreter, or Python UDFs and xgboost.spark fail
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    builder = (
        SparkSession.builder.appName("helicopter")
        .master(settings.spark_master)
        .config("spark.sql.extensions", "io.delta.sql.DeltaSparkSessionExtension")
        .config("spark.sql.catalog.spark_catalog", "org.apache.spark.sql.delta.catalog.DeltaCatalog")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.extraJavaOptions", java_options(settings))
        .config("spark.executor.extraJavaOptions", java_options(settings))
        .config("spark.sql.shuffle.partitions", str(settings.shuffle_partitions))
        .config("spark.default.parallelism", str(settings.shuffle_partitions))
        .config("spark.sql.warehouse.dir", f"{settings.lakehouse_root}/_warehouse")
        .config("spark.driver.memory", settings.spark_driver_memory)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.databricks.delta.schema.autoMerge.enabled", "false")
        .config("spark.databricks.delta.snapshotPartitions", "2")
    )
    if not settings.spark_codegen:  # every expression interpreted: no whole-stage code, no generated projections
        builder = builder.config("spark.sql.codegen.wholeStage", "false").config(
            "spark.sql.codegen.factoryMode", "NO_CODEGEN"
        )
    with _jvm_output_to(Path(settings.lakehouse_root) / "_logs" / "spark-jvm.log"):
        spark = configure_spark_with_delta_pip(
            builder, extra_packages=list(settings.spark_extra_packages)
        ).getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    logging.getLogger("py4j").setLevel(logging.WARNING)
    logging.getLogger("SQLQueryContextLogger").setLevel(logging.CRITICAL)  # repeats every SQL error as JSON
    return spark


def java_options(settings: Settings) -> str:
    """The options of every JVM of the session, the driver's and the executors': UTC, and SPARK_JAVA_OPTIONS."""
    return " ".join(["-Duser.timezone=UTC", settings.spark_java_options]).strip()


@contextmanager
def _jvm_output_to(log_file: Path):
    """Send the JVM's own output (Ivy's resolution report, log4j start-up lines) to a log file instead of the
    terminal: the JVM inherits file descriptors 1 and 2 when it starts, so point them at the file meanwhile."""
    if "://" in str(log_file):
        yield
        return
    log_file.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with log_file.open("ab") as sink:
        os.dup2(sink.fileno(), 1)
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def _check() -> int:
    """Start Spark (fetching the Delta jars on first use) and round-trip a tiny Delta table."""
    import tempfile

    spark = get_spark()
    with tempfile.TemporaryDirectory() as tmp:
        spark.range(3).write.format("delta").save(tmp)
        rows = spark.read.format("delta").load(tmp).count()
    print(f"Spark {spark.version} with Delta ready ({rows} rows round-tripped)")
    spark.stop()
    return 0


if __name__ == "__main__":
    if "--check" in sys.argv:
        sys.exit(_check())
    print("usage: python -m jobs.spark_session --check", file=sys.stderr)
    sys.exit(2)

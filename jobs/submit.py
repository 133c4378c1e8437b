"""Running a pipeline step through `spark-submit`, so that the process that asks for it (Airflow's worker) never
hosts Spark itself: the step's driver is a process of its own, on the master that SPARK_MASTER names.

`spark-submit ... jobs/submit.py STEP '{"as_of": "2026-09-12"}'` runs `jobs.pipeline.STEP(**kwargs)` and prints its
result as JSON on the last line of stdout.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

from jobs.errors import StepError
from jobs.pipeline import STEPS
from jobs.settings import Settings
from jobs.spark_session import java_options


def delta_packages() -> str:
    """The Maven coordinates that delta-spark itself asks for (it knows the artifact for the installed Spark); a
    builder only collects options, no Spark starts here."""
    from delta import configure_spark_with_delta_pip
    from pyspark.sql import SparkSession

    return configure_spark_with_delta_pip(SparkSession.Builder())._options["spark.jars.packages"]


def spark_home() -> Path:
    """The installed pyspark is a whole Spark distribution: its bin/spark-submit is the one to use."""
    import pyspark

    return Path(pyspark.__file__).parent


def command(settings: Settings, step: str, kwargs: dict) -> list[str]:
    if step not in STEPS:
        raise StepError(f"unknown step {step!r}; known: {', '.join(STEPS)}")
    return [
        str(spark_home() / "bin" / "spark-submit"),
        "--master", settings.spark_master,
        "--name", f"helicopter-{step}",
        "--packages", ",".join([delta_packages(), *settings.spark_extra_packages]),
        "--driver-memory", settings.spark_driver_memory,
        "--driver-java-options", java_options(settings),
        "--conf", f"spark.pyspark.python={sys.executable}",
        "--conf", f"spark.pyspark.driver.python={sys.executable}",
        __file__, step, json.dumps(kwargs, default=str),
    ]  # fmt: skip


def submit(settings: Settings, step: str, **kwargs):
    """Run `step` with spark-submit and return its result; a failure raises with the driver's last words."""
    env = {**os.environ, "SPARK_HOME": str(spark_home()), "PYSPARK_PYTHON": sys.executable}
    done = subprocess.run(command(settings, step, kwargs), capture_output=True, text=True, env=env)
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-5:]
        raise StepError(f"spark-submit {step} failed ({done.returncode}): " + " | ".join(tail))
    return json.loads(done.stdout.strip().splitlines()[-1])


def _main(step: str, arguments: str) -> None:
    from jobs import pipeline

    kwargs = json.loads(arguments)
    for name in ("as_of", "through"):  # the dates a step takes
        if kwargs.get(name):
            kwargs[name] = dt.date.fromisoformat(kwargs[name])
    print(json.dumps(getattr(pipeline, step)(**kwargs), default=str))


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    _main(sys.argv[1], sys.argv[2])

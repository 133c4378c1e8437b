"""What every benchmark and study shares: the machine it ran on, the commit it measured, timing, and recording its
results as `bench/results/<name>.json` and `.md` (each naming the commit, the machine and the versions)."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from importlib.metadata import version
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
PACKAGES = ("pyspark", "delta-spark", "apache-airflow", "great-expectations", "xgboost-cpu", "pyarrow", "deltalake")


def machine() -> dict:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    mem_kb = int(
        next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal"))
    )
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": round(mem_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "load_average": os.getloadavg(),
        **{p: version(p) for p in PACKAGES},
    }


STACK = (("pyspark", "pyspark"), ("delta-spark", "delta-spark"), ("Airflow", "apache-airflow"),
         ("GX", "great-expectations"), ("xgboost", "xgboost-cpu"))  # fmt: skip


def machine_line(m: dict) -> str:
    """The machine and the versions of the stack it names (`machine()`), as every results page opens: no full stop."""
    versions = "".join(f", {name} {m[key]}" for name, key in STACK if key in m)
    return f"{m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB; Python {m['python']}{versions}"


def commit() -> str:
    """The measured commit, `+changes` when the work tree differs from it (its results pages aside: a run that records
    several, one after another, measures the same code)."""
    root = Path(__file__).resolve().parents[1]
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True).stdout.strip()
    status = ["git", "status", "--porcelain", "--untracked-files=no", "--", ".", f":!{RESULTS.relative_to(root)}"]
    dirty = subprocess.run(status, cwd=root, capture_output=True)
    return (head or "unknown") + ("+changes" if dirty.stdout.strip() else "")


MEASURED = commit()  # the tree as the run started (a benchmark imports this first): not edits made while it runs


def record(name: str, result: dict, markdown: str) -> None:
    """Write a benchmark's results as bench/results/<name>.json and .md, each naming the commit, the machine and the
    time they were recorded, and print the markdown."""
    stamp = {"commit": MEASURED, "recorded_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
    stamp["machine"] = result.get("machine") or machine()
    header = (
        f"<!-- recorded {stamp['recorded_at']} at commit {stamp['commit']} on {stamp['machine']['cpu']}, "
        f"{stamp['machine']['cores']} cores, {stamp['machine']['memory_gb']} GB -->\n"
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(stamp | result, indent=2, default=str) + "\n", encoding="utf-8")
    (RESULTS / f"{name}.md").write_text(header + markdown, encoding="utf-8")
    print(markdown)


def timed(fn, repeats: int) -> tuple[float, object]:
    """Median wall time of `repeats` calls (each call must be idempotent), and the last result."""
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def in_own_process(*args: str) -> dict:
    """`python -m ARGS...` in a process of its own (its own Spark session and lakehouse), returning the JSON object it
    prints on its last line; its failure stops the caller with the end of its stderr."""
    out = subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True)
    if out.returncode:
        sys.exit(f"python -m {' '.join(args)} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])

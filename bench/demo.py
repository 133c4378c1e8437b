"""`python -m bench.demo`: what `make demo` prints and how long it takes, recorded in bench/results/demo.{json,md}.

Runs `helicopter demo` as a user would, in a scratch folder of its own (its own lakehouse, serving store and world),
and keeps the transcript and the wall time; the README's transcript is this file's.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import machine, record


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="helicopter-bench-demo-"))
    env = {**os.environ, "LAKEHOUSE_ROOT": str(work / "lakehouse"), "SERVING_URL": f"sqlite:///{work}/serving.db"}
    env.pop("SPARK_MASTER", None)
    start = time.perf_counter()
    done = subprocess.run(
        [str(Path(sys.executable).parent / "helicopter"), "demo", "--out", str(work / "demo-world")],
        env=env,
        cwd=work,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"helicopter demo failed ({done.returncode}): {done.stderr.strip().splitlines()[-1:]}")
    transcript = done.stdout.replace(str(work) + "/", "")
    steps = [line for line in done.stderr.splitlines() if line.startswith("[")]
    result = {"seconds": seconds, "transcript": transcript, "steps": steps, "machine": machine()}
    markdown = (
        f"# make demo\n\n`helicopter demo` in {seconds / 60:.1f} minutes (set-up not included: the environment was "
        "ready).\n\n```\n" + "\n".join(steps) + "\n" + transcript + "```\n"
    )
    record("demo", result, markdown)


if __name__ == "__main__":
    main()

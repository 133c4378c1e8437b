"""`python -m bench.freshness`: which results pages still measure the code as it is.

A page is fresh when no file of the code it measured (`MEASURED_CODE`: its benchmark or study, and the product and
simulator code under it) changed between the commit it recorded and HEAD. A page without a recorded commit, or
recorded on a work tree with changes, cannot be shown fresh. Pages kept for comparison (`KEPT`) measured an older
version on purpose. Prints one row per page; exits 1 when a page that README.md or docs/ quote is not fresh.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys

from bench.common import RESULTS

ROOT = RESULTS.parents[1]
SHARED = ("jobs/tables.py", "jobs/quality.py", "jobs/spark_session.py", "jobs/settings.py", "jobs/snapshots.py")
CONTRACTS = ("schemas", "expectations", *SHARED)
INGEST = ("jobs/ingest", "jobs/adapt", "jobs/landing_writers.py", *CONTRACTS)
DOCUMENTS = ("jobs/documents", "jobs/silver/vouchers.py")
NIGHT = ("jobs", "dags", "schemas", "expectations", "simulator")  # everything a whole night runs, on a simulated world
MEASURED_CODE = {  # page (bench/results/<page>.md) -> the code it measured, beside its own benchmark or study
    "apply": (*NIGHT, "bench/apply.py"),
    "demo": (*NIGHT, "bench/demo.py"),
    "documents": (*DOCUMENTS, "evaluation/document_sets.py", "evaluation/reader_training.py", "bench/documents.py"),
    "farm": (*INGEST, "jobs/features", "jobs/silver/parcel_observations.py", "simulator/farms.py", "bench/farm.py"),
    "features": (*INGEST, "jobs/features/feat_txn.py", "simulator/payments.py", "bench/features.py"),
    "graph": (*CONTRACTS, "jobs/features", "jobs/silver/trade_edges.py", "bench/graph.py"),
    "ingest": (*INGEST, "simulator/payments.py", "bench/ingest.py"),
    "medium": (*NIGHT, "bench/__main__.py"),
    "model": (*NIGHT, "evaluation/model.py", "evaluation/scorecard.py"),
    "night_profile": (*NIGHT, "bench/night_profile.py"),
    "ocr_engines": ("jobs/documents/ocr.py", "evaluation/ocr_engines.py"),
    "scaling": (*NIGHT, "bench/__main__.py"),
    "serving": ("jobs/serve", "bench/serving.py"),
    "simulate": ("simulator", "jobs/landing_writers.py", "bench/simulate.py"),
    "small": (*NIGHT, "bench/__main__.py"),
    "tampering": (*INGEST, *DOCUMENTS, "simulator", "evaluation/tampering.py"),
    "training": ("jobs/model", "bench/training.py"),
    "vouchers": (*INGEST, *DOCUMENTS, "simulator/vouchers", "bench/vouchers.py"),
}
KEPT = {  # pages of an older version, kept to compare with: what they measured is their header's commit
    "documents_before": "documents",
    "tampering_before": "tampering",
    "vouchers_before": "vouchers",
    "model_with_vouchers": "model",
}


def git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()


def recorded_commit(page: str) -> str | None:
    """The commit a page recorded (its JSON's `commit`, as `bench.common.record` writes it), None when it has none."""
    path = RESULTS / f"{page}.json"
    return json.loads(path.read_text(encoding="utf-8")).get("commit") if path.exists() else None


def changed_since(commit: str, paths: tuple[str, ...]) -> list[str]:
    """Files under `paths` that differ between `commit` and HEAD."""
    return git("diff", "--name-only", commit, "HEAD", "--", *paths).splitlines()


def verdict(page: str) -> tuple[str, str]:
    """(fresh | stale | unknown | kept, why) of one page."""
    if page in KEPT:
        return "kept", f"an older version of {KEPT[page]}, for comparison"
    commit = recorded_commit(page)
    if commit is None:
        return "unknown", "no commit recorded"
    if commit.endswith("+changes"):
        return "unknown", f"recorded on a changed work tree at {commit[:7]}"
    if git("cat-file", "-t", commit) != "commit":
        return "unknown", f"{commit[:7]} is not in this clone's history"
    changed = changed_since(commit, MEASURED_CODE[page])
    if not changed:
        return "fresh", f"nothing it measured changed since {commit[:7]}"
    return "stale", f"{len(changed)} files changed since {commit[:7]}, e.g. {', '.join(changed[:3])}"


def pages() -> list[str]:
    return sorted(p.stem for p in RESULTS.glob("*.md"))


def quoted() -> set[str]:
    """The pages README.md and docs/ link to."""
    texts = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    return {m for t in texts for m in re.findall(r"bench/results/(\w+)\.md", t.read_text(encoding="utf-8"))}


def main() -> int:
    cited, failing = quoted(), []
    for page in pages():
        state, why = verdict(page)
        mark = "quoted" if page in cited else ""
        print(f"{page:22} {state:8} {mark:7} {why}")
        if page in cited and state not in ("fresh", "kept"):
            failing.append(page)
    if failing:
        print(f"quoted in README.md or docs/ and not fresh: {', '.join(failing)}: re-run their benchmarks")
    return 1 if failing else 0


if __name__ == "__main__":
    sys.exit(main())

"""The check that a results page still measures the code as it is (`bench.freshness`)."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from bench import freshness


def test_every_results_page_says_what_it_measured_and_those_paths_exist():
    for page in freshness.pages():
        assert page in freshness.MEASURED_CODE or page in freshness.KEPT, page
    root = freshness.ROOT
    missing = {p for paths in freshness.MEASURED_CODE.values() for p in paths if not (root / p).exists()}
    assert not missing


@pytest.fixture
def project(tmp_path, monkeypatch) -> tuple[Path, Callable]:
    """A throwaway repository with one benchmark page recorded at its first commit, quoted by the README."""

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True, text=True).stdout.strip()

    git("init", "-q")
    git("config", "user.email", "t@example.org")
    git("config", "user.name", "t")
    (tmp_path / "jobs").mkdir()
    (tmp_path / "jobs" / "serve.py").write_text("x = 1\n")
    (tmp_path / "jobs" / "other.py").write_text("y = 1\n")
    (tmp_path / "README.md").write_text("See [serving](bench/results/serving.md).\n")
    git("add", "-A")
    git("commit", "-qm", "first")
    results = tmp_path / "bench" / "results"
    results.mkdir(parents=True)
    first = git("rev-parse", "HEAD")
    (results / "serving.md").write_text("# s\n")
    (results / "serving.json").write_text(f'{{"commit": "{first}", "machine": {{"cpu": "x"}}}}\n')
    (results / "undated.md").write_text("# no header\n")
    (results / "undated.json").write_text('{"machine": {"cpu": "x"}}\n')
    git("add", "-A")
    git("commit", "-qm", "results")
    monkeypatch.setattr(freshness, "ROOT", tmp_path)
    monkeypatch.setattr(freshness, "RESULTS", results)
    monkeypatch.setattr(freshness, "MEASURED_CODE", {"serving": ("jobs/serve.py",), "undated": ("jobs",)})
    monkeypatch.setattr(freshness, "KEPT", {})
    return tmp_path, git


def test_a_page_is_fresh_until_the_code_it_measured_changes(project, capsys):
    root, git = project
    assert freshness.verdict("serving")[0] == "fresh"
    assert freshness.verdict("undated") == ("unknown", "no commit recorded")
    (root / "jobs" / "other.py").write_text("y = 2\n")
    git("commit", "-qam", "another module")
    assert freshness.verdict("serving")[0] == "fresh"
    assert freshness.main() == 0  # the quoted page is fresh; the unquoted undated one fails nothing

    (root / "jobs" / "serve.py").write_text("x = 2\n")
    git("commit", "-qam", "the measured module")
    state, why = freshness.verdict("serving")
    assert state == "stale" and "jobs/serve.py" in why
    assert freshness.main() == 1
    assert "quoted in README.md or docs/ and not fresh: serving" in capsys.readouterr().out

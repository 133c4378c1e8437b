"""No secret in the repository: keys come from settings (environment) or Airflow connections, never from files."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from jobs.settings import load_settings

pytestmark = pytest.mark.chaos
ROOT = Path(__file__).resolve().parents[1]
SECRET_PATTERNS = {
    "private key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    "AWS access key id": re.compile(r"\bAKIA[0-9A-Z]{16}\b"),
    "GitHub token": re.compile(r"\bgh[pousr]_[A-Za-z0-9]{30,}\b"),
    "assigned secret": re.compile(r"""(?i)(api[_-]?keys?|secret|token|password)["']?\s*[:=]\s*["'][^"'\s]{8,}["']"""),
}


def tracked_files() -> list[Path]:
    out = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True)
    if out.returncode != 0:
        pytest.skip("not a git checkout: nothing tracked to scan")
    return [ROOT / name for name in out.stdout.splitlines() if name != "requirements.lock"]  # hashes, not secrets


def test_no_secret_is_committed():
    found = []
    for path in tracked_files():
        text = path.read_text(errors="replace")
        found += [f"{path.relative_to(ROOT)}: {kind}" for kind, p in SECRET_PATTERNS.items() if p.search(text)]
    assert found == []


def test_the_scan_would_see_a_committed_key():
    # written in pieces, so that this file is not itself a leak
    leaked = "SERVING_API_KEYS" + ' = "3f9a7c1d2e8b4a60"\n' + "-----BEGIN RSA " + "PRIVATE KEY-----"
    assert {kind for kind, pattern in SECRET_PATTERNS.items() if pattern.search(leaked)} == {
        "assigned secret",
        "private key",
    }


def test_api_keys_have_no_default_and_come_from_the_environment():
    assert load_settings({}).serving_api_keys == ()
    assert load_settings({"SERVING_API_KEYS": "a1, b2"}).serving_api_keys == ("a1", "b2")

"""The real `helicopter` console script, run as a user runs it: help, one-line errors, lookup, simulate. No Spark."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from jobs.cli import parser
from jobs.serve import store

HELICOPTER = Path(sys.executable).parent / "helicopter"
GUIDE_COMMANDS = {
    "simulate",
    "ingest",
    "features",
    "train",
    "score",
    "publish",
    "run",
    "lookup",
    "serve",
    "report",
    "demo",
}
ROW = {
    "as_of_date": "2026-03-01",
    "entity_id": "E1",
    "segment": "farmer",
    "pd": 0.0321,
    "limit_amount": 12000.0,
    "currency": "CNY",
    "decision": "approved",
    "reason_codes": json.dumps(["SEASONAL_INCOME"]),
    "model_version": "pd-2026-02-01",
    "policy_version": "policy-1",
}


@pytest.fixture
def env(tmp_path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "HELICOPTER_DEBUG"}
    env.update(
        LAKEHOUSE_ROOT=str(tmp_path / "lakehouse"),
        SERVING_URL=f"sqlite:///{tmp_path}/serving.db",
        LANDING_DIR=str(tmp_path / "landing"),
    )
    return env


@pytest.fixture
def published(env) -> dict:
    eng = store.engine(env["SERVING_URL"])
    store.publish(eng, [ROW], source_rows=1, source_checksum=store.checksum([ROW]))
    eng.dispose()
    return ROW


def helicopter(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    done = subprocess.run([str(HELICOPTER), *args], env=env, capture_output=True, text=True, timeout=120)
    assert "Traceback" not in done.stderr, done.stderr
    return done


def one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    return lines[0]


def subcommands() -> list[str]:
    actions = [a for a in parser()._subparsers._group_actions if a.choices]  # the one subparsers action
    return sorted(actions[0].choices)


def test_the_console_script_is_installed_beside_the_interpreter():
    assert HELICOPTER.is_file() and os.access(HELICOPTER, os.X_OK)


def test_help_lists_every_command_of_the_guide(env):
    done = helicopter(env, "--help")
    assert done.returncode == 0
    assert GUIDE_COMMANDS <= set(subcommands())
    assert all(name in done.stdout for name in GUIDE_COMMANDS)


@pytest.mark.parametrize("command", subcommands())
def test_every_command_has_help(env, command):
    done = helicopter(env, command, "--help")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"usage: helicopter {command}")


def test_lookup_json_prints_one_object_with_the_guide_fields(env, published, guide_limit_fields):
    done = helicopter(env, "lookup", "E1", "--json")
    assert done.returncode == 0, done.stderr
    [line] = done.stdout.strip().splitlines()
    limit = json.loads(line)
    assert guide_limit_fields <= set(limit)
    assert {k: limit[k] for k in guide_limit_fields} == {
        **{k: ROW[k] for k in guide_limit_fields},
        "reason_codes": ["SEASONAL_INCOME"],
    }


def test_lookup_prints_a_readable_limit(env, published):
    done = helicopter(env, "lookup", "E1")
    assert done.returncode == 0, done.stderr
    assert "E1 (farmer): approved, limit 12,000.00 CNY" in done.stdout
    assert "SEASONAL_INCOME" in done.stdout and "pd-2026-02-01" in done.stdout


def test_lookup_of_an_unknown_id_exits_1_with_one_line_naming_it(env, published):
    done = helicopter(env, "lookup", "NOPE-42")
    assert done.returncode == 1
    assert "NOPE-42" in one_line(done.stderr)
    assert done.stdout == ""


def test_apply_refuses_an_id_outside_the_contract_and_a_business_no_night_knows_with_one_line(env, tmp_path):
    statement = tmp_path / "statement.pdf"
    statement.write_bytes(b"%PDF-1.4")
    done = helicopter(env, "apply", "../E1", "--document", "bank_statement", str(statement))
    assert done.returncode == 1 and "'../E1' is not an entity id" in one_line(done.stderr)
    done = helicopter(env, "apply", "E1", "--document", "bank_statement", str(statement))
    assert done.returncode == 1 and "E1 has no limit yet" in one_line(done.stderr) and done.stdout == ""


def test_lookup_before_any_publish_exits_1_with_one_line(env):
    done = helicopter(env, "lookup", "E1")
    assert done.returncode == 1
    assert "no limits have been published" in one_line(done.stderr)
    assert done.stdout == ""


def test_publish_rollback_with_nothing_published_exits_1_with_one_line(env):
    done = helicopter(env, "publish", "--rollback")
    assert done.returncode == 1
    assert "nothing to roll back" in one_line(done.stderr)


def test_a_bad_as_of_date_exits_2_naming_it(env):
    done = helicopter(env, "features", "--as-of", "2026-13-01")
    assert done.returncode == 2
    assert "2026-13-01" in done.stderr.strip().splitlines()[-1]


def test_a_missing_landing_folder_exits_2_naming_it(env):
    done = helicopter(env, "ingest", "--landing", "/does/not/exist")
    assert done.returncode == 2
    assert "/does/not/exist" in done.stderr.strip().splitlines()[-1]


def test_a_bad_ingest_through_date_exits_2_naming_it(env, tmp_path):
    done = helicopter(env, "ingest", "--landing", str(tmp_path), "--through", "2026-02-30")
    assert done.returncode == 2
    assert "2026-02-30" in done.stderr.strip().splitlines()[-1]


def test_simulate_with_zero_entities_exits_2(env, tmp_path):
    done = helicopter(
        env,
        "simulate",
        "--out",
        str(tmp_path / "w"),
        "--entities",
        "0",
        "--days",
        "3",
        "--start",
        "2025-01-01",
        "--seed",
        "1",
    )
    assert done.returncode == 2
    assert "--entities" in done.stderr.strip().splitlines()[-1]
    assert not (tmp_path / "w").exists()


def test_a_small_simulate_writes_landing_files_and_truth(env, tmp_path):
    out = tmp_path / "world"
    done = helicopter(
        env, "simulate", "--out", str(out), "--entities", "5", "--days", "3", "--start", "2025-01-01", "--seed", "1"
    )
    assert done.returncode == 0, done.stderr
    first_day = out / "landing" / "transactions" / "dt=2025-01-01" / "transactions.csv"
    assert first_day.is_file() and len(first_day.read_text().splitlines()) >= 1
    bad_inputs = json.loads((out / "truth" / "bad_inputs.json").read_text())
    assert isinstance(bad_inputs, dict) and all(isinstance(v, int) for v in bad_inputs.values())
    assert json.loads(done.stdout)["entities"] == 5

"""The benchmarks' shared helper that runs a measurement in a process of its own."""

from __future__ import annotations

import pytest

from bench.common import in_own_process


def test_a_process_of_its_own_hands_back_the_json_of_its_last_line(tmp_path):
    measured = tmp_path / "measured.json"
    measured.write_text('{"seconds": 1.5, "rows": 3}')
    assert in_own_process("json.tool", "--compact", str(measured)) == {"seconds": 1.5, "rows": 3}


def test_a_process_of_its_own_that_fails_stops_the_caller_with_its_stderr(tmp_path):
    with pytest.raises(SystemExit, match=r"(?s)python -m json.tool .*missing.json failed:\n.*No such file"):
        in_own_process("json.tool", str(tmp_path / "missing.json"))

"""Bring your own table: `helicopter train --table FILE --label COLUMN` cross-validates the PD learner on it."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from jobs import cli
from jobs.errors import ModelError
from jobs.model.own_table import binary_label, cross_validate


@pytest.mark.realdata
def test_german_credit_cross_validates_to_an_auc_of_at_least_0_78(shared_data, capsys):
    table = shared_data / "german_credit" / "germancredit.csv"
    assert cli.main(["train", "--table", str(table), "--label", "creditability", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert (result["rows"], result["features"], len(result["folds"])) == (1000, 20, 5)
    assert result["bad_rate"] == pytest.approx(0.3)  # "bad" is the positive class, read from the label itself
    assert result["mean"]["auc"] >= 0.78
    assert result["mean"]["gini"] == pytest.approx(2 * result["mean"]["auc"] - 1)


def test_a_signal_in_numbers_and_categories_is_found_and_noise_is_not(tmp_path):
    rng = np.random.default_rng(3)
    n = 1500
    sales, sector = rng.lognormal(8, 1, n), rng.choice(["shop", "farm", "online"], n)
    risk = -1.0 - 0.8 * (np.log(sales) - 8) + np.where(sector == "farm", 1.2, 0.0)
    defaulted = rng.random(n) < 1 / (1 + np.exp(-risk))
    table = pd.DataFrame({"sales": sales, "sector": sector, "noise": rng.normal(size=n), "defaulted": defaulted})
    path = tmp_path / "mine.parquet"
    table.to_parquet(path)
    signal = cross_validate(pd.read_parquet(path), "defaulted", folds=4)
    assert signal["mean"]["auc"] > 0.7 and len(signal["folds"]) == 4
    noise = cross_validate(table.assign(defaulted=rng.random(n) < 0.3), "defaulted", folds=4)
    assert 0.4 < noise["mean"]["auc"] < 0.6


def test_the_label_must_say_which_outcome_is_bad():
    assert binary_label(pd.Series(["good", "bad", "bad"])).tolist() == [0, 1, 1]
    assert binary_label(pd.Series([0, 1, 1])).tolist() == [0, 1, 1]
    assert binary_label(pd.Series(["A", "B"]), positive="B").tolist() == [0, 1]
    with pytest.raises(ModelError, match="cannot tell which of"):
        binary_label(pd.Series(["A", "B"]))
    with pytest.raises(ModelError, match="two values, found 3"):
        binary_label(pd.Series(["a", "b", "c"]))
    with pytest.raises(ModelError, match="1 empty values"):
        binary_label(pd.Series(["good", None, "bad"]))


def test_the_cli_says_what_is_missing_in_one_line(tmp_path, capsys):
    assert cli.main(["train", "--table", str(tmp_path / "none.csv"), "--label", "y"]) == 1
    assert cli.main(["train"]) == 1
    errors = capsys.readouterr().err.splitlines()
    assert errors[0].startswith("error: ") and "no such file" in errors[0]
    assert errors[1] == "error: train needs --as-of (or --rollback, or --table FILE --label COLUMN for your own table)"


def small_book(rows: int = 80) -> pd.DataFrame:
    """A loan book with an identifier, an empty column, and an outcome written as a person would."""
    rng = np.random.default_rng(5)
    sales = rng.lognormal(8, 1, rows)
    written_off = rng.random(rows) < 1 / (1 + np.exp(2 * (np.log(sales) - 8)))
    return pd.DataFrame(
        {
            "loan_ref": [f"L{i:05d}" for i in range(rows)],
            "sales": sales,
            "notes": [None] * rows,
            "outcome": np.where(written_off, "Written Off", "Paid"),
        }
    )


def test_own_table_polish_sniffs_matches_checks_and_warns(tmp_path, capsys):
    book = tmp_path / "book.csv"
    small_book().to_csv(book, sep=";", index=False)
    args = ["train", "--table", str(book), "--label", "outcome", "--folds", "2", "--json"]
    assert cli.main([*args, "--positive", "  written OFF"]) == 0
    out, err = capsys.readouterr()
    result = json.loads(out)
    assert result["bad_value"] == "Written Off" and len(result["folds"]) == 2 and result["features"] == 3
    assert "book.csv is read as separated by ';'" in err
    assert "warning: column 'loan_ref' has a different value in every row, like an identifier" in err
    assert "warning: column 'notes' is empty in every row" in err
    assert "'sales'" not in err  # a measurement with distinct values is no identifier

    with pytest.raises(SystemExit):
        cli.main([*args[:-3], "--folds", "1"])
    assert "--folds: must be at least 2: 1" in capsys.readouterr().err
    assert cli.main([*args, "--positive", "defaulted"]) == 1
    assert "--positive 'defaulted' is not one of the label's values" in capsys.readouterr().err
    with pytest.raises(ModelError, match=r"3 rows of the rarer outcome cannot fill 5 folds: use --folds 3"):
        cross_validate(small_book().assign(outcome=["Paid"] * 77 + ["Written Off"] * 3), "outcome", "written off", 5)


def test_a_wrong_call_fails_before_pandas_and_xgboost_are_imported(tmp_path):
    book = tmp_path / "book.csv"
    book.write_text("a;b;y\n1;2;bad\n")
    calls = {
        "missing file": ["train", "--table", str(tmp_path / "none.csv"), "--label", "y"],
        "no label": ["train", "--table", str(book), "--label", "outcome"],
        "not a table": ["train", "--table", str(tmp_path), "--label", "y"],
    }
    probe = (
        "import sys, json; from jobs import cli; codes = [cli.main(c) for c in json.loads(sys.argv[1])]; "
        "print(json.dumps([codes, sorted(m for m in ('pandas', 'xgboost', 'sklearn', 'pyspark') if m in sys.modules)]))"
    )
    run = subprocess.run(
        [sys.executable, "-c", probe, json.dumps(list(calls.values()))], capture_output=True, text=True, check=True
    )
    codes, heavy = json.loads(run.stdout)
    assert codes == [1, 1, 1] and heavy == []
    lines = run.stderr.splitlines()
    assert "no such file" in lines[0] and "no column 'outcome'; the table has ['a', 'b', 'y']" in lines[1]

"""Bring your own table: `helicopter train --table FILE --label COLUMN` cross-validates the PD learner on it."""

from __future__ import annotations

import json

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

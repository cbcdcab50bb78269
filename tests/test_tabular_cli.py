"""`ganforge tabular fit|sample` end to end on 500 rows of Adult, and bad input as one line."""

from __future__ import annotations

import pandas as pd
import pytest

from ganforge.cli import main

SMALL = ["--set", "model.z_dim=8", "--set", "model.g_width=16", "--set", "model.d_width=16",
         "--set", "train.batch_size=100", "--set", "train.progress=false"]
COLUMNS = ["age", "workclass", "fnlwgt", "education", "education-num", "marital-status", "occupation",
           "relationship", "race", "sex", "capital-gain", "capital-loss", "hours-per-week", "native-country", "income"]


@pytest.fixture(scope="module")
def adult_csv(shared_data, tmp_path_factory):
    """The first 500 rows of Adult's training file as a CSV with a header."""
    path = tmp_path_factory.mktemp("adult") / "adult500.csv"
    raw = pd.read_csv(shared_data / "adult" / "adult.data", header=None, names=COLUMNS, nrows=500,
                      skipinitialspace=True, dtype=str)
    raw.to_csv(path, index=False)
    return path


def test_fit_and_sample_adult(adult_csv, tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["tabular", "fit", str(adult_csv), "--out", str(run), "--target", "income", "--epochs", "3"] + SMALL) == 0
    err = capsys.readouterr().err
    assert "workclass: categorical" in err and "missing" in err and "income: categorical  (target)" in err
    out = tmp_path / "synth.csv"
    assert main(["tabular", "sample", str(run), "-n", "300", "--out", str(out)]) == 0
    real, synth = pd.read_csv(adult_csv, na_values=["?"]), pd.read_csv(out)
    assert list(synth.columns) == COLUMNS and len(synth) == 300
    assert synth.dtypes.to_dict() == real.dtypes.to_dict()
    for name in ("workclass", "education", "income", "sex"):
        assert set(synth[name].dropna()) <= set(real[name].dropna())
    cond = tmp_path / "private.csv"
    assert main(["tabular", "sample", str(run), "-n", "100", "--out", str(cond), "--condition", "workclass=Private"]) == 0
    assert (pd.read_csv(cond)["workclass"] == "Private").all()
    # the output exists: refused without --overwrite, and a bad condition writes nothing
    assert main(["tabular", "sample", str(run), "-n", "10", "--out", str(cond)]) == 1
    bad = tmp_path / "bad.csv"
    assert main(["tabular", "sample", str(run), "-n", "10", "--out", str(bad), "--condition", "workclass=Pirate"]) == 1
    assert not bad.exists()
    err = capsys.readouterr().err
    assert "already exists" in err and "has no value 'Pirate'" in err
    # the generic commands cannot decode table rows: one line pointing to `ganforge tabular sample`
    for command in (["sample", str(run), "-n", "4", "--out", str(tmp_path / "x.npy")],
                    ["export", str(run), "--out", str(tmp_path / "g.pt")], ["eval", str(run)]):
        assert main(command) == 1, command
        err = capsys.readouterr().err
        assert f"use `ganforge tabular sample {run} -n N" in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "x.npy").exists() and not (tmp_path / "g.pt").exists()


@pytest.mark.parametrize("content, args, message", [
    ("", [], "is empty"),
    ("a,b\n", [], "header (2 columns) but no rows"),
    ("a,b\n1,x\n2,y\n", ["--target", "c"], "--target 'c' names no column"),
    ("a,b\n,\n,\n", [], "no column can be learned"),
])
def test_bad_input_is_one_line_and_leaves_nothing(tmp_path, capsys, content, args, message):
    path = tmp_path / "t.csv"
    path.write_text(content)
    run = tmp_path / "run"
    assert main(["tabular", "fit", str(path), "--out", str(run)] + args) == 1
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not run.exists()


def test_existing_run_and_unknown_setting(tmp_path, capsys):
    path = tmp_path / "t.csv"
    path.write_text("a,b\n" + "".join(f"{i % 7},{'xy'[i % 2]}\n" for i in range(40)))
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "keep.txt").write_text("mine")
    assert main(["tabular", "fit", str(path), "--out", str(tmp_path / "run")]) == 1
    assert main(["tabular", "fit", str(path), "--out", str(tmp_path / "new"), "--set", "model.nope=1"]) == 1
    err = capsys.readouterr().err
    assert "already exists" in err and "unknown setting model.nope" in err
    assert (tmp_path / "run" / "keep.txt").read_text() == "mine" and not (tmp_path / "new").exists()

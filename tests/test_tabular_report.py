"""evaluate() end to end, the offline HTML report, and `ganforge tabular evaluate` with its bad inputs."""

from __future__ import annotations

import base64
import json
import re

import numpy as np
import pandas as pd
import pytest

from ganforge.cli import main
from ganforge.errors import ConfigError, DataError
from ganforge.tabular.evaluate import evaluate, summary_lines
from ganforge.tabular.report import build_report, pair_difference_matrix, write_report

KINDS = {"age": "integer", "hours": "continuous", "job": "categorical", "income": "categorical"}


def _table(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 80, n)
    hours = np.clip(rng.normal(40, 8, n) + (age - 40) * 0.2, 1, 99)
    job = rng.choice(["clerk", "sales", "tech", None], n, p=[0.4, 0.3, 0.25, 0.05])
    income = np.where((hours > 42) & (job == "tech") | (age > 60), ">50K", "<=50K")
    return pd.DataFrame({"age": age, "hours": hours, "job": job, "income": income})


@pytest.fixture(scope="module")
def tables():
    return _table(300, 0), _table(200, 1), _table(150, 2)


def test_evaluate_identical_tables(tables):
    real, _, test = tables
    res = evaluate(real, real.copy(), test=test, target="income", metadata=KINDS, models=("tree",))
    assert res["quality"]["quality"] == 1.0
    e = res["efficacy"]
    assert e["f1_synthetic"] == e["f1_real"] and e["models"]["tree"]["synthetic"] == e["models"]["tree"]["real"]
    assert res["privacy"]["exact_copies"] == 1.0 and res["privacy"]["synthetic"]["median"] == 0.0
    assert res["rows"] == {"real": 300, "synthetic": 300, "test": 150}
    lines = summary_lines(res)
    assert lines[0].startswith("quality 1.0000") and "exact copies of training rows 100.00%" in lines[2]


def test_evaluate_infers_kinds_and_reads_spellings(tables):
    real, synth, _ = tables
    # the synthetic CSV spelled integers as floats: the same values, the same scores
    res = evaluate(real, real.assign(age=real["age"].astype(float)))
    assert res["kinds"] == KINDS and res["quality"]["quality"] == 1.0 and res["efficacy"] is None
    assert res["privacy"]["holdout"] is None
    assert 0.5 < evaluate(real, synth, metadata=KINDS)["quality"]["quality"] < 1.0


def test_evaluate_bad_input(tables):
    real, synth, test = tables
    with pytest.raises(DataError, match="the synthetic table's columns differ from the real table's: it lacks job"):
        evaluate(real, synth.drop(columns="job"), metadata=KINDS)
    with pytest.raises(DataError, match="it has extra that the real table has not"):
        evaluate(real, synth.assign(extra=1), metadata=KINDS)
    with pytest.raises(ConfigError, match="names no column; columns: age, hours, job, income"):
        evaluate(real, synth, test=test, target="salary")
    with pytest.raises(ConfigError, match="--target needs --test"):
        evaluate(real, synth, target="income")
    with pytest.raises(DataError, match="the test table has no rows"):
        evaluate(real, synth, test=test.iloc[:0], target="income", metadata=KINDS)


def test_pair_difference_matrix():
    quality = {"columns": {"a": {}, "b": {}, "c": {}},
               "pairs": [{"columns": ["a", "b"], "score": 0.75}, {"columns": ["a", "c"], "score": 1.0},
                         {"columns": ["b", "c"], "score": float("nan")}]}
    names, m = pair_difference_matrix(quality)
    assert names == ["a", "b", "c"]
    assert m[0, 1] == m[1, 0] == 0.25 and m[0, 2] == 0.0
    assert np.isnan(m[1, 2]) and np.isnan(m[0, 0])


def _images(text: str) -> list[str]:
    return re.findall(r'alt="([^"]*)" src="data:image/png;base64,([A-Za-z0-9+/=]+)"', text)


def test_report_is_one_offline_file(tables, tmp_path):
    real, synth, test = tables
    res = evaluate(real, synth, test=test, target="income", metadata=KINDS, models=("logistic",), keep_distances=True)
    path = write_report(tmp_path / "report.html", res, real, synth)
    text = path.read_text()
    images = _images(text)
    alts = [a for a, _ in images]
    # shapes overview, one picture per column, the pair heat map, efficacy, DCR
    assert alts[0] == "column shape scores"
    assert alts[1:5] == [f"{c}: real (grey) and synthetic (blue)" for c in KINDS]
    assert alts[5:] == ["column-pair trend differences", "F1 by classifier", "distance to closest record"]
    for _, data in images:
        assert base64.b64decode(data).startswith(b"\x89PNG")
    assert "http" not in text.replace("http-equiv", "") and "<script" not in text
    assert f"{res['quality']['quality']:.4f}" in text
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]  # nothing else left on disk
    without = build_report(evaluate(real, synth, metadata=KINDS), real, synth)
    assert "Machine-learning efficacy" not in without and len(_images(without)) == 6


def _write(tmp_path, name, frame):
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return str(path)


def test_cli_end_to_end(tables, tmp_path, capsys):
    real, synth, test = tables
    data, fake, held = _write(tmp_path, "real.csv", real), _write(tmp_path, "synth.csv", synth), _write(tmp_path, "test.csv", test)
    out, js = tmp_path / "r.html", tmp_path / "r.json"
    assert main(["tabular", "evaluate", data, fake, "--test", held, "--target", "income", "--classifiers", "tree",
                 "--out", str(out), "--json", str(js)]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("quality ") and "efficacy (F1 of class '>50K' of income, mean of tree)" in printed
    assert f"report: {out}" in printed and out.is_file()
    figures = json.loads(js.read_text())
    assert set(figures) >= {"quality", "efficacy", "privacy", "kinds"} and "distances" not in figures["privacy"]
    direct = evaluate(real, synth, test, "income", models=("tree",))
    assert figures["quality"]["quality"] == pytest.approx(direct["quality"]["quality"])
    assert figures["efficacy"]["f1_synthetic"] == pytest.approx(direct["efficacy"]["f1_synthetic"])


@pytest.mark.parametrize("extra, message", [
    (["--target", "salary", "--test", "TEST"], "--target 'salary' names no column; columns: age, hours, job, income"),
    (["--target", "income"], "--target needs --test"),
    (["--classifiers", "svm"], "--classifiers 'svm': unknown svm; valid classifiers: logistic, tree, boosting"),
    (["--out", "/nonexistent/dir/r.html"], "--out /nonexistent/dir/r.html: the folder /nonexistent/dir does not exist"),
])
def test_cli_bad_input_is_one_line(tables, tmp_path, capsys, extra, message):
    real, synth, test = tables
    data, fake, held = _write(tmp_path, "real.csv", real), _write(tmp_path, "synth.csv", synth), _write(tmp_path, "test.csv", test)
    argv = ["tabular", "evaluate", data, fake] + [held if a == "TEST" else a for a in extra]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and "Traceback" not in err


def test_cli_columns_differ(tables, tmp_path, capsys):
    real, synth, _ = tables
    data = _write(tmp_path, "real.csv", real)
    fake = _write(tmp_path, "synth.csv", synth.rename(columns={"job": "occupation"}))
    assert main(["tabular", "evaluate", data, fake]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "the synthetic table's columns differ from the real table's: it lacks job and has occupation" in err


def test_dropped_identifier_is_not_scored(tables):
    real, synth, _ = tables
    with_id = real.assign(customer=[f"c{i:05d}" for i in range(len(real))])  # one distinct value per row
    res = evaluate(with_id, synth)  # the synthetic table has no identifier column, and needs none
    assert "customer" not in res["kinds"] and res["kinds"] == KINDS
    with pytest.raises(DataError, match="it has customer that the real table has not"):
        evaluate(real, synth.assign(customer="x"))

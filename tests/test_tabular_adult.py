"""UCI Adult: the loader on the real files (when $GANFORGE_DATA has them), on small planted files,
and its place in the data registry (`ganforge data list/fetch/verify`)."""

from __future__ import annotations

import argparse
import hashlib

import numpy as np
import pytest

from ganforge.commands import data as data_command
from ganforge.data import sources
from ganforge.errors import DataError
from ganforge.tabular.adult import (
    ADULT_COLUMNS,
    ADULT_CONTINUOUS,
    ADULT_ROWS,
    load_adult,
)

_TRAIN_LINES = (
    "39, State-gov, 77516, Bachelors, 13, Never-married, Adm-clerical, Not-in-family, White, Male, 2174, 0, 40, United-States, <=50K\n"
    "50, ?, 83311, Bachelors, 13, Married-civ-spouse, Exec-managerial, Husband, White, Male, 0, 0, 13, ?, >50K\n"
    "\n"
)
_TEST_LINES = (
    "|1x3 Cross validator\n"
    "25, Private, 226802, 11th, 7, Never-married, Machine-op-inspct, Own-child, Black, Male, 0, 0, 40, United-States, <=50K.\n"
    "44, Private, 160323, Some-college, 10, Married-civ-spouse, ?, Husband, Black, Male, 7688, 0, 40, United-States, >50K.\n"
)


@pytest.fixture(autouse=True)
def isolated_env(tmp_path, monkeypatch):
    """User cache under tmp_path; no $GANFORGE_DATA unless a test sets it; no download."""
    monkeypatch.setenv("GANFORGE_CACHE", str(tmp_path / "cache"))

    def refuse(url, timeout=None):
        raise AssertionError(f"tried to download {url}")

    monkeypatch.setattr(sources, "urlopen", refuse)


@pytest.fixture
def planted(tmp_path):
    root = tmp_path / "data"
    (root / "adult").mkdir(parents=True)
    (root / "adult" / "adult.data").write_text(_TRAIN_LINES)
    (root / "adult" / "adult.test").write_text(_TEST_LINES)
    return root


def test_planted_files_parse(planted, monkeypatch):
    monkeypatch.delenv("GANFORGE_DATA", raising=False)
    train, test = load_adult("train", planted), load_adult("test", planted)
    assert list(train.columns) == list(ADULT_COLUMNS) and list(test.columns) == list(ADULT_COLUMNS)
    assert len(train) == 2 and len(test) == 2  # the blank line and the "|1x3" line are not rows
    assert test["income"].tolist() == ["<=50K", ">50K"]  # the test file's full stops dropped
    assert train["workclass"].tolist()[0] == "State-gov"  # leading spaces stripped
    assert train["workclass"].isna().tolist() == [False, True]  # "?" is missing
    assert test["occupation"].isna().tolist() == [False, True]
    assert all(train[c].dtype == np.int64 for c in ADULT_CONTINUOUS)
    assert train.loc[0, "capital-gain"] == 2174


def test_bad_file_and_missing_dataset(planted, tmp_path, monkeypatch):
    monkeypatch.delenv("GANFORGE_DATA", raising=False)
    (planted / "adult" / "adult.data").write_text("1, 2, 3\n")
    with pytest.raises(DataError, match="is not the UCI Adult file"):
        load_adult("train", planted)
    with pytest.raises(DataError, match=r"adult \(train\) not found: it needs adult/adult.data.*ganforge data fetch adult"):
        load_adult("train", tmp_path / "empty")
    with pytest.raises(DataError, match="unknown Adult split 'valid'; valid splits: train, test"):
        load_adult("valid", planted)


def test_registry_knows_adult():
    source = sources.source_for("adult")
    files = {f.path: f for f in source.download_layout.files}
    assert files["adult/adult.data"].md5 == "5d7c39d7b8804f071cdd1f2a7c460872"
    assert files["adult/adult.test"].md5 == "35238206dfdf7f1fe215bbb874adecdc"
    assert files["adult/adult.data"].split == "train" and files["adult/adult.test"].split == "test"
    assert all(u.startswith("https://archive.ics.uci.edu/") for f in files.values() for u in f.urls)


def test_fetch_refuses_wrong_bytes(tmp_path, monkeypatch):
    """A download whose checksum is not the published one leaves no file behind."""
    import io

    monkeypatch.setattr(sources, "urlopen", lambda url, timeout=None: io.BytesIO(b"not adult"))
    with pytest.raises(DataError, match="could not download adult/adult.data.*MD5"):
        sources.fetch("adult", tmp_path / "d")
    assert not (tmp_path / "d" / "adult" / "adult.data").exists()


def _cli(argv):
    parser = argparse.ArgumentParser()
    data_command.add_parser(parser.add_subparsers())
    args = parser.parse_args(argv)
    return args.func(args)


def test_cli_lists_and_verifies_planted_files(planted, capsys, monkeypatch):
    monkeypatch.delenv("GANFORGE_DATA", raising=False)
    _cli(["data", "list", "--data-dir", str(planted)])
    out = capsys.readouterr().out
    assert "adult" in out and f"{planted} (data_dir): adult/adult.data and adult/adult.test" in out
    with pytest.raises(DataError, match="2 file.s. do not match their published checksums"):
        _cli(["data", "verify", "adult", "--data-dir", str(planted)])
    assert capsys.readouterr().out.count("MISMATCH") == 2


# ------------------------------------------------------------------------------- the real files


def test_real_files(shared_data):
    if not (shared_data / "adult" / "adult.data").exists():
        pytest.skip(f"{shared_data} has no adult/")
    train, test = load_adult("train", shared_data), load_adult("test", shared_data)
    assert len(train) == ADULT_ROWS["train"] == 32561 and len(test) == ADULT_ROWS["test"] == 16281
    assert set(train["income"]) == set(test["income"]) == {"<=50K", ">50K"}  # no trailing "."
    assert (train["income"] == ">50K").sum() == 7841 and (test["income"] == ">50K").sum() == 3846
    assert train["workclass"].isna().sum() == 1836 and train["native-country"].isna().sum() == 583
    assert not any(s.startswith(" ") for s in train["education"])
    assert test.iloc[0].tolist()[:4] == [25, "Private", 226802, "11th"]


def test_real_files_verify(shared_data, capsys):
    if not (shared_data / "adult" / "adult.data").exists():
        pytest.skip(f"{shared_data} has no adult/")
    assert _cli(["data", "verify", "adult", "--data-dir", str(shared_data)]) == 0
    out = capsys.readouterr().out
    assert out.count("ok  md5") == 2
    digest = hashlib.md5((shared_data / "adult" / "adult.test").read_bytes()).hexdigest()
    assert digest == "35238206dfdf7f1fe215bbb874adecdc"

"""Column kinds inferred from planted columns, metadata JSON checked, CSVs read safely."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest

from ganforge.errors import ConfigError, DataError
from ganforge.tabular.columns import Metadata, infer_metadata, load_metadata
from ganforge.tabular.csv import read_csv


def planted(n: int = 200) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({
        "height": rng.normal(170, 10, n),
        "children": rng.integers(0, 4, n),
        "city": rng.choice(["Paris", "Lyon", "Nice"], n),
        "member": rng.choice([True, False], n),
        "joined": [f"2020-01-{d:02d}" for d in rng.integers(1, 29, n)],
        "empty": [np.nan] * n,
        "id": [f"user{i}" for i in range(n)],
        "score": np.where(rng.random(n) < 0.25, np.nan, rng.normal(0, 1, n)),
    })


def test_kinds_of_planted_columns():
    meta = infer_metadata(planted())
    assert meta.kinds() == {"height": "continuous", "children": "integer", "city": "categorical",
                            "member": "boolean", "joined": "datetime", "score": "continuous"}
    assert meta.column("joined").datetime_format == "%Y-%m-%d"
    assert set(meta.dropped) == {"empty", "id"}
    assert "every value is missing" in meta.dropped["empty"]
    assert "identifier" in meta.dropped["id"]
    assert meta.column("score").missing_rate == pytest.approx(planted()["score"].isna().mean())
    assert meta.column("city").missing_rate == 0.0


def test_many_categories_are_an_identifier_and_text_booleans_are_booleans():
    n = 3000
    df = pd.DataFrame({"code": [f"c{i % 1500}" for i in range(n)], "ok": ["yes", "no", "Yes"] * 1000})
    meta = infer_metadata(df, max_categories=1000)
    assert "1500 distinct values" in meta.dropped["code"]
    assert meta.kinds() == {"ok": "boolean"}


def test_mixed_numbers_and_text_warn_and_become_categorical():
    df = pd.DataFrame({"x": ["1", "2", "3", "abc", "4", "5"] * 10})
    with pytest.warns(UserWarning, match="mixes numbers"):
        meta = infer_metadata(df)
    assert meta.kinds() == {"x": "categorical"}


def test_target_must_exist_and_small_numeric_targets_are_classes():
    df = planted()
    with pytest.raises(ConfigError, match="names no column"):
        infer_metadata(df, target="nope")
    assert infer_metadata(df, target="children").column("children").kind == "categorical"


def test_empty_tables_are_refused():
    with pytest.raises(DataError, match="no rows"):
        infer_metadata(pd.DataFrame({"a": []}))
    with pytest.raises(DataError, match="no column can be learned"):
        infer_metadata(pd.DataFrame({"a": [np.nan, np.nan]}))


def test_metadata_round_trips_and_user_files_are_checked(tmp_path):
    meta = infer_metadata(planted(), target="city")
    path = tmp_path / "m.json"
    meta.to_json(path)
    back = load_metadata(path)
    assert back.to_dict() == meta.to_dict()
    assert Metadata.from_json({"columns": {"a": "integer"}}).kinds() == {"a": "integer"}
    for bad, match in [({"columns": [{"name": "a", "kind": "text"}]}, "accepted kinds"),
                       ({"columns": []}, "non-empty"),
                       ({"columns": [{"name": "a", "kind": "integer"}] * 2}, "twice"),
                       ({"columns": {"a": "integer"}, "target": "b"}, "target")]:
        path.write_text(json.dumps(bad))
        with pytest.raises(ConfigError, match=match):
            load_metadata(path)
    path.write_text("{not json")
    with pytest.raises(ConfigError, match="not valid JSON"):
        load_metadata(path)


def test_read_csv_bad_files(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(DataError, match="is empty"):
        read_csv(empty)
    header = tmp_path / "header.csv"
    header.write_text("a,b,c\n")
    with pytest.raises(DataError, match=r"header \(3 columns\) but no rows"):
        read_csv(header)
    with pytest.raises(DataError, match="no CSV file"):
        read_csv(tmp_path / "missing.csv")


def test_read_csv_latin1_numbers_and_missing_marks(tmp_path):
    path = tmp_path / "t.csv"
    path.write_bytes("name,n,x\ncaf\xe9,1,0.5\nthe,2,?\n".encode("latin-1"))
    with pytest.warns(UserWarning, match=r"not UTF-8 \(byte 0xe9 at offset 12\)"):
        df = read_csv(path)
    assert df["name"].tolist() == ["café", "the"]
    assert df["n"].dtype == np.int64 and df["x"].dtype == np.float64 and np.isnan(df["x"][1])


def test_read_csv_samples_large_files_uniformly(tmp_path, monkeypatch):
    import ganforge.tabular.csv as tcsv

    monkeypatch.setattr(tcsv, "_CHUNK", 100)  # stream in small chunks, as a huge file would be
    path = tmp_path / "big.csv"
    path.write_text("i\n" + "".join(f"{i}\n" for i in range(1000)))
    with pytest.warns(UserWarning, match="has 1000 rows; fitting on a uniform random sample of 150"):
        df = read_csv(path, max_rows=150)
    assert len(df) == 150 and df["i"].is_monotonic_increasing and df["i"].nunique() == 150
    assert df["i"].min() < 100 and df["i"].max() > 900  # drawn from the whole file, not its head
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(read_csv(path, max_rows=1000)) == 1000

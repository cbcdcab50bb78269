"""The table transformer round-trips rows; the conditional vector and training-by-sampling."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from ganforge.data.table_sampler import CondVector, RowIndex
from ganforge.errors import CheckpointError, ConfigError
from ganforge.tabular.columns import infer_metadata
from ganforge.tabular.transform import TableTransformer, TransformSettings


def table(n: int = 600) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    # two well-separated modes, so the mixture has something to find
    income = np.where(rng.random(n) < 0.3, rng.normal(20, 1, n), rng.normal(60, 3, n))
    return pd.DataFrame({
        "income": income,
        "age": rng.integers(18, 80, n),
        "city": rng.choice(["Paris", "Lyon", "Nice", "Brest"], n, p=[0.7, 0.2, 0.09, 0.01]),
        "member": rng.choice([True, False], n),
        "joined": pd.to_datetime("2021-01-01") + pd.to_timedelta(rng.integers(0, 365, n), unit="D"),
        "note": np.where(rng.random(n) < 0.2, None, rng.choice(["a", "b"], n)),
        "weight": np.where(rng.random(n) < 0.1, np.nan, rng.normal(70, 5, n)),
    })


@pytest.mark.parametrize("method", ["bgm", "quantile"])
def test_round_trip(method):
    df = table()
    t = TableTransformer.fit(df, infer_metadata(df), TransformSettings(continuous=method))
    x = t.transform(df)
    assert x.shape == (len(df), t.dim) and x.dtype == np.float32
    back = t.inverse(x)
    assert list(back.columns) == list(df.columns)
    assert back.dtypes.to_dict() == df.dtypes.to_dict()
    for name in ("city", "member", "note"):  # categories come back exactly, missing ones included
        assert back[name].tolist() == df[name].tolist()
    assert (back["age"] == df["age"]).all() and (back["joined"] == df["joined"]).all()
    assert back["weight"].isna().tolist() == df["weight"].isna().tolist()
    # bgm: exact up to float32, except values beyond 4 deviations of their mode (alpha is clipped to
    # 0.99, as in CTGAN); quantile: the grid interpolates between 1001 points
    tol = 1e-4 if method == "bgm" else 0.5
    for name in ("income", "weight"):
        err = np.abs(back[name].dropna().to_numpy() - df[name].dropna().to_numpy())
        assert np.mean(err < tol) >= 0.99 and err.max() < 2.0


def test_modes_one_hot_and_encoding_is_seeded():
    df = table()
    t = TableTransformer.fit(df, infer_metadata(df))
    income = t.codecs[0]
    assert income.method == "bgm" and income.n_modes >= 2
    np.testing.assert_allclose(np.sort(income.arrays["means"])[[0, -1]], [20, 60], atol=2)
    value, modes = t.column_spans[0][0], t.column_spans[0][1]
    x = t.transform(df)
    assert np.abs(x[:, value.start]).max() <= 0.99
    assert (x[:, modes.start:modes.start + modes.size].sum(1) == 1).all()
    np.testing.assert_array_equal(x, t.transform(df))  # the same seed draws the same modes


def test_save_load_is_identical(tmp_path):
    df = table()
    t = TableTransformer.fit(df, infer_metadata(df))
    t.save(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["transformer.json", "transformer.safetensors"]
    loaded = TableTransformer.load(tmp_path)
    x = t.transform(df)
    np.testing.assert_array_equal(loaded.transform(df), x)
    pd.testing.assert_frame_equal(loaded.inverse(x), t.inverse(x))
    (tmp_path / "transformer.json").write_text('{"format": "other"}')
    with pytest.raises(CheckpointError, match="malformed"):
        TableTransformer.load(tmp_path)


def test_unknown_category_is_one_line():
    df = table()
    t = TableTransformer.fit(df, infer_metadata(df))
    other = df.copy()
    other.loc[0, "city"] = "Rome"
    with pytest.raises(ConfigError, match="holds 'Rome', a value the model was not fitted on"):
        t.transform(other)


def test_log_frequency_conditional_vector():
    counts = [[90, 9, 1], [50, 50]]
    cond = CondVector(counts)
    assert cond.dim == 5
    expected = np.log1p([90, 9, 1]) / np.log1p([90, 9, 1]).sum()
    np.testing.assert_allclose(cond.log_probs[0, :3].numpy(), expected)
    np.testing.assert_allclose(cond.probs[0, :3].numpy(), [0.9, 0.09, 0.01])
    c, col, cat = cond.draw(20000, torch.Generator().manual_seed(0))
    assert (c.sum(1) == 1).all()
    assert (c.argmax(1) == cond.offsets[col] + cat).all()
    assert ((col == 1) & (cat > 1)).sum() == 0  # the padding of the narrower column is never drawn
    rare = ((col == 0) & (cat == 2)).float().mean().item()
    assert rare == pytest.approx(0.5 * expected[2], abs=0.01)  # far more than its 1% of the rows
    # at generation time, categories come with the data's frequencies
    _, col, cat = cond.draw(20000, torch.Generator().manual_seed(1), log_frequency=False)
    shares = torch.bincount(cat[col == 0], minlength=3).double() / (col == 0).sum()
    np.testing.assert_allclose(shares.numpy(), [0.9, 0.09, 0.01], atol=0.01)


def test_row_index_draws_rows_with_the_asked_category():
    codes = torch.tensor([[0, 1], [1, 0], [0, 0], [2, 1], [0, 1]])
    index = RowIndex(codes, [3, 2])
    g = torch.Generator().manual_seed(0)
    for col, cat in [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1)]:
        rows = index.draw(torch.full((200,), col), torch.full((200,), cat), g)
        assert (codes[rows, col] == cat).all()
        assert set(rows.tolist()) == set(torch.nonzero(codes[:, col] == cat).flatten().tolist())

"""The quality report (SDMetrics' definitions) on hand-made tables with known answers, and against
the SDMetrics package itself when it is installed."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from ganforge.tabular.quality import (
    contingency_similarity,
    correlation_similarity,
    cramers_v,
    discretize,
    ks_complement,
    quality_report,
    tv_complement,
)

KINDS = {"x": "continuous", "y": "integer", "c": "categorical", "b": "boolean"}


def _table(n=200, seed=0, shift=0.0):
    rng = np.random.default_rng(seed)
    x = rng.normal(shift, 1.0, n)
    return pd.DataFrame({
        "x": x,
        "y": np.round(2 * x + rng.normal(0, 1, n)).astype(int),
        "c": rng.choice(["red", "green", "blue"], n, p=[0.5, 0.3, 0.2]),
        "b": rng.random(n) < 0.3,
    })


def test_identical_tables_score_one():
    real = _table()
    q = quality_report(real, real.copy(), KINDS)
    assert q["quality"] == q["column_shapes"] == q["column_pair_trends"] == 1.0
    assert all(c["score"] == 1.0 for c in q["columns"].values())
    assert len(q["pairs"]) == 6 and all(p["score"] == 1.0 for p in q["pairs"])


def test_disjoint_categories_score_zero():
    real = pd.DataFrame({"c": ["a", "b"] * 10, "d": ["x", "y"] * 10})
    synth = pd.DataFrame({"c": ["p", "q"] * 10, "d": ["z", "w"] * 10})
    q = quality_report(real, synth, {"c": "categorical", "d": "categorical"})
    assert q["columns"]["c"]["score"] == 0.0 and q["columns"]["d"]["score"] == 0.0
    assert q["pairs"][0]["score"] == 0.0
    assert q["quality"] == 0.0


def test_ks_known_answers():
    assert ks_complement(pd.Series([1, 2, 3, 4]), pd.Series([3, 4, 5, 6])) == pytest.approx(0.5)
    assert ks_complement(pd.Series([1.0, 2.0]), pd.Series([10.0, 20.0])) == 0.0
    # 1..10 against 1..5: at x=5 the CDFs are 0.5 and 1.0
    assert ks_complement(pd.Series(range(1, 11)), pd.Series(range(1, 6))) == pytest.approx(0.5)
    # missing values are left out, as SDMetrics does
    assert ks_complement(pd.Series([1, 2, np.nan]), pd.Series([1, 2])) == 1.0
    assert math.isnan(ks_complement(pd.Series([np.nan]), pd.Series([1.0])))


def test_ks_matches_scipy():
    from scipy.stats import ks_2samp

    rng = np.random.default_rng(3)
    a, b = rng.normal(0, 1, 300), rng.normal(0.3, 1.2, 170)
    assert ks_complement(pd.Series(a), pd.Series(b)) == pytest.approx(1 - ks_2samp(a, b).statistic, abs=1e-12)


def test_tvd_known_answers():
    # shares (0.5, 0.5) against (0.75, 0.25): TVD 0.25
    assert tv_complement(pd.Series(list("aabb")), pd.Series(list("aaab"))) == pytest.approx(0.75)
    # a synthetic category the real column never takes counts fully against it: (1, 0, 0) vs (1/2, 0, 1/2)
    assert tv_complement(pd.Series(list("aa")), pd.Series(list("az"))) == pytest.approx(0.5)
    assert tv_complement(pd.Series(["a", None, "b"]), pd.Series(["a", "b"])) == 1.0  # missing left out


def test_correlation_similarity_known_answers():
    x = pd.Series([1.0, 2.0, 3.0, 4.0])
    score, r_real, r_synth = correlation_similarity(x, x, x, -x)  # r = 1 against r = -1
    assert (score, r_real, r_synth) == (pytest.approx(0.0), pytest.approx(1.0), pytest.approx(-1.0))
    y0 = pd.Series([1.0, -1.0, -1.0, 1.0])  # uncorrelated with x: r = 0
    score, _, r_synth = correlation_similarity(x, x, x, y0)
    assert r_synth == pytest.approx(0.0) and score == pytest.approx(0.5)
    # rows with a missing value in either column are left out
    score, *_ = correlation_similarity(x, x, pd.Series([1.0, 2.0, 3.0, 4.0, np.nan]), pd.Series([1.0, 2.0, 3.0, 4.0, 0.0]))
    assert score == pytest.approx(1.0)
    # a constant column: r undefined, the pair is left out of the mean
    assert math.isnan(correlation_similarity(x, x, x, pd.Series([2.0] * 4))[0])


def test_contingency_similarity_known_answer():
    # real joint (a,x) .5, (b,y) .5; synthetic (a,x) .25, (a,y) .25, (b,y) .5: TVD 0.25
    real_a, real_b = ["a", "a", "b", "b"], ["x", "x", "y", "y"]
    synth_a, synth_b = ["a", "a", "b", "b"], ["x", "y", "y", "y"]
    assert contingency_similarity(real_a, real_b, synth_a, synth_b) == pytest.approx(0.75)
    # a missing value is a category of its own here (unlike the column shapes)
    assert contingency_similarity(["a", None], ["x", "x"], ["a", "a"], ["x", "x"]) == pytest.approx(0.5)
    assert contingency_similarity(["a", np.nan], ["x", "x"], ["a", None], ["x", "x"]) == pytest.approx(1.0)


def test_mixed_pairs_are_binned_like_sdmetrics():
    values = pd.Series([0.0, 1.0, 2.5, 9.99, 10.0, np.nan])
    # 10 equal-width bins over [0, 10]: 0 -> 1, 1 -> 2, 2.5 -> 3, 9.99 -> 10; the maximum and NaN -> 11
    assert discretize(values).tolist() == [1, 2, 3, 10, 11, 11]
    # each table is binned over its own range: a shifted copy scores 1 against the original
    real = pd.DataFrame({"x": np.arange(100.0), "c": ["a"] * 50 + ["b"] * 50})
    synth = real.assign(x=real["x"] + 1000.0)
    q = quality_report(real, synth, {"x": "continuous", "c": "categorical"})
    assert q["pairs"][0]["metric"] == "ContingencySimilarity" and q["pairs"][0]["score"] == pytest.approx(1.0)
    assert q["columns"]["x"]["score"] == 0.0  # while its shape is entirely off


def test_overall_is_mean_of_shapes_and_trends():
    real, synth = _table(seed=0), _table(seed=1, shift=0.5)
    q = quality_report(real, synth, KINDS)
    assert q["column_shapes"] == pytest.approx(np.mean([c["score"] for c in q["columns"].values()]))
    assert q["column_pair_trends"] == pytest.approx(np.mean([p["score"] for p in q["pairs"]]))
    assert q["quality"] == pytest.approx((q["column_shapes"] + q["column_pair_trends"]) / 2)
    assert 0.5 < q["quality"] < 1.0


def test_thresholds_keep_only_real_trends():
    real, synth = _table(seed=0), _table(seed=1)
    q = quality_report(real, synth, KINDS, correlation_threshold=0.5, association_threshold=0.3)
    counted = {tuple(p["columns"]) for p in q["pairs"] if p["counted"]}
    assert ("x", "y") in counted  # r about 0.9 in the real table
    assert ("c", "b") not in counted  # independent columns: Cramer's V about 0
    assert q["column_pair_trends"] == pytest.approx(np.mean([p["score"] for p in q["pairs"] if p["counted"]]))


def test_cramers_v_known_answers():
    assert cramers_v(np.array(list("aabb"), dtype=object), np.array(list("xxyy"), dtype=object)) == pytest.approx(1.0)
    assert cramers_v(np.array(list("aabb"), dtype=object), np.array(list("xyxy"), dtype=object)) == pytest.approx(0.0)
    assert math.isnan(cramers_v(np.array(list("aaaa"), dtype=object), np.array(list("xyxy"), dtype=object)))


def _messy_table(seed: int, n: int = 400) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.gamma(2.0, 3.0, n)
    frame = pd.DataFrame({
        "x": x,
        "y": (x * 1.5 + rng.normal(0, 2, n)).round(),
        "c": rng.choice(["a", "b", "c", "d"], n),
        "d": np.where(x > 6, "high", rng.choice(["low", "mid"], n)),
    })
    frame.loc[rng.random(n) < 0.1, "x"] = np.nan
    frame.loc[rng.random(n) < 0.1, "c"] = None
    return frame


@pytest.mark.filterwarnings("ignore::FutureWarning")
@pytest.mark.parametrize("thresholds", [(0.0, 0.0), (0.5, 0.3)])
def test_matches_the_sdmetrics_package(thresholds):
    sdmetrics = pytest.importorskip("sdmetrics", reason="the SDMetrics package is not installed (benchmark-only)")
    from sdmetrics.reports.single_table import QualityReport  # the single-table report

    kinds = {"x": "continuous", "y": "continuous", "c": "categorical", "d": "categorical"}
    real, synth = _messy_table(0), _messy_table(1, 300)
    ours = quality_report(real, synth, kinds, *thresholds)
    report = QualityReport()
    if not hasattr(report, "real_correlation_threshold") and thresholds != (0.0, 0.0):
        pytest.skip(f"SDMetrics {sdmetrics.__version__} has no real-trend thresholds")
    report.real_correlation_threshold, report.real_association_threshold = thresholds
    meta = {"columns": {c: {"sdtype": "numerical" if k == "continuous" else "categorical"} for c, k in kinds.items()}}
    report.generate(real, synth, meta, verbose=False)
    assert ours["quality"] == pytest.approx(report.get_score(), abs=1e-9)
    shapes = report.get_details("Column Shapes").set_index("Column")["Score"]
    for column, c in ours["columns"].items():
        assert c["score"] == pytest.approx(shapes[column], abs=1e-9)
    pairs = report.get_details("Column Pair Trends")
    for _, row in pairs.iterrows():
        mine = next(p for p in ours["pairs"] if p["columns"] == [row["Column 1"], row["Column 2"]])
        if not math.isnan(row["Score"]):
            assert mine["score"] == pytest.approx(row["Score"], abs=1e-9)

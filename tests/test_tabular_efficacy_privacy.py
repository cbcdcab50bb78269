"""Machine-learning efficacy on a planted separable table, and privacy on planted copies."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from ganforge.errors import ConfigError
from ganforge.tabular.efficacy import efficacy, positive_class
from ganforge.tabular.prepare import Encoder, normalise
from ganforge.tabular.privacy import closest_distances, exact_copy_share, privacy

KINDS = {"x": "continuous", "colour": "categorical", "label": "categorical"}


def _separable(n: int, seed: int, flip: bool = False) -> pd.DataFrame:
    """``label`` is "yes" exactly when x > 1 (about 16% of rows: the minority class)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0.0, 1.0, n)
    label = np.where(x > 1.0, "yes", "no")
    if flip:
        label = np.where(label == "yes", "no", "yes")
    return pd.DataFrame({"x": x, "colour": rng.choice(["red", "blue"], n), "label": label})


def test_minority_class_is_positive():
    assert positive_class(pd.Series(["a", "a", "b"])) == "b"
    assert positive_class(pd.Series([">50K", "<=50K", "<=50K"])) == ">50K"
    assert positive_class(pd.Series(["a", "b", "c"])) is None  # macro F1 for more classes


def test_efficacy_on_a_planted_separable_table():
    real, test = _separable(600, 0), _separable(400, 1)
    good = _separable(600, 2)  # a faithful synthetic table: same rule
    bad = _separable(600, 3, flip=True)  # the rule inverted
    models = ("logistic", "tree")
    e_good = efficacy(real, good, test, "label", KINDS, models=models)
    e_bad = efficacy(real, bad, test, "label", KINDS, models=models)
    assert e_good["positive_class"] == "yes" and e_good["metric"] == "F1 of class 'yes'"
    assert e_good["models"]["tree"]["real"]["f1"] > 0.95  # a depth-20 tree finds the threshold
    assert e_good["f1_synthetic"] > 0.9 and e_good["f1_real"] > 0.9
    assert e_bad["f1_synthetic"] < 0.1 and e_bad["accuracy_synthetic"] < 0.1  # every prediction inverted
    assert e_bad["f1_real"] == e_good["f1_real"]  # the real baseline does not depend on the synthetic rows
    assert e_good["f1_synthetic"] == pytest.approx(np.mean([m["synthetic"]["f1"] for m in e_good["models"].values()]))


def test_efficacy_is_deterministic_and_handles_one_class():
    real, test = _separable(300, 0), _separable(200, 1)
    a = efficacy(real, real, test, "label", KINDS, models=("mlp",), seed=4)
    b = efficacy(real, real, test, "label", KINDS, models=("mlp",), seed=4)
    assert a == b
    one_class = real.assign(label="no")  # a synthetic table that lost the minority class
    e = efficacy(real, one_class, test, "label", KINDS, models=("tree",))
    assert e["f1_synthetic"] == 0.0 and e["accuracy_synthetic"] == pytest.approx(np.mean(test["label"] == "no"))


def test_efficacy_bad_target():
    real = _separable(50, 0)
    with pytest.raises(ConfigError, match="target 'nope' names no evaluated column; columns: x, colour, label"):
        efficacy(real, real, real, "nope", KINDS)
    with pytest.raises(ConfigError, match="target 'x' is continuous"):
        efficacy(real, real, real, "x", KINDS)
    with pytest.raises(ConfigError, match="unknown classifier 'svm'"):
        efficacy(real, real, real, "label", KINDS, models=("svm",))


def test_closest_distances_known_answers():
    reference = np.array([[0.0, 0.0], [3.0, 4.0]])
    queries = np.array([[0.0, 0.0], [3.0, 0.0], [6.0, 8.0]])
    assert closest_distances(queries, reference) == pytest.approx([0.0, 3.0, 5.0])


def test_encoding_puts_two_categories_at_distance_one():
    kinds = {"x": "continuous", "c": "categorical"}
    train = normalise(pd.DataFrame({"x": [0.0, 10.0], "c": ["a", "b"]}), kinds)
    enc = Encoder(kinds, scale="minmax", onehot_weight=1 / math.sqrt(2)).fit(train)
    rows = enc.transform(normalise(pd.DataFrame({"x": [0.0, 5.0], "c": ["b", "a"]}), kinds))
    # row 0 differs from train row 0 only in its category; row 1 is half the range from both x values
    assert closest_distances(rows, enc.transform(train)) == pytest.approx([1.0, 0.5])


def test_privacy_on_planted_copies():
    kinds = {"x": "continuous", "n": "integer", "c": "categorical"}
    rng = np.random.default_rng(0)
    train = pd.DataFrame({"x": rng.normal(0, 1, 200), "n": rng.integers(0, 50, 200), "c": rng.choice(list("abc"), 200)})
    holdout = pd.DataFrame({"x": rng.normal(0, 1, 100), "n": rng.integers(0, 50, 100), "c": rng.choice(list("abc"), 100)})
    far = pd.DataFrame({"x": rng.normal(0, 1, 70) + 50, "n": rng.integers(0, 50, 70), "c": rng.choice(list("abc"), 70)})
    copies = train.iloc[:30].copy()
    copies["n"] = copies["n"].astype(float)  # 7 and 7.0 are the same value
    synth = pd.concat([copies, far], ignore_index=True)
    norm = {k: normalise(v, kinds) for k, v in {"train": train, "synth": synth, "holdout": holdout}.items()}
    p = privacy(norm["train"], norm["synth"], kinds, norm["holdout"], keep_distances=True)
    assert p["exact_copies"] == pytest.approx(0.3)
    assert p["exact_copies_holdout"] == 0.0
    assert p["synthetic"]["zero_share"] == pytest.approx(0.3)
    assert np.sort(p["distances"]["synthetic"])[:30] == pytest.approx(np.zeros(30), abs=1e-6)
    assert p["distances"]["synthetic"][30:].min() > 10  # 50 standard deviations out, scaled by the range ~6
    assert p["holdout"]["median"] > 0 and p["rows"] == {"synthetic": 100, "holdout": 100, "train": 200}
    # a faithful generator that copies nothing: synthetic rows as far from training rows as hold-out rows
    fresh = pd.DataFrame({"x": rng.normal(0, 1, 100), "n": rng.integers(0, 50, 100), "c": rng.choice(list("abc"), 100)})
    q = privacy(norm["train"], normalise(fresh, kinds), kinds, norm["holdout"])
    assert q["exact_copies"] == 0.0 and 0.6 < q["median_ratio"] < 1.6


def test_exact_copies_compare_every_column_and_missing_values():
    kinds = {"x": "continuous", "c": "categorical"}
    train = normalise(pd.DataFrame({"x": [1.0, np.nan], "c": ["a", None]}), kinds)
    rows = normalise(pd.DataFrame({"x": [1.0, 1.0, np.nan, np.nan], "c": ["a", "b", None, ""]}), kinds)
    # (1, a) copied; (1, b) not; (NaN, missing) copied, also when the missing category is a blank cell
    assert exact_copy_share(train, rows, kinds) == pytest.approx(0.75)


def test_privacy_samples_rows_reproducibly():
    kinds = {"x": "continuous"}
    rng = np.random.default_rng(1)
    train = normalise(pd.DataFrame({"x": rng.normal(0, 1, 300)}), kinds)
    synth = normalise(pd.DataFrame({"x": rng.normal(0, 1, 300)}), kinds)
    a = privacy(train, synth, kinds, max_rows=50, seed=3)
    assert a == privacy(train, synth, kinds, max_rows=50, seed=3)
    assert a["rows"]["synthetic"] == 50 and a["holdout"] is None and math.isnan(a["median_ratio"])
    # a large training table: distances to a sample of it, never shorter than to the whole table
    full = privacy(train, synth, kinds, max_rows=0, keep_distances=True)
    part = privacy(train, synth, kinds, max_rows=0, keep_distances=True, max_reference_rows=100)
    assert part["rows"]["train"] == 100 and full["rows"]["train"] == 300
    assert np.all(part["distances"]["synthetic"] >= full["distances"]["synthetic"] - 1e-6)

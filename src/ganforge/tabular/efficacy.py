"""Machine-learning efficacy: is a synthetic table as good as the real one for training a model?

As in the CTGAN paper (Xu et al. 2019, section 5.1, "machine learning efficacy"): classifiers are
trained on the synthetic rows and tested on real held-out rows, beside the same classifiers
trained on the real training rows and tested on the same held-out rows. The figure is the F1 of
the target's positive class for a binary target, the positive class being the real training
rows' minority class (``>50K`` on Adult), and the macro-averaged F1 over classes for more than two
classes; accuracy is reported too.

The classifiers are scikit-learn's, each with a fixed seed and one thread, so a figure is
reproducible (tables beyond :data:`MAX_ROWS` rows are sampled, with the same seed): logistic regression, a decision tree of depth 20 (as in the CTGAN paper), gradient
boosting (histogram-based) or a random forest, and an MLP with one hidden layer of 50 units (the
paper's MLP size). Features are the other evaluated columns, encoded by
:class:`~ganforge.tabular.prepare.Encoder` fitted on the training rows of each fit: continuous
columns standardised, categorical columns one-hot (a missing value is its own category; a category
the training rows never show is all zeros).
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from ganforge.errors import ConfigError
from ganforge.tabular.prepare import Encoder, categories

MODELS = ("logistic", "tree", "boosting", "forest", "mlp")
DEFAULT_MODELS = ("logistic", "tree", "boosting", "mlp")
MAX_ROWS = 100_000  # training and test rows per classifier; larger tables are sampled (seeded)


def make_model(name: str, seed: int):
    """A fresh scikit-learn classifier called ``name`` (one of :data:`MODELS`), seeded."""
    from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier
    from sklearn.tree import DecisionTreeClassifier

    if name == "logistic":
        return LogisticRegression(max_iter=1000)
    if name == "tree":
        return DecisionTreeClassifier(max_depth=20, random_state=seed)
    if name == "boosting":
        return HistGradientBoostingClassifier(random_state=seed)
    if name == "forest":
        return RandomForestClassifier(n_estimators=100, max_depth=20, random_state=seed, n_jobs=1)
    if name == "mlp":
        return MLPClassifier(hidden_layer_sizes=(50,), max_iter=200, early_stopping=True, random_state=seed)
    raise ConfigError(f"unknown classifier {name!r}; valid classifiers: {', '.join(MODELS)}")


def _f1(y_true: np.ndarray, y_pred: np.ndarray, positive) -> float:
    """F1 of class ``positive``, or the macro F1 over the true classes when ``positive`` is None."""
    from sklearn.metrics import f1_score

    if positive is not None:
        return float(f1_score(y_true, y_pred, pos_label=positive, average="binary", zero_division=0))
    return float(f1_score(y_true, y_pred, labels=np.unique(y_true), average="macro", zero_division=0))


def _at_most(frame, n: int, seed: int):
    """``frame``, or a seeded uniform sample of ``n`` of its rows when it has more."""
    if len(frame) <= n:
        return frame
    return frame.iloc[np.sort(np.random.default_rng(seed).choice(len(frame), n, replace=False))]


def _score(name: str, train, test, target: str, feature_kinds: dict, positive, seed: int) -> dict:
    """Fit classifier ``name`` on ``train`` and score it on ``test`` (normalised frames)."""
    # bounded cost and memory on large tables (Adult's 32,561 / 16,281 rows are used whole)
    train, test = _at_most(train, MAX_ROWS, seed), _at_most(test, MAX_ROWS, seed + 1)
    y_train, y_test = categories(train[target]), categories(test[target])
    encoder = Encoder(feature_kinds, scale="standard").fit(train)
    x_train, x_test = encoder.transform(train), encoder.transform(test)  # (rows, features)
    classes = np.unique(y_train)
    if len(classes) < 2:  # nothing to learn: the only class seen is every prediction
        y_pred = np.full(len(y_test), classes[0] if len(classes) else "", dtype=object)
    else:
        model = make_model(name, seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # convergence warnings: the figure is what counts
            model.fit(x_train, y_train)
        y_pred = model.predict(x_test)
    return {"f1": _f1(y_test, y_pred, positive), "accuracy": float(np.mean(y_pred == y_test))}


def positive_class(real_target) -> str | None:
    """The class whose F1 is reported: the minority class of a binary target (ties: the later in
    sorted order), None (macro F1) for more classes."""
    values, counts = np.unique(categories(real_target), return_counts=True)
    if len(values) != 2:
        return None
    return str(values[1] if counts[1] <= counts[0] else values[0])


def _check(target: str, kinds: dict[str, str], models, seed: int) -> dict[str, str]:
    """The feature columns' kinds; a one-line ConfigError for a target or classifier that cannot be used."""
    if target not in kinds:
        raise ConfigError(f"target {target!r} names no evaluated column; columns: {', '.join(kinds)}")
    if kinds[target] not in ("categorical", "boolean"):
        raise ConfigError(f"target {target!r} is {kinds[target]}; efficacy needs a categorical or boolean "
                          f"target (declare it categorical in the metadata if its numbers are classes)")
    for name in models:
        make_model(name, seed)  # an unknown name fails before any fit
    features = {c: k for c, k in kinds.items() if c != target}
    if not features:
        raise ConfigError(f"target {target!r} is the only evaluated column: there is nothing to predict it from")
    return features


def train_and_test(train, test, target: str, kinds: dict[str, str], positive, models=DEFAULT_MODELS,
                   seed: int = 0) -> dict[str, dict]:
    """Each classifier of ``models`` trained on ``train`` and scored on ``test`` (normalised frames):
    ``{name: {"f1", "accuracy"}}`` with F1 of class ``positive`` (None: macro F1)."""
    features = _check(target, kinds, models, seed)
    return {name: _score(name, train, test, target, features, positive, seed) for name in models}


def efficacy(real, synth, test, target: str, kinds: dict[str, str], models=DEFAULT_MODELS, seed: int = 0,
             real_scores: dict[str, dict] | None = None) -> dict:
    """Classifiers trained on ``synth`` and on ``real``, each tested on ``test`` (normalised frames,
    see :func:`ganforge.tabular.prepare.normalise`), predicting ``target`` from the other columns
    of ``kinds``. ``real_scores`` (what :func:`train_and_test` gave for ``real``) skips refitting
    the real-data classifiers when several synthetic tables are scored against one real table.

    Returns ``{"target", "positive_class", "metric", "models": {name: {"synthetic": {"f1",
    "accuracy"}, "real": {...}}}, "f1_synthetic", "f1_real", "accuracy_synthetic",
    "accuracy_real"}``, the last four averaged over the classifiers.
    """
    _check(target, kinds, models, seed)
    positive = positive_class(real[target])
    synthetic = train_and_test(synth, test, target, kinds, positive, models, seed)
    if real_scores is None:
        real_scores = train_and_test(real, test, target, kinds, positive, models, seed)
    out = {"target": target, "positive_class": positive,
           "metric": f"F1 of class {positive!r}" if positive is not None else "macro F1",
           "models": {name: {"synthetic": synthetic[name], "real": real_scores[name]} for name in models}}
    for source in ("synthetic", "real"):
        for key in ("f1", "accuracy"):
            values = [m[source][key] for m in out["models"].values()]
            out[f"{key}_{source}"] = float(np.mean(values)) if values else math.nan
    return out

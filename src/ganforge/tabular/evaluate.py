"""One call that scores a synthetic table against the real one: quality, efficacy, privacy.

    from ganforge.tabular import evaluate
    result = evaluate(real, synth, test=test, target="income")
    result["quality"]["quality"], result["efficacy"]["f1_synthetic"], result["privacy"]["exact_copies"]

Column kinds come from ``metadata`` (a :class:`~ganforge.tabular.columns.Metadata`, its JSON dict,
or ``{column: kind}``) or are inferred from the real table as ``tabular fit`` infers them; columns
the inference drops (identifiers, all-missing columns) are not scored.
"""

from __future__ import annotations

import math

from ganforge.errors import ConfigError, DataError
from ganforge.tabular.efficacy import DEFAULT_MODELS, efficacy
from ganforge.tabular.prepare import normalise
from ganforge.tabular.privacy import privacy
from ganforge.tabular.quality import quality_report


def resolve_metadata(real, metadata=None, target: str | None = None):
    """``(kinds, datetime formats)`` of the columns to score, from ``metadata`` or inferred from ``real``."""
    from ganforge.tabular.columns import KINDS, Metadata, infer_metadata

    if metadata is None:
        metadata = infer_metadata(real, target=target, warn=False)
    elif isinstance(metadata, dict):
        if "columns" not in metadata and all(isinstance(v, str) for v in metadata.values()):
            metadata = {"columns": metadata}  # the short form {column: kind}
        metadata = Metadata.from_json(metadata)
    if not isinstance(metadata, Metadata):
        raise ConfigError(f"metadata must be a Metadata, its JSON dict or {{column: kind}}, got {type(metadata).__name__}")
    kinds = metadata.kinds()
    for column, kind in kinds.items():
        if kind not in KINDS:
            raise ConfigError(f"column {column!r} has kind {kind!r}; accepted kinds: {', '.join(KINDS)}")
    if target is not None and target not in kinds:
        raise ConfigError(f"target {target!r} names no column; columns: {', '.join(kinds)}")
    return kinds, {c.name: c.datetime_format for c in metadata.columns}


def check_columns(real, other, what: str, kinds: dict[str, str]) -> None:
    """A one-line DataError when ``other`` lacks a scored column or has a column ``real`` lacks."""
    missing = [c for c in kinds if c not in other.columns]
    extra = [c for c in other.columns if c not in real.columns]
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"lacks {', '.join(map(str, missing))}")
        if extra:
            parts.append(f"has {', '.join(map(str, extra))} that the real table has not")
        raise DataError(f"the {what} table's columns differ from the real table's: it {' and '.join(parts)}; "
                        f"expected the columns {', '.join(kinds)}")
    if len(other) == 0:
        raise DataError(f"the {what} table has no rows")


def evaluate(real, synth, test=None, target: str | None = None, metadata=None, *, models=DEFAULT_MODELS,
             seed: int = 0, privacy_rows: int = 5000, correlation_threshold: float = 0.0,
             association_threshold: float = 0.0, keep_distances: bool = False) -> dict:
    """Score ``synth`` against ``real`` (pandas DataFrames); ``test``: real rows the model never saw.

    Returns ``{"rows", "kinds", "datetime_formats", "quality", "efficacy", "privacy"}``:

    * ``quality``: :func:`ganforge.tabular.quality.quality_report` (overall quality, column shapes,
      column-pair trends and their details);
    * ``efficacy``: :func:`ganforge.tabular.efficacy.efficacy` when ``test`` and ``target`` are
      given, else None;
    * ``privacy``: :func:`ganforge.tabular.privacy.privacy` with ``test`` as the hold-out rows
      (without ``test`` only the synthetic rows' DCR and exact copies).

    ``seed`` fixes the classifiers and the rows drawn for DCR, so a call is reproducible.
    """
    if len(real) == 0:
        raise DataError("the real table has no rows")
    kinds, formats = resolve_metadata(real, metadata, target)
    check_columns(real, synth, "synthetic", kinds)
    if test is not None:
        check_columns(real, test, "test", kinds)
    if target is not None and test is None:
        raise ConfigError("--target needs --test: efficacy trains on the synthetic rows and tests on real held-out rows")
    real_n, synth_n = normalise(real, kinds, formats), normalise(synth, kinds, formats)
    test_n = normalise(test, kinds, formats) if test is not None else None
    result = {
        "rows": {"real": len(real), "synthetic": len(synth), "test": None if test is None else len(test)},
        "kinds": kinds,
        "datetime_formats": {c: f for c, f in formats.items() if f},
        "quality": quality_report(real_n, synth_n, kinds, correlation_threshold, association_threshold),
        "efficacy": None,
        "privacy": privacy(real_n, synth_n, kinds, test_n, privacy_rows, seed, keep_distances),
    }
    if target is not None:
        result["efficacy"] = efficacy(real_n, synth_n, test_n, target, kinds, models, seed)
    return result


def summary_lines(result: dict) -> list[str]:
    """The headline figures of an :func:`evaluate` result, one per line, as the CLI prints them."""

    def pct(x) -> str:
        return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.4f}"

    q = result["quality"]
    lines = [(f"quality {pct(q['quality'])}  (column shapes {pct(q['column_shapes'])}, "
              f"column-pair trends {pct(q['column_pair_trends'])})")]
    e = result["efficacy"]
    if e is not None:
        lines.append(f"efficacy ({e['metric']} of {e['target']}, mean of {', '.join(e['models'])}): "
                     f"trained on synthetic {pct(e['f1_synthetic'])}, on real {pct(e['f1_real'])}; "
                     f"accuracy {pct(e['accuracy_synthetic'])} vs {pct(e['accuracy_real'])}")
    p = result["privacy"]
    line = f"privacy: median DCR synthetic {pct(p['synthetic']['median'])}"
    if p["holdout"] is not None:
        line += f", hold-out {pct(p['holdout']['median'])} (ratio {pct(p['median_ratio'])})"
    line += f"; exact copies of training rows {p['exact_copies']:.2%}"
    if p["exact_copies_holdout"] is not None:
        line += f" (hold-out rows: {p['exact_copies_holdout']:.2%})"
    lines.append(line)
    return lines

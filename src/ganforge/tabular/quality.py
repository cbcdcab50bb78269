"""How close a synthetic table is to the real one: the SDMetrics Quality Report, written here.

The definitions are those of SDMetrics' single-table Quality Report (DataCebo, the figures SDGym
publishes), so ganforge's scores can be set beside published ones:

* **Column shapes**, one score per column, averaged:
  - continuous columns (``continuous``, ``integer``, ``datetime``; datetimes as nanoseconds):
    KSComplement = 1 - the two-sample Kolmogorov-Smirnov statistic, sup_x |F_real(x) - F_synth(x)|,
    on the non-missing values (rounded to 14 decimals, as SDMetrics does);
  - categorical columns (``categorical``, ``boolean``): TVComplement = 1 - the total variation
    distance 1/2 sum_v |p_real(v) - p_synth(v)| of the non-missing values' frequencies.
* **Column-pair trends**, one score per pair of columns, averaged:
  - two continuous columns: CorrelationSimilarity = 1 - |r_real - r_synth| / 2 with Pearson's r,
    on the rows where both are present; undefined (left out of the mean) when a column is constant;
  - two categorical columns: ContingencySimilarity = 1 - the total variation distance of the two
    joint frequency tables, a missing value counting as a category of its own;
  - a continuous and a categorical column (SDMetrics' treatment, followed here): the continuous
    column is cut into 10 equal-width bins over its own range in each table (numpy's
    ``histogram_bin_edges``, so the real and the synthetic column are each binned over their own
    minimum..maximum; ``digitize`` puts the maximum and missing values in an eleventh bin), and the
    pair is scored with ContingencySimilarity.
* **Overall quality** = the mean of the column-shape and the column-pair-trend scores.

Since early 2026 SDMetrics' report averages only the pairs with a trend in the real data (|r_real|
> 0.5, or Cramer's V of the real contingency table > 0.3). The published SDGym figures (2024) and
this project average every pair: ``correlation_threshold`` and ``association_threshold`` of
:func:`quality_report` give the newer report (0.5 and 0.3); their default, 0, counts every pair.

Missing values are treated as SDMetrics treats them: dropped for KS, TV and correlation, a
category of their own in contingency tables. Scores that cannot be computed (an all-missing
column, a constant column in a correlation) are NaN and left out of the means.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

# Column kinds (as ganforge.tabular.columns names them) and the family each one is scored in.
CONTINUOUS_KINDS = ("continuous", "integer", "datetime")
DISCRETE_KINDS = ("categorical", "boolean")
_KS_DECIMALS = 14  # SDMetrics rounds to sys.float_info.dig - 1 decimals before the KS test
_BINS = 10  # numpy's default bin count, which SDMetrics uses for mixed pairs


def _numeric(series):
    """A column as float64 values (datetimes as nanoseconds since the epoch), missing as NaN."""
    import pandas as pd

    if pd.api.types.is_datetime64_any_dtype(series):
        values = series.astype("int64").astype("float64")  # NaT -> min int64, restored below
        values[series.isna()] = np.nan
        return values.to_numpy(dtype="float64")
    return pd.to_numeric(series, errors="coerce").to_numpy(dtype="float64")


def ks_complement(real, synth) -> float:
    """1 - the two-sample KS statistic of two continuous columns' non-missing values (NaN when
    either has none)."""
    a = np.round(_numeric(real), _KS_DECIMALS)
    b = np.round(_numeric(synth), _KS_DECIMALS)
    a, b = np.sort(a[~np.isnan(a)]), np.sort(b[~np.isnan(b)])
    if len(a) == 0 or len(b) == 0:
        return math.nan
    # Both empirical CDFs jump only at sample values, so the supremum is attained at one of them.
    points = np.concatenate([a, b])  # (n_a + n_b,)
    cdf_a = np.searchsorted(a, points, side="right") / len(a)
    cdf_b = np.searchsorted(b, points, side="right") / len(b)
    return float(1.0 - np.max(np.abs(cdf_a - cdf_b)))


def _frequencies(series) -> dict:
    counts = series.value_counts(dropna=True)
    total = counts.sum()
    return {k: v / total for k, v in counts.items()} if total else {}


def tv_complement(real, synth) -> float:
    """1 - the total variation distance of two categorical columns' non-missing values (NaN when
    either has none). A synthetic value the real column never takes counts fully against it."""
    p, q = _frequencies(real), _frequencies(synth)
    if not p or not q:
        return math.nan
    return float(1.0 - 0.5 * sum(abs(p.get(v, 0.0) - q.get(v, 0.0)) for v in set(p) | set(q)))


def _pearson(x: np.ndarray, y: np.ndarray) -> float:
    x, y = x - x.mean(), y - y.mean()
    denom = math.sqrt(float(x @ x) * float(y @ y))
    return float(x @ y) / denom if denom > 0 else math.nan


def correlation_similarity(real_a, real_b, synth_a, synth_b) -> tuple[float, float, float]:
    """``(score, r_real, r_synth)`` for two continuous columns: score = 1 - |r_real - r_synth| / 2
    with Pearson's r over the rows where both columns are present. A column that is constant (or
    has fewer than two complete rows) makes r, and so the score, NaN."""
    rs = []
    for a, b in ((real_a, real_b), (synth_a, synth_b)):
        x, y = _numeric(a), _numeric(b)
        keep = ~(np.isnan(x) | np.isnan(y))
        rs.append(_pearson(x[keep], y[keep]) if keep.sum() >= 2 else math.nan)
    r_real, r_synth = rs
    score = 1.0 - abs(r_real - r_synth) / 2.0
    return (score if not math.isnan(score) else math.nan), r_real, r_synth


def _shared_codes(real, synth) -> tuple[np.ndarray, np.ndarray, int]:
    """Integer codes of one column's values, shared between the real and the synthetic column:
    equal values get equal codes, a missing value gets a code of its own. Returns both code
    arrays and the number of codes."""
    import pandas as pd

    both = pd.concat([pd.Series(np.asarray(real, dtype=object)), pd.Series(np.asarray(synth, dtype=object))],
                     ignore_index=True)
    codes, uniques = pd.factorize(both, use_na_sentinel=True)  # missing -> -1
    codes = codes + 1  # missing -> 0, values -> 1..n
    return codes[: len(real)], codes[len(real):], len(uniques) + 1


def _joint_tvd(ra, rb, sa, sb, n_b: int) -> float:
    """Total variation distance between the joint frequencies of two columns' codes (see
    :func:`_shared_codes`; ``n_b``: the second column's number of codes) in the two tables."""
    # one int64 key per (a, b) value pair; only the pairs that occur are counted (no n_a x n_b table)
    keys_r, count_r = np.unique(ra.astype(np.int64) * n_b + rb, return_counts=True)
    keys_s, count_s = np.unique(sa.astype(np.int64) * n_b + sb, return_counts=True)
    keys = np.union1d(keys_r, keys_s)  # (k,)
    p = np.zeros(len(keys))
    q = np.zeros(len(keys))
    p[np.searchsorted(keys, keys_r)] = count_r / len(ra)
    q[np.searchsorted(keys, keys_s)] = count_s / len(sa)
    return float(0.5 * np.abs(p - q).sum())


def _cramers_v_codes(ca: np.ndarray, cb: np.ndarray, n_a: int, n_b: int) -> float:
    table = np.zeros((n_a, n_b))
    np.add.at(table, (ca, cb), 1.0)
    table = table[table.sum(1) > 0][:, table.sum(0) > 0]  # (r, c) observed counts
    if min(table.shape) < 2:
        return math.nan
    n = table.sum()
    expected = table.sum(1, keepdims=True) * table.sum(0, keepdims=True) / n
    chi2 = float(((table - expected) ** 2 / expected).sum())
    return math.sqrt(chi2 / (n * (min(table.shape) - 1)))


def cramers_v(a, b) -> float:
    """Cramer's V of the contingency table of two columns (missing values a category of their
    own; no continuity correction), NaN when either column takes fewer than two values."""
    ca, _, n_a = _shared_codes(a, a[:0])
    cb, _, n_b = _shared_codes(b, b[:0])
    return _cramers_v_codes(ca, cb, n_a, n_b)


def contingency_similarity(real_a, real_b, synth_a, synth_b) -> float:
    """1 - the total variation distance between the joint frequency tables of two categorical
    columns in the real and the synthetic table (a missing value is a category of its own)."""
    if len(real_a) == 0 or len(synth_a) == 0:
        return math.nan
    ra, sa, _ = _shared_codes(real_a, synth_a)
    rb, sb, n_b = _shared_codes(real_b, synth_b)
    return 1.0 - _joint_tvd(ra, rb, sa, sb, n_b)


def discretize(series) -> np.ndarray:
    """Bin numbers 1..11 of a continuous column as SDMetrics cuts it for a mixed pair: 10
    equal-width bins over the column's own non-missing range, the maximum and missing values in
    bin 11 (numpy's ``digitize`` on the ``histogram_bin_edges``)."""
    values = _numeric(series)
    present = values[~np.isnan(values)]
    if len(present) == 0:
        return np.full(len(values), _BINS + 1)
    edges = np.histogram_bin_edges(present, bins=_BINS)  # (11,)
    return np.digitize(values, edges)


def _family(kind: str) -> str | None:
    if kind in CONTINUOUS_KINDS:
        return "continuous"
    if kind in DISCRETE_KINDS:
        return "discrete"
    return None  # identifiers and other kinds are not scored


def _nanmean(values) -> float:
    kept = [v for v in values if v is not None and not math.isnan(v)]
    return float(sum(kept) / len(kept)) if kept else math.nan


def column_shapes(real, synth, kinds: dict[str, str]) -> dict[str, dict]:
    """Per scored column: ``{"kind", "metric", "score"}`` (KSComplement or TVComplement)."""
    out = {}
    for column, kind in kinds.items():
        family = _family(kind)
        if family == "continuous":
            out[column] = {"kind": kind, "metric": "KSComplement",
                           "score": ks_complement(real[column], synth[column])}
        elif family == "discrete":
            out[column] = {"kind": kind, "metric": "TVComplement",
                           "score": tv_complement(real[column], synth[column])}
    return out


def column_pair_trends(real, synth, kinds: dict[str, str], correlation_threshold: float = 0.0,
                       association_threshold: float = 0.0) -> list[dict]:
    """Per pair of scored columns: ``{"columns", "metric", "score", "real_correlation",
    "synthetic_correlation", "counted"}`` (correlations only for two continuous columns, else
    None). ``counted`` is False for a pair whose real trend is at or below the threshold
    (|r_real| for correlations, Cramer's V for contingency tables; 0 counts every pair)."""
    scored = [(c, _family(k)) for c, k in kinds.items() if _family(k)]
    coded = {}  # column -> (real codes, synthetic codes, number of codes), for contingency tables
    for column, family in scored:
        if family == "continuous":  # each table binned over its own range, as SDMetrics does
            coded[column] = _shared_codes(discretize(real[column]), discretize(synth[column]))
        else:
            coded[column] = _shared_codes(real[column], synth[column])
    out = []
    for (a, fa), (b, fb) in itertools.combinations(scored, 2):
        if fa == fb == "continuous":
            score, r_real, r_synth = correlation_similarity(real[a], real[b], synth[a], synth[b])
            counted = correlation_threshold <= 0 or abs(r_real) > correlation_threshold  # NaN: False
            out.append({"columns": [a, b], "metric": "CorrelationSimilarity", "score": score,
                        "real_correlation": r_real, "synthetic_correlation": r_synth, "counted": counted})
            continue
        (ra, sa, n_a), (rb, sb, n_b) = coded[a], coded[b]
        counted = association_threshold <= 0 or _cramers_v_codes(ra, rb, n_a, n_b) > association_threshold
        empty = len(ra) == 0 or len(sa) == 0
        out.append({"columns": [a, b], "metric": "ContingencySimilarity",
                    "score": math.nan if empty else 1.0 - _joint_tvd(ra, rb, sa, sb, n_b),
                    "real_correlation": None, "synthetic_correlation": None, "counted": counted})
    return out


def quality_report(real, synth, kinds: dict[str, str], correlation_threshold: float = 0.0,
                   association_threshold: float = 0.0) -> dict:
    """The quality report of ``synth`` against ``real`` (pandas DataFrames) for the columns in
    ``kinds`` (column name -> kind).

    Returns ``{"quality", "column_shapes", "column_pair_trends", "columns", "pairs"}``: the three
    headline scores in [0, 1] (1: indistinguishable by these statistics; NaN when nothing could be
    scored) and the per-column and per-pair details. The thresholds select the pairs counted in
    the pair-trend mean (see the module's note; 0 and 0 count every pair).
    """
    columns = column_shapes(real, synth, kinds)
    pairs = column_pair_trends(real, synth, kinds, correlation_threshold, association_threshold)
    shapes = _nanmean(c["score"] for c in columns.values())
    trends = _nanmean(p["score"] for p in pairs if p["counted"])
    return {"quality": _nanmean([shapes, trends]), "column_shapes": shapes,
            "column_pair_trends": trends, "columns": columns, "pairs": pairs}

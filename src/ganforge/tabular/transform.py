"""The reversible transformer: table rows <-> the vectors G generates and D judges.

Per column, in the table's order (CTGAN, Xu et al. 2019, section 4.2):

* numbers (continuous, integer, datetime as seconds) by **mode-specific normalisation**: a
  variational Gaussian mixture (scikit-learn's ``BayesianGaussianMixture``, Dirichlet-process
  prior 0.001, at most ``max_modes`` modes, those weighing under 0.005 dropped) is fitted once on
  a random sample of at most ``fit_rows`` values; a value x is encoded as a mode k, drawn with
  its posterior probability, one-hot, beside alpha = (x - mu_k) / (4 sigma_k) clipped to
  [-0.99, 0.99], one tanh output. Setting ``continuous="quantile"`` instead maps x through the
  column's empirical CDF to 2F(x) - 1 (one tanh output, no modes; quantile transforms are what
  several later tabular generators use);
* categorical and boolean columns one-hot (categories by frequency; a missing value is a category
  of its own), generated through Gumbel-softmax by the game;
* a numeric column with missing values gets a present/missing one-hot beside its value.

Decoding inverts each step: the mode is the argmax of its one-hot, the value is clipped to the
training range and rounded to the column's step (1 for integers, a day or a second for
datetimes), and dtypes and value sets come back as in the input. Posterior probabilities come from
the mixture's own weights, means and deviations, so a fitted transformer is a few arrays: it is
saved as ``transformer.safetensors`` + ``transformer.json`` and loaded without scikit-learn and
without any pickle. Encoding draws the modes from a generator seeded by ``seed``, so the same
table always encodes to the same vectors.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from ganforge.errors import CheckpointError, ConfigError
from ganforge.tabular.columns import ColumnMeta, Metadata, holds_text

FORMAT = "ganforge-table-transformer/1"
CONTINUOUS_METHODS = ("bgm", "quantile")
_ALPHA_CLIP = 0.99  # CTGAN clips the normalised value to (-1, 1) exclusive
_QUANTILES = 1001  # points of the empirical CDF kept by the quantile transform


@dataclass
class TransformSettings:
    """How numbers are encoded; saved with the transformer."""

    continuous: str = "bgm"  # "bgm" (mode-specific normalisation, CTGAN) or "quantile" (empirical CDF)
    max_modes: int = 10  # mixture components per numeric column (CTGAN: 10)
    fit_rows: int = 20000  # the mixture (or the quantiles) of a column are fitted on at most this many rows
    weight_threshold: float = 0.005  # modes lighter than this are dropped (CTGAN: 0.005)
    seed: int = 0  # the row sample the mixtures are fitted on, and the modes drawn when encoding

    def check(self) -> TransformSettings:
        if self.continuous not in CONTINUOUS_METHODS:
            raise ConfigError(f"continuous must be one of {', '.join(CONTINUOUS_METHODS)}, got {self.continuous!r}")
        if not (isinstance(self.max_modes, int) and 1 <= self.max_modes <= 100):
            raise ConfigError(f"max_modes must be an integer in [1, 100], got {self.max_modes!r}")
        if not (isinstance(self.fit_rows, int) and self.fit_rows >= 10):
            raise ConfigError(f"fit_rows must be an integer >= 10, got {self.fit_rows!r}")
        if not (0 <= self.weight_threshold < 1):
            raise ConfigError(f"weight_threshold must be in [0, 1), got {self.weight_threshold!r}")
        return self


@dataclass
class Span:
    """A block of the encoded vector: ``size`` outputs through one activation ("tanh" or "softmax")."""

    start: int
    size: int
    activation: str


@dataclass
class ColumnCodec:
    """How one column is encoded: its numbers (numeric columns) or its categories (discrete ones)."""

    name: str
    kind: str
    method: str  # "bgm", "quantile" or "onehot"
    dtype: str = ""
    datetime_format: str | None = None
    low: float = 0.0  # numeric: training range, decoded values are clipped to it
    high: float = 0.0
    step: float = 0.0  # numeric: decoded values are rounded to multiples of this (0 = not rounded)
    has_missing: bool = False  # numeric: a present/missing one-hot follows the value
    categories: list = field(default_factory=list)  # discrete: values in one-hot order (None = missing)
    counts: list = field(default_factory=list)  # discrete: rows per category in the training table
    # numeric arrays (saved as safetensors): mixture weights, means, deviations; or CDF quantiles
    arrays: dict = field(default_factory=dict)

    @property
    def discrete(self) -> bool:
        return self.method == "onehot"

    @property
    def n_modes(self) -> int:
        return len(self.arrays["means"]) if self.method == "bgm" else 0

    def widths(self) -> list[tuple[int, str]]:
        """(size, activation) of each of this column's spans, in order."""
        if self.discrete:
            return [(len(self.categories), "softmax")]
        out = [(1, "tanh")] + ([(self.n_modes, "softmax")] if self.method == "bgm" else [])
        return out + ([(2, "softmax")] if self.has_missing else [])

    def to_json(self) -> dict:
        d = asdict(self)
        d.pop("arrays")
        return d


class TableTransformer:
    """Fitted per-column codecs; :meth:`transform` and :meth:`inverse` map tables to vectors and back."""

    def __init__(self, codecs: list[ColumnCodec], metadata: Metadata, settings: TransformSettings):
        self.codecs, self.metadata, self.settings = codecs, metadata, settings
        self.spans: list[Span] = []  # every span of the encoded vector, in order
        self.column_spans: list[list[Span]] = []  # the spans of each column
        start = 0
        for c in codecs:
            mine = []
            for size, act in c.widths():
                mine.append(Span(start, size, act))
                start += size
            self.column_spans.append(mine)
            self.spans += mine
        self.dim = start

    # ------------------------------------------------------------------ fitting
    @classmethod
    def fit(cls, df: pd.DataFrame, metadata: Metadata, settings: TransformSettings | None = None) -> TableTransformer:
        """Fit a codec per column of ``metadata`` on ``df`` (one mixture per numeric column)."""
        settings = (settings or TransformSettings()).check()
        rng = np.random.default_rng(settings.seed)
        codecs = []
        for col in metadata.columns:
            if col.name not in df.columns:
                raise ConfigError(f"the metadata names column {col.name!r}, which the table lacks; "
                                  f"columns: {', '.join(map(str, df.columns))}")
            s = df[col.name]
            if col.kind in ("categorical", "boolean"):
                codecs.append(_fit_discrete(col, s))
            else:
                codecs.append(_fit_numeric(col, s, settings, rng))
        return cls(codecs, metadata, settings)

    # ------------------------------------------------------------------ encoding
    def transform(self, df: pd.DataFrame, seed: int | None = None) -> np.ndarray:
        """The table as float32 vectors (n, dim); numeric modes drawn with ``seed`` (default the settings')."""
        rng = np.random.default_rng(self.settings.seed if seed is None else seed)
        n = len(df)
        out = np.zeros((n, self.dim), dtype=np.float32)
        for codec, spans in zip(self.codecs, self.column_spans):
            if codec.name not in df.columns:
                raise ConfigError(f"the table has no column {codec.name!r}, which the model was fitted on")
            s = df[codec.name]
            if codec.discrete:
                codes = self.codes_of(codec, s)  # (n,)
                out[np.arange(n), spans[0].start + codes] = 1.0
                continue
            x, missing = _numbers(codec, s)  # (n,) float64, (n,) bool
            if missing.any():
                x = np.where(missing, np.nanmedian(x) if (~missing).any() else 0.0, x)
            if codec.method == "quantile":
                out[:, spans[0].start] = 2.0 * _cdf(codec, x) - 1.0
            else:
                k = _draw_modes(codec, x, rng)  # (n,)
                mu, sd = codec.arrays["means"][k], codec.arrays["stds"][k]
                out[:, spans[0].start] = np.clip((x - mu) / (4 * sd), -_ALPHA_CLIP, _ALPHA_CLIP)
                out[np.arange(n), spans[1].start + k] = 1.0
            if codec.has_missing:
                out[np.arange(n), spans[-1].start + missing.astype(np.int64)] = 1.0
        return out

    @staticmethod
    def codes_of(codec: ColumnCodec, s: pd.Series) -> np.ndarray:
        """Category index (n,) int64 of each value of a discrete column; unknown values are an error."""
        index = {_key(v): i for i, v in enumerate(codec.categories)}
        codes, uniques = _factorize(s)  # (n,) with -1 for missing, and the distinct values
        table = np.zeros(len(uniques) + 1, dtype=np.int64)  # distinct value -> category; last: missing
        for j, v in enumerate(list(uniques) + ([None] if (codes < 0).any() else [])):
            if _key(v) not in index:
                what = "a missing value" if v is None else repr(v)
                raise ConfigError(f"column {codec.name!r} holds {what}, a value the model was not fitted on")
            table[j] = index[_key(v)]
        return table[codes]  # codes -1 pick the last entry

    def discrete_codes(self, df: pd.DataFrame) -> np.ndarray:
        """(n, n_discrete) int64: the category index of every discrete column (for the sampler)."""
        cols = [self.codes_of(c, df[c.name]) for c in self.codecs if c.discrete]
        return np.stack(cols, 1) if cols else np.zeros((len(df), 0), dtype=np.int64)

    def discrete_counts(self) -> list[list[int]]:
        """Training rows per category of each discrete column, in the conditional vector's order."""
        return [list(c.counts) for c in self.codecs if c.discrete]

    def discrete_spans(self) -> list[Span]:
        """The encoded span of each discrete column, one per block of the conditional vector."""
        return [spans[0] for c, spans in zip(self.codecs, self.column_spans) if c.discrete]

    # ------------------------------------------------------------------ decoding
    def inverse(self, x: np.ndarray | torch.Tensor) -> pd.DataFrame:
        """Vectors (n, dim) back to a table with the input's columns, dtypes and value sets."""
        if isinstance(x, torch.Tensor):
            x = x.detach().cpu().double().numpy()
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise ConfigError(f"expected vectors of shape (n, {self.dim}), got {tuple(x.shape)}")
        cols = {}
        for codec, spans in zip(self.codecs, self.column_spans):
            cols[codec.name] = _decode(codec, spans, x)
        return pd.DataFrame(cols)

    # ------------------------------------------------------------------ saving
    def save(self, folder: str | Path) -> None:
        """Write ``transformer.json`` and ``transformer.safetensors`` into ``folder`` atomically."""
        from safetensors.torch import save as st_save

        from ganforge.fileio import atomic_write_bytes, atomic_write_text

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        tensors = {f"{i}.{k}": torch.from_numpy(np.ascontiguousarray(v, dtype=np.float64))
                   for i, c in enumerate(self.codecs) for k, v in c.arrays.items()}
        atomic_write_bytes(folder / "transformer.safetensors", st_save(tensors) if tensors else st_save({}))
        doc = {"format": FORMAT, "settings": asdict(self.settings), "metadata": self.metadata.to_dict(),
               "columns": [c.to_json() for c in self.codecs]}
        atomic_write_text(folder / "transformer.json", json.dumps(doc, indent=1) + "\n")

    @classmethod
    def load(cls, folder: str | Path) -> TableTransformer:
        """The transformer saved in ``folder`` (CheckpointError naming what is wrong)."""
        from safetensors.torch import load as st_load

        folder = Path(folder)
        where = folder / "transformer.json"
        try:
            doc = json.loads(where.read_text(encoding="utf-8"))
            tensors = st_load((folder / "transformer.safetensors").read_bytes())
        except FileNotFoundError as e:
            raise CheckpointError(f"{folder} holds no fitted table transformer ({Path(e.filename).name} is missing)") from None
        except Exception as e:  # noqa: BLE001 - JSON or safetensors refused the file: one line
            raise CheckpointError(f"the table transformer in {folder} is unreadable ({e})") from None
        try:
            if doc.get("format") != FORMAT:
                raise ValueError(f"format {doc.get('format')!r}")
            settings = TransformSettings(**doc["settings"]).check()
            metadata = Metadata.from_json(doc["metadata"])
            codecs = []
            for i, c in enumerate(doc["columns"]):
                c = dict(c)
                c["arrays"] = {k.split(".", 1)[1]: tensors[k].numpy() for k in tensors if k.split(".", 1)[0] == str(i)}
                codec = ColumnCodec(**c)
                _check_codec(codec)
                codecs.append(codec)
        except (KeyError, TypeError, ValueError, ConfigError) as e:
            raise CheckpointError(f"the table transformer in {folder} is malformed ({e})") from None
        return cls(codecs, metadata, settings)


def encode_table(df: pd.DataFrame, transformer: TableTransformer, name: str = "table"):
    """Every row of ``df`` encoded with ``transformer`` (modes drawn with its seed), as the
    :class:`~ganforge.data.table.TableData` the tabular game trains on."""
    from ganforge.data.table import TableData

    rows = torch.from_numpy(transformer.transform(df))  # (n, dim)
    codes = torch.from_numpy(transformer.discrete_codes(df))  # (n, n_discrete)
    return TableData(name, rows, codes, transformer.spans, transformer.discrete_spans(),
                     transformer.discrete_counts(), transformer)


# ---------------------------------------------------------------------- per-column helpers
def _key(v) -> str:
    """A key under which equal values of any dtype meet (1 and 1.0 meet, "1" stays apart)."""
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return "missing"
    if isinstance(v, (bool, np.bool_)):
        return f"bool:{bool(v)}"
    if isinstance(v, (int, np.integer, float, np.floating)):
        return f"num:{float(v)!r}"
    return f"text:{v}"


def _json_value(v):
    """A category as a JSON value (numpy scalars to Python; anything else as text)."""
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return None
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return float(v)
    return str(v)


def _factorize(s: pd.Series) -> tuple[np.ndarray, list]:
    """(codes (n,) int64 with -1 for missing, distinct values as Python objects) of a discrete column.

    Missing is NaN, None or blank text. One pass in pandas; Python touches only the distinct values.
    """
    values = s.astype(object)
    blank = values.map(lambda v: isinstance(v, str) and not v.strip()) if holds_text(s) else None
    if blank is not None and blank.any():
        values = values.where(~blank, None)
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    return codes.astype(np.int64), [_json_value(v) for v in uniques]


def _fit_discrete(col: ColumnMeta, s: pd.Series) -> ColumnCodec:
    codes, uniques = _factorize(s)
    counts = np.bincount(codes + 1, minlength=len(uniques) + 1)  # slot 0: missing
    values = [None] + uniques
    # categories by frequency, ties by first appearance
    order = [i for i in np.argsort(-counts, kind="stable") if counts[i] > 0]
    return ColumnCodec(col.name, col.kind, "onehot", col.dtype, None, categories=[values[i] for i in order],
                       counts=[int(counts[i]) for i in order])


def _numbers(codec: ColumnCodec, s: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """A numeric column as float64 (datetimes as seconds since 1970) and its missing mask."""
    if codec.kind == "datetime":
        if codec.datetime_format:
            t = pd.to_datetime(s.astype(object).where(s.notna(), None), format=codec.datetime_format, errors="coerce")
        else:
            t = pd.to_datetime(s, errors="coerce")
        missing = t.isna().to_numpy()
        secs = t.to_numpy(dtype="datetime64[ns]").astype(np.int64).astype(np.float64) / 1e9
        return np.where(missing, np.nan, secs), missing
    x = pd.to_numeric(s, errors="coerce").to_numpy(dtype=np.float64)
    missing = ~np.isfinite(x)
    return np.where(missing, np.nan, x), missing


def _fit_numeric(col: ColumnMeta, s: pd.Series, settings: TransformSettings, rng) -> ColumnCodec:
    codec = ColumnCodec(col.name, col.kind, settings.continuous, col.dtype, col.datetime_format)
    x, missing = _numbers(codec, s)
    values = x[~missing]
    if values.size == 0:
        raise ConfigError(f"column {col.name!r} has no numeric value to learn from")
    codec.low, codec.high = float(values.min()), float(values.max())
    codec.has_missing = bool(missing.any())
    if col.kind == "integer":
        codec.step = 1.0
    elif col.kind == "datetime":
        codec.step = 86400.0 if np.all(values % 86400 == 0) else (1.0 if np.all(values % 1 == 0) else 0.0)
    sample = values if values.size <= settings.fit_rows else rng.choice(values, settings.fit_rows, replace=False)
    if settings.continuous == "quantile":
        codec.arrays = {"quantiles": np.quantile(sample, np.linspace(0, 1, _QUANTILES))}
    else:
        codec.arrays = _fit_mixture(sample, settings)
    return codec


def _fit_mixture(values: np.ndarray, settings: TransformSettings) -> dict:
    """Weights, means and deviations of the modes of ``values`` (CTGAN's variational mixture)."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.mixture import BayesianGaussianMixture

    # work on a standardised copy: the mixture's priors assume values of order 1
    centre, scale = float(values.mean()), float(values.std()) or 1.0
    z = ((values - centre) / scale).reshape(-1, 1)
    n_modes = min(settings.max_modes, max(1, len(np.unique(z))))
    bgm = BayesianGaussianMixture(n_components=n_modes, weight_concentration_prior_type="dirichlet_process",
                                  weight_concentration_prior=0.001, max_iter=100, n_init=1,
                                  random_state=settings.seed % 2**32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        bgm.fit(z)
    keep = bgm.weights_ > settings.weight_threshold
    if not keep.any():
        keep = bgm.weights_ == bgm.weights_.max()
    weights = bgm.weights_[keep] / bgm.weights_[keep].sum()
    means = bgm.means_[keep, 0] * scale + centre
    # a mode on a single repeated value has a vanishing deviation: floor it so alpha stays finite
    stds = np.maximum(np.sqrt(bgm.covariances_[keep].reshape(-1)) * scale, 1e-6 * scale)
    order = np.argsort(means)
    return {"weights": weights[order], "means": means[order], "stds": stds[order]}


def _mode_posterior(codec: ColumnCodec, x: np.ndarray) -> np.ndarray:
    """p(mode | x) (n, K) from the mixture's weights, means and deviations."""
    w, mu, sd = codec.arrays["weights"], codec.arrays["means"], codec.arrays["stds"]
    logp = np.log(w + 1e-12) - np.log(sd) - 0.5 * ((x[:, None] - mu) / sd) ** 2  # (n, K)
    logp -= logp.max(1, keepdims=True)
    p = np.exp(logp)
    return p / p.sum(1, keepdims=True)


def _draw_modes(codec: ColumnCodec, x: np.ndarray, rng) -> np.ndarray:
    """One mode per value, drawn with its posterior probability (CTGAN samples, not argmax)."""
    p = _mode_posterior(codec, x)  # (n, K)
    u = rng.random(len(x))[:, None]  # (n, 1)
    return np.minimum((np.cumsum(p, 1) < u).sum(1), p.shape[1] - 1)


def _cdf_table(codec: ColumnCodec) -> tuple[np.ndarray, np.ndarray]:
    """The distinct quantile values and the mean CDF level of each (ties share one level)."""
    q = codec.arrays["quantiles"]
    levels = np.linspace(0, 1, len(q))
    uniq, inv = np.unique(q, return_inverse=True)
    mean_level = np.bincount(inv, weights=levels) / np.bincount(inv)
    return uniq, mean_level


def _cdf(codec: ColumnCodec, x: np.ndarray) -> np.ndarray:
    uniq, level = _cdf_table(codec)
    if len(uniq) == 1:
        return np.full(len(x), 0.5)
    return np.interp(x, uniq, level)


def _decode(codec: ColumnCodec, spans: list[Span], x: np.ndarray) -> pd.Series | np.ndarray:
    if codec.discrete:
        s = spans[0]
        codes = x[:, s.start:s.start + s.size].argmax(1)
        values = np.empty(len(x), dtype=object)
        cats = np.array(codec.categories, dtype=object)
        values[:] = cats[codes]
        return _restore_discrete(codec, values)
    a = np.clip(x[:, spans[0].start], -1.0, 1.0)
    if codec.method == "quantile":
        q = codec.arrays["quantiles"]
        v = np.interp((a + 1) / 2, np.linspace(0, 1, len(q)), q)
    else:
        m = spans[1]
        k = x[:, m.start:m.start + m.size].argmax(1)
        v = a * 4 * codec.arrays["stds"][k] + codec.arrays["means"][k]
    v = np.clip(v, codec.low, codec.high)
    if codec.step > 0:
        v = np.clip(np.round(v / codec.step) * codec.step, codec.low, codec.high)
    missing = x[:, spans[-1].start:spans[-1].start + 2].argmax(1) == 1 if codec.has_missing else np.zeros(len(x), bool)
    return _restore_numeric(codec, v, missing)


def _restore_numeric(codec: ColumnCodec, v: np.ndarray, missing: np.ndarray) -> pd.Series:
    if codec.kind == "datetime":
        t = pd.Series(pd.to_datetime(np.round(v * 1e9).astype(np.int64)))
        t[missing] = pd.NaT
        if codec.datetime_format:
            return t.dt.strftime(codec.datetime_format).where(~missing, None)
        if codec.dtype.startswith("datetime64"):
            return t.astype(codec.dtype) if "[" in codec.dtype else t
        return t
    v = v.astype(np.float64)
    v[missing] = np.nan
    s = pd.Series(v)
    if codec.kind == "integer" and not missing.any() and codec.dtype and codec.dtype != "object":
        try:
            return s.astype(codec.dtype)
        except (TypeError, ValueError):
            return s
    if codec.kind == "integer" and codec.dtype in ("Int8", "Int16", "Int32", "Int64"):
        return s.astype(codec.dtype)
    return s


def _restore_discrete(codec: ColumnCodec, values: np.ndarray) -> pd.Series:
    s = pd.Series(values, dtype=object)
    has_missing = any(v is None for v in codec.categories)
    if codec.dtype == "category":
        return pd.Series(pd.Categorical(s, categories=[c for c in codec.categories if c is not None]))
    if codec.dtype and codec.dtype != "object":
        if codec.dtype in ("bool", "boolean") and has_missing:
            return s.astype("boolean")
        if not (has_missing and codec.dtype.startswith(("int", "uint", "bool"))):
            try:
                return s.astype(codec.dtype)
            except (TypeError, ValueError):
                return s
        return s.astype(np.float64)  # integer categories with gaps: pandas writes them as floats
    return s


def _check_codec(c: ColumnCodec) -> None:
    """Raise ValueError when a loaded codec is inconsistent."""
    if c.method == "onehot":
        if not c.categories or len(c.categories) != len(c.counts):
            raise ValueError(f"column {c.name!r}: categories and counts differ in length")
        return
    if c.method == "bgm":
        n = len(c.arrays.get("means", ()))
        if n < 1 or any(len(c.arrays.get(k, ())) != n for k in ("weights", "stds")) or (c.arrays["stds"] <= 0).any():
            raise ValueError(f"column {c.name!r}: its mixture arrays are missing or inconsistent")
    elif c.method == "quantile":
        if len(c.arrays.get("quantiles", ())) < 2:
            raise ValueError(f"column {c.name!r}: its quantiles are missing")
    else:
        raise ValueError(f"column {c.name!r}: unknown method {c.method!r}")

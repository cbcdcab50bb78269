"""Sampling a fitted tabular GAN: a run directory in, a DataFrame out (no training data needed).

    synth = sample("runs/adult", 10_000, condition="workclass=Private", seed=1)

Unconditional rows draw the conditional vector with the training table's category frequencies,
so every column keeps its distribution. With a condition, G is asked for that category of that
column in every row and the rows that come out with another value are dropped and drawn again
(CTGAN's rejection sampling), so every returned row has the asked value.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import torch

from ganforge.errors import ConfigError, DataError
from ganforge.tabular.transform import TableTransformer, _key

MAX_ROWS = 100_000_000  # a sanity cap on n
_MAX_ROUNDS = 50  # rejection sampling gives up after this many batches without enough matching rows


class TabularModel:
    """A fitted run: its transformer, its G (G_ema when kept) and its conditional vector."""

    def __init__(self, run_dir: str | Path, ema: bool = True):
        from ganforge.data.table_sampler import CondVector
        from ganforge.engine import checkpoint as ckpt
        from ganforge.engine.generator import load_weights
        from ganforge.engine.rundir import read_run_config, run_checkpoint
        from ganforge.games.tabular import OutputLayout, build_tabular_networks
        from ganforge.nets.spec import NetworkSpec
        from ganforge.tabular.fit import TABLE_DIR

        self.run_dir = Path(run_dir)
        self.cfg = read_run_config(self.run_dir)
        if self.cfg.model.game != "tabular":
            raise ConfigError(f"{run_dir} is a {self.cfg.model.game!r} run, not a tabular one (ganforge tabular fit)")
        self.transformer = TableTransformer.load(self.run_dir / TABLE_DIR)
        path = run_checkpoint(self.run_dir)
        _, weights, state = ckpt.read_checkpoint(path)
        spec = NetworkSpec.from_dict(state.get("networks", {}), str(path))
        if spec.data_shape != (self.transformer.dim,):
            raise ConfigError(f"checkpoint {path} does not fit the run's transformer "
                              f"(width {spec.data_shape} against {self.transformer.dim})")
        self.G = build_tabular_networks(self.cfg.model, spec)["G"]
        name = "G_ema" if ema and "G_ema" in weights else "G"
        load_weights(self.G, weights[name], name, path)
        self.G.eval().requires_grad_(False)
        self.cond = CondVector(self.transformer.discrete_counts())
        self.layout = OutputLayout(self.transformer.spans)
        self.step = int(state.get("step", 0))

    def condition_of(self, condition) -> tuple[str, object, tuple[int, int]] | None:
        """(column, value, (discrete column index, category index)) for ``condition``: a dict
        ``{column: value}`` or the text ``column=value``; None for no condition."""
        if condition is None or condition == {}:
            return None
        if isinstance(condition, str):
            if "=" not in condition:
                raise ConfigError(f"a condition is column=value, got {condition!r}")
            column, _, value = condition.partition("=")
            column, value, text = column.strip(), value.strip(), True
        elif isinstance(condition, dict) and len(condition) == 1:
            (column, value), text = next(iter(condition.items())), False
        else:
            raise ConfigError(f"condition must be one column=value (or a one-entry dict), got {condition!r}")
        discrete = [c for c in self.transformer.codecs if c.discrete]
        names = [c.name for c in discrete]
        if column not in names:
            every = [c.name for c in self.transformer.codecs]
            if column in every:
                raise ConfigError(f"condition column {column!r} is numeric; conditions name a categorical or "
                                  f"boolean column: {', '.join(names) or 'this table has none'}")
            raise ConfigError(f"condition names no column {column!r}; categorical columns: {', '.join(names) or 'none'}")
        codec = discrete[names.index(column)]
        for k, cat in enumerate(codec.categories):
            if cat is None:
                continue
            if (text and str(cat) == value) or (not text and _key(cat) == _key(value)):
                return column, cat, (names.index(column), k)
        shown = [str(c) for c in codec.categories if c is not None]
        more = f" and {len(shown) - 20} more" if len(shown) > 20 else ""
        raise ConfigError(f"column {column!r} has no value {value!r}; its values: {', '.join(shown[:20])}{more}")

    def sample(self, n: int, condition=None, seed: int = 0, batch: int = 1000) -> pd.DataFrame:
        """``n`` synthetic rows with the training table's columns and dtypes."""
        from ganforge.games.tabular import generate_rows

        if isinstance(n, bool) or not isinstance(n, int) or not (1 <= n <= MAX_ROWS):
            raise ConfigError(f"n must be an integer in [1, {MAX_ROWS}], got {n!r}")
        asked = self.condition_of(condition)
        generator = torch.Generator().manual_seed(seed)
        z_dim, layout = self.cfg.model.z_dim, self.layout
        if asked is None:
            return self.transformer.inverse(generate_rows(self.G, layout, self.cond, n, z_dim, generator, batch=batch))
        column, value, fixed = asked
        parts, found = [], 0
        for _ in range(_MAX_ROUNDS):
            rows = self.transformer.inverse(generate_rows(self.G, layout, self.cond, max(n - found, batch), z_dim,
                                                          generator, fixed=fixed, batch=batch))
            keep = rows[rows[column].map(_key) == _key(value)]
            parts.append(keep)
            found += len(keep)
            if found >= n:
                break
        if found < n:
            raise DataError(f"only {found} of {n} rows with {column}={value} came out after {_MAX_ROUNDS} rounds "
                            f"of rejection sampling; the model rarely makes this value (train longer)")
        return pd.concat(parts, ignore_index=True).iloc[:n].reset_index(drop=True)


def sample(run_dir: str | Path, n: int, condition=None, seed: int = 0, ema: bool = True) -> pd.DataFrame:
    """``n`` synthetic rows from the tabular run in ``run_dir`` (see :class:`TabularModel`)."""
    return TabularModel(run_dir, ema=ema).sample(n, condition=condition, seed=seed)

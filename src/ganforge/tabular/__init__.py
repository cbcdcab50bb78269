"""Synthetic tables: a conditional tabular GAN in the manner of CTGAN (Xu et al. 2019).

    from ganforge.tabular import fit, sample
    run = fit(df, "runs/adult", target="income")       # a pandas DataFrame in, a run directory out
    synth = sample(run, 10_000, condition={"workclass": "Private"})

:mod:`~ganforge.tabular.columns` infers each column's kind, :mod:`~ganforge.tabular.transform`
turns rows into the vectors G learns and back, :mod:`ganforge.data.table_sampler` draws the
conditional vector (training-by-sampling), :mod:`ganforge.games.tabular` is the game the engine
plays, and :mod:`~ganforge.tabular.fit` / :mod:`~ganforge.tabular.sample` are the Python API.
"""

from ganforge.tabular.columns import KINDS, ColumnMeta, Metadata, infer_metadata, load_metadata
from ganforge.tabular.csv import read_csv
from ganforge.tabular.fit import fit
from ganforge.tabular.sample import TabularModel, sample

__all__ = ["KINDS", "ColumnMeta", "Metadata", "infer_metadata", "load_metadata", "read_csv", "fit", "sample", "TabularModel"]

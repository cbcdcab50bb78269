"""Synthetic tables: a conditional tabular GAN in the manner of CTGAN (Xu et al. 2019).

    from ganforge.tabular import fit, sample
    run = fit(df, "runs/adult", target="income")       # a pandas DataFrame in, a run directory out
    synth = sample(run, 10_000, condition={"workclass": "Private"})

:mod:`~ganforge.tabular.columns` infers each column's kind, :mod:`~ganforge.tabular.transform`
turns rows into the vectors G learns and back, :mod:`ganforge.data.table_sampler` draws the
conditional vector (training-by-sampling), :mod:`ganforge.games.tabular` is the game the engine
plays, and :mod:`~ganforge.tabular.fit` / :mod:`~ganforge.tabular.sample` are the Python API.
:func:`evaluate` scores a synthetic table against the real one (:mod:`~ganforge.tabular.quality`,
:mod:`~ganforge.tabular.efficacy`, :mod:`~ganforge.tabular.privacy`, the HTML report in
:mod:`~ganforge.tabular.report`); :func:`load_adult` reads UCI Adult.
"""

from ganforge.tabular.adult import load_adult
from ganforge.tabular.columns import KINDS, ColumnMeta, Metadata, infer_metadata, load_metadata
from ganforge.tabular.csv import read_csv
from ganforge.tabular.evaluate import evaluate
from ganforge.tabular.fit import fit
from ganforge.tabular.quality import quality_report
from ganforge.tabular.sample import TabularModel, sample

__all__ = ["KINDS", "ColumnMeta", "Metadata", "infer_metadata", "load_metadata", "read_csv", "fit", "sample", "TabularModel",
           "evaluate", "quality_report", "load_adult"]

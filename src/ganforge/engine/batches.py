"""The stream of real batches a run's data calls for (the streams themselves live in
:mod:`ganforge.data.streams` and :mod:`ganforge.data.paired`)."""

from __future__ import annotations

from ganforge.data.mixtures import PointDistribution
from ganforge.data.streams import EpochStream, PointStream

__all__ = ["EpochStream", "PointStream", "make_stream"]


def make_stream(data, seed: int):
    """The stream of real batches for ``data``: endless draws from a point distribution, shuffled
    passes over images or image pairs, or two independent passes over unpaired image sets."""
    from ganforge.data.paired import UnpairedImages, UnpairedStream

    if isinstance(data, PointDistribution):
        return PointStream(data, seed)
    if isinstance(data, UnpairedImages):
        return UnpairedStream(data, seed)
    return EpochStream(data, seed)

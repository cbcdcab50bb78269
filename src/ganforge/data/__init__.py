"""Data: point distributions with known modes, and image datasets decoded once into tensors."""

from __future__ import annotations

from ganforge.config import DataConfig
from ganforge.data.base import ImageDataset, is_point_data
from ganforge.data.mixtures import POINT_DATASETS, PointDistribution, make_distribution

__all__ = ["DATASETS", "ImageDataset", "PointDistribution", "load_dataset", "dataset_names", "is_point_data"]


def dataset_names() -> dict[str, str]:
    """Every dataset name with its one-line description."""
    from ganforge.data.images import IMAGE_DATASETS

    return {**POINT_DATASETS, **IMAGE_DATASETS}


def load_dataset(cfg: DataConfig) -> ImageDataset | PointDistribution:
    """The dataset or point distribution that ``cfg`` names."""
    from ganforge.errors import ConfigError, DataError

    if cfg.clusters < 0:
        raise ConfigError(f"data.clusters must be >= 0 (0: the dataset's own labels), got {cfg.clusters}")
    if cfg.name in POINT_DATASETS:
        if cfg.clusters:
            raise ConfigError(f"data.clusters labels image datasets; {cfg.name!r} is a point distribution")
        return make_distribution(cfg.name, cfg.path, cfg.noise_std)
    from ganforge.data.images import IMAGE_DATASETS, load_image_dataset

    if cfg.name in IMAGE_DATASETS:
        dataset = load_image_dataset(cfg)
        if cfg.clusters:
            from ganforge.data.clusters import with_cluster_labels

            dataset = with_cluster_labels(dataset, cfg.clusters)
        return dataset

    raise DataError(f"unknown dataset {cfg.name!r}; valid datasets: {', '.join(dataset_names())}")


def __getattr__(name):
    if name == "DATASETS":
        return dataset_names()
    raise AttributeError(name)

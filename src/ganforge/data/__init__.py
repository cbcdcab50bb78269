"""Data: point distributions with known modes, and image datasets decoded once into tensors."""

from __future__ import annotations

from ganforge.config import DataConfig
from ganforge.data.base import ImageDataset, is_point_data
from ganforge.data.mixtures import POINT_DATASETS, PointDistribution, make_distribution

__all__ = ["TRANSLATION_DATASETS", "DATASETS", "ImageDataset", "PointDistribution", "load_dataset", "dataset_names", "is_point_data"]


# image-to-image translation data (pix2pix, CycleGAN): see ganforge.data.paired
TRANSLATION_DATASETS = {
    "facades": "CMP Facades, 400 train / 106 test pairs of photo (A) and label map (B), 256x256 (pix2pix)",
    "pairs": "your paired images in data.path: side-by-side files, or A/ and B/ folders with matching names",
    "unpaired": "your unpaired images in data.path: A/ and B/ (or trainA/, trainB/) folders, any names and counts",
}

# tables (a DataFrame each, not training data of the image engine): see ganforge.tabular
TABULAR_DATASETS = {
    "adult": "UCI Adult census income, 32,561 train / 16,281 test rows, 14 columns + income (CTGAN, SDGym)",
}


# tables (model.game tabular): encoded by ganforge.tabular, which hands the trainer its rows
TABLE_DATASETS = {
    "table": "a CSV table or DataFrame given to `ganforge tabular fit` (data.path names the CSV)",
}


# molecules (model.game molgan): graphs read with RDKit, see ganforge.data.molecules
MOLECULE_DATASETS = {
    "qm9": "QM9: 130,831 small organic molecules, up to 9 heavy atoms C, N, O, F, as graphs (MolGAN)",
    "smiles": "your molecules in data.path: a SMILES file (one per line, or a CSV with a 'smiles' column), as graphs",
}


def dataset_names() -> dict[str, str]:
    """Every dataset name with its one-line description."""
    from ganforge.data.images import IMAGE_DATASETS

    from ganforge.data.restoration import RESTORATION_DATASETS

    return {**POINT_DATASETS, **IMAGE_DATASETS, **TRANSLATION_DATASETS, **RESTORATION_DATASETS, **TABLE_DATASETS,
            **MOLECULE_DATASETS}


def load_dataset(cfg: DataConfig) -> ImageDataset | PointDistribution:
    """The dataset or point distribution that ``cfg`` names."""
    from ganforge.errors import ConfigError, DataError

    if cfg.clusters < 0:
        raise ConfigError(f"data.clusters must be >= 0 (0: the dataset's own labels), got {cfg.clusters}")
    if cfg.name in POINT_DATASETS:
        dist = make_distribution(cfg.name, cfg.path, cfg.noise_std)
        if cfg.clusters:  # self-conditioning: k-means clusters of a seeded sample (ganforge.data.clusters)
            from ganforge.data.clusters import ClusteredPoints

            dist = ClusteredPoints(dist, cfg.clusters)
        return dist
    if cfg.name in TRANSLATION_DATASETS:
        return load_translation_dataset(cfg)
    if cfg.name in TABLE_DATASETS:
        raise ConfigError("a table is fitted and resumed with `ganforge tabular fit` (it encodes the rows "
                          "with the run's own transformer): `ganforge tabular fit --resume RUN`")
    if cfg.name in MOLECULE_DATASETS:
        from ganforge.data.molecules import load_molecules

        return load_molecules(cfg)
    if cfg.name.startswith("sr-"):  # super-resolution: HR patches (ganforge.data.restoration)
        from ganforge.data.restoration import load_restoration

        return load_restoration(cfg)
    from ganforge.data.images import IMAGE_DATASETS, load_image_dataset

    if cfg.name in IMAGE_DATASETS:
        dataset = load_image_dataset(cfg)
        if cfg.fraction < 1:  # little data: a seeded, class-stratified part (ganforge.data.subset)
            from ganforge.data.subset import fraction_subset

            dataset = fraction_subset(dataset, cfg.fraction, cfg.fraction_seed)
        if cfg.clusters:
            from ganforge.data.clusters import with_cluster_labels

            dataset = with_cluster_labels(dataset, cfg.clusters)
        return dataset

    raise DataError(f"unknown dataset {cfg.name!r}; valid datasets: {', '.join(dataset_names())}")


def __getattr__(name):
    if name == "DATASETS":
        return dataset_names()
    raise AttributeError(name)


def load_translation_dataset(cfg: DataConfig):
    """Paired (:class:`~ganforge.data.paired.PairedImages`) or unpaired images for translation."""
    from ganforge.data import paired
    from ganforge.errors import ConfigError

    split = "test" if cfg.split == "test" else "train"
    if cfg.name == "facades":
        return paired.load_facades(split, cfg.direction, cfg.resolution or 256, cfg.limit, cfg.data_dir, cfg.path)
    if not cfg.path:
        raise ConfigError(f"data {cfg.name!r} needs data.path: a folder or archive of images")
    if cfg.name == "pairs":
        return paired.load_paired(cfg.path, split, cfg.direction, cfg.resolution, cfg.channels, cfg.limit)
    return paired.load_unpaired(cfg.path, split, cfg.resolution, cfg.channels, cfg.limit)

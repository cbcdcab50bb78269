"""Self-conditioning: k-means pseudo-labels for unlabelled images, and class draws that follow the data."""

import pytest
import torch

from ganforge.config import Config
from ganforge.data import load_dataset
from ganforge.data.base import ImageDataset
from ganforge.data.clusters import cluster_labels, with_cluster_labels
from ganforge.engine import Trainer
from ganforge.errors import ConfigError
from tests.test_training_round import tiny_config


def two_kinds_of_images(n=60):
    """Dark images with a bright left column and bright images with a dark one, shuffled: (n, 1, 8, 8)."""
    g = torch.Generator().manual_seed(0)
    kind = torch.randperm(n, generator=g) % 2  # (n,) 0 or 1
    base = torch.randint(0, 40, (n, 1, 8, 8), generator=g)
    base[kind == 0, :, :, 0] += 200
    base[kind == 1] = 255 - base[kind == 1]
    return base.to(torch.uint8), kind


def test_k_means_recovers_two_obvious_groups_deterministically():
    images, kind = two_kinds_of_images()
    labels = cluster_labels(images, 2)
    assert labels.dtype == torch.int64 and labels.shape == kind.shape
    same = (labels == kind).float().mean().item()
    assert same in (0.0, 1.0)  # the groups exactly, up to the naming of the clusters
    assert torch.equal(labels, cluster_labels(images, 2))  # a resumed run sees the same clusters


def test_cluster_labels_replace_the_classes_and_keep_the_images():
    images, _ = two_kinds_of_images()
    ds = ImageDataset("tiny", images, torch.zeros(len(images), dtype=torch.int64), ["only"])
    out = with_cluster_labels(ds, 3)
    assert out.n_classes == 3 and out.classes == ["cluster0", "cluster1", "cluster2"]
    assert out.images is ds.images and set(out.labels.tolist()) == {0, 1, 2}
    assert "k-means" in out.info["labels"]


@pytest.mark.parametrize("k", [1, 61])
def test_cluster_count_out_of_range_is_a_clear_error(k):
    images, _ = two_kinds_of_images()
    with pytest.raises(ConfigError, match="data.clusters must be between 2 and the number of images"):
        cluster_labels(images, k)


def test_clusters_on_points_are_accepted_and_negative_rejected():
    # point data is self-conditioned too (tests/test_point_clusters.py): no longer refused
    dist = load_dataset(Config().with_overrides({"data.name": "ring8", "data.clusters": 4,
                                                 "model.conditional": True}).data)
    assert dist.n_classes == 4
    with pytest.raises(ConfigError, match="data.clusters must be an integer >= 0"):
        load_dataset(Config().with_overrides({"data.name": "digits", "data.clusters": -1}).data)


def test_clusters_need_a_conditional_model():
    with pytest.raises(ConfigError, match="set model.conditional=true"):  # refused when the config is built
        tiny_config("dcgan", "hinge").with_overrides({"data.name": "digits", "data.clusters": 4})


def test_self_conditioned_training_on_unlabelled_clusters():
    cfg = tiny_config("dcgan", "hinge", conditional=True, spectral_norm=True).with_overrides(
        {"data.name": "digits", "data.clusters": 5})
    trainer = Trainer(cfg)
    assert trainer.n_classes == 5 and trainer.data.classes[4] == "cluster4"
    for _ in range(2):
        stats = trainer.step()
    assert torch.isfinite(torch.tensor(stats["d_loss"]))
    x = trainer.generate(10)  # a cluster drawn for each sample
    assert x.shape == (10, 1, 8, 8)
    assert trainer.generate(3, labels=4).shape == (3, 1, 8, 8)


def test_sampled_classes_follow_the_data_frequencies():
    n = 400
    labels = torch.zeros(n, dtype=torch.int64)
    labels[: n // 4] = 1  # class 0: 75%, class 1: 25%, class 2: never
    images = torch.randint(0, 256, (n, 1, 8, 8), generator=torch.Generator().manual_seed(0), dtype=torch.uint8)
    ds = ImageDataset("skewed", images, labels, ["a", "b", "c"])
    trainer = Trainer(tiny_config("dcgan", "hinge", conditional=True), dataset=ds)
    drawn = trainer.sample_labels(20000, torch.Generator().manual_seed(1))
    freq = torch.bincount(drawn, minlength=3).float() / len(drawn)
    assert abs(freq[0] - 0.75) < 0.015 and abs(freq[1] - 0.25) < 0.015 and freq[2] == 0

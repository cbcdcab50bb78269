"""Self-conditioning on point data: k-means clusters of a seeded sample label every point the stream yields."""

import pytest
import torch

from ganforge.cli import main
from ganforge.config import Config
from ganforge.data import load_dataset
from ganforge.data.clusters import ClusteredPoints, fit_point_clusters, nearest_centroid
from ganforge.data.mixtures import GaussianMixture, grid25, ring8
from ganforge.engine import Trainer
from ganforge.engine.generator import Discriminator, load_networks
from ganforge.errors import ConfigError
from tests.test_resume import (
    assert_identical,
    resume_half,
    small_config,
    train_straight_and_half,
)

SELF_CONDITIONED = {"data.clusters": 8, "model.conditional": True, "model.pack": 1}


def test_every_sample_is_labelled_by_its_nearest_centroid():
    dist = ClusteredPoints(ring8(), 8, n_fit=2000)
    x, y = dist.sample_with_labels(500, torch.Generator().manual_seed(3))  # (500, 2), (500,)
    d2 = ((x[:, None, :] - dist.centroids[None, :, :]) ** 2).sum(-1)  # (500, 8) squared distances by hand
    assert y.dtype == torch.int64 and torch.equal(y, d2.argmin(1))
    # the same draws as the unclustered distribution: a clustered run sees the same points
    assert torch.equal(x, ring8().sample(500, torch.Generator().manual_seed(3)))
    # the fitting sample's labels (the class prior) are its nearest centroids too, all 8 used
    assert dist.labels.shape == (2000,) and torch.bincount(dist.labels, minlength=8).min() > 0


def test_nearest_centroid_on_known_points():
    centroids = torch.tensor([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    x = torch.tensor([[1.0, 1.0], [9.0, -1.0], [-2.0, 7.0], [6.0, 0.0]])
    assert nearest_centroid(x, centroids).tolist() == [0, 1, 2, 1]


def test_the_same_seed_gives_the_same_clusters():
    a, b = ClusteredPoints(grid25(), 25, seed=0, n_fit=3000), ClusteredPoints(grid25(), 25, seed=0, n_fit=3000)
    assert torch.equal(a.centroids, b.centroids) and torch.equal(a.labels, b.labels)
    c = ClusteredPoints(grid25(), 25, seed=1, n_fit=3000)  # another sample: other centroids, bit for bit
    assert not torch.equal(a.centroids, c.centroids)


def test_k_clusters_recover_a_planted_mixture_up_to_a_permutation():
    centres = torch.tensor([[-5.0, 3.0], [4.0, 6.0], [7.0, -4.0], [-3.0, -6.0], [0.5, 0.0]])  # (5, 2), far apart
    mix = GaussianMixture("planted", centres, 0.3)
    dist = ClusteredPoints(mix, 5, seed=0, n_fit=2000)
    x, y = dist.sample_with_labels(3000, torch.Generator().manual_seed(7))
    truth = nearest_centroid(x, centres)  # the component each point came from (3 std apart by far)
    table = torch.zeros(5, 5, dtype=torch.int64)
    table.index_put_((y, truth), torch.ones_like(y), accumulate=True)
    # a permutation matrix up to counts: each cluster holds exactly one component, each component one cluster
    assert ((table > 0).sum(0) == 1).all() and ((table > 0).sum(1) == 1).all()
    # the centroids are the components' means, found from samples alone
    perm = table.argmax(1)  # cluster -> component
    assert (dist.centroids - centres[perm]).norm(dim=1).max() < 0.05


def test_point_clusters_from_the_configuration():
    dist = load_dataset(Config().with_overrides({"data.name": "ring8", **SELF_CONDITIONED}).data)
    assert isinstance(dist, ClusteredPoints) and dist.n_classes == 8 and dist.classes[7] == "cluster7"
    assert torch.equal(dist.centers, ring8().centers)  # the true modes stay for the metrics


def test_one_round_self_conditioned_on_ring8():
    trainer = Trainer(small_config(1, **SELF_CONDITIONED))
    assert trainer.n_classes == 8 and trainer.class_prior.sum() == 10_000  # frequencies of the fitting sample
    x, y = trainer.real_batch(32)
    assert y.shape == (32,) and torch.equal(y, nearest_centroid(x, trainer.data.centroids))
    before = [p.clone() for p in trainer.G.parameters()]
    stats = trainer.step()
    assert torch.isfinite(torch.tensor([stats["d_loss"], stats["g_loss"]])).all()
    assert any(not torch.equal(a, b) for a, b in zip(before, trainer.G.parameters()))
    assert trainer.generate(100).shape == (100, 2)  # a cluster drawn for each sample
    assert trainer.generate(5, labels=3).shape == (5, 2)


def test_resume_is_bit_exact_with_point_clusters(tmp_path):
    straight, half = train_straight_and_half(tmp_path, lambda steps: small_config(steps, **SELF_CONDITIONED), 8, 4)
    del half
    resumed = resume_half(tmp_path, 8)
    assert resumed.step_count == 4 and torch.equal(resumed.data.centroids, straight.data.centroids)
    resumed.run()
    assert_identical(straight, resumed)


def test_d_labels_unlabelled_points_by_their_cluster_also_when_loaded_without_data(tmp_path):
    straight, _ = train_straight_and_half(tmp_path, lambda steps: small_config(steps, **SELF_CONDITIONED), 3, 2)
    x = ring8().sample(64, torch.Generator().manual_seed(5))  # (64, 2)
    y = nearest_centroid(x, straight.data.centroids)
    # the decision surface (lab, report, D*) asks D about x as a sample of the cluster it falls in
    assert torch.equal(straight.d_logits(x), straight.d_logits(x, y))
    assert not torch.equal(straight.d_logits(x), straight.d_logits(x, (y + 1) % 8))  # the label matters
    _, _, nets = load_networks(tmp_path / "a")  # rebuilt from the checkpoint alone: centroids included
    assert torch.equal(nets["D"].centroids, straight.data.centroids)
    assert torch.equal(Discriminator(nets["D"])(x), straight.d_logits(x))


@pytest.mark.parametrize("k", [1, 41])
def test_cluster_count_out_of_range_is_a_clear_error(k):
    with pytest.raises(ConfigError, match=f"data.clusters must be between 2 and the number of points sampled to "
                                          f"fit the clusters \\(40\\), got {k}"):
        ClusteredPoints(ring8(), k, n_fit=40)
    with pytest.raises(ConfigError, match="between 2 and"):
        fit_point_clusters(torch.zeros(40, 2), k)


def test_bad_cluster_counts_are_one_line_errors(tmp_path, capsys):
    for k, fragment in (("1", "got 1"), ("20000", "(10000), got 20000")):
        code = main(["train", "--preset", "ring8", "--out", str(tmp_path / k), "--set", f"data.clusters={k}",
                     "--set", "model.conditional=true", "--set", "model.pack=1", "--set", "train.steps=1",
                     "--set", "train.progress=false", "--no-report"])
        err = capsys.readouterr().err
        lines = [x for x in err.strip().splitlines() if x]
        assert code != 0 and len(lines) == 1 and "Traceback" not in err, err
        assert "data.clusters must be between 2" in lines[0] and fragment in lines[0], lines[0]
    with pytest.raises(ConfigError, match="set model.conditional=true"):  # still refused when the config is built
        Config().with_overrides({"data.name": "ring8", "data.clusters": 8})

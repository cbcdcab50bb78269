"""The labelled subset: balanced, seeded, from the train split only, disjoint from the test split."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from ganforge.config import DataConfig
from ganforge.data.base import ImageDataset
from ganforge.data.labelled import (
    LabelledStream,
    check_disjoint,
    choose_labelled,
    labelled_subset,
)
from ganforge.errors import DataError


def toy(labels, seed=0) -> ImageDataset:
    """Distinct 4x4 images (each its own index in its pixels), with the given classes."""
    n = len(labels)
    images = torch.zeros(n, 1, 4, 4, dtype=torch.uint8)
    images.view(n, -1)[:, 0] = torch.arange(n) % 256
    images.view(n, -1)[:, 1] = torch.arange(n) // 256 + seed
    return ImageDataset(name="toy", images=images, labels=torch.tensor(labels),
                        classes=[str(k) for k in range(max(labels) + 1)])


def test_choice_is_balanced_seeded_and_within_each_class():
    labels = torch.tensor([0] * 50 + [1] * 30 + [2] * 20)[torch.randperm(100, generator=torch.Generator().manual_seed(1))]
    index = choose_labelled(labels, 7, 3, seed=5)
    assert len(index) == 21 and len(set(index.tolist())) == 21
    assert torch.bincount(labels[index], minlength=3).tolist() == [7, 7, 7]
    assert torch.equal(index, choose_labelled(labels, 7, 3, seed=5))  # the seed alone decides
    assert not torch.equal(index, choose_labelled(labels, 7, 3, seed=6))
    # as many as the smallest class has: still balanced
    assert torch.bincount(labels[choose_labelled(labels, 20, 3, seed=5)], minlength=3).tolist() == [20, 20, 20]


def test_bad_requests_are_one_line():
    labels = torch.tensor([0, 0, 0, 1, 1, 2, 2, 2])
    with pytest.raises(DataError, match="3 labels per class asked, but class 1 has only 2 examples; accepted: 1..2"):
        choose_labelled(labels, 3, 3, seed=0)
    with pytest.raises(DataError, match=r"class\(es\) 3 have no labelled example"):
        choose_labelled(labels, 1, 4, seed=0)
    unlabelled = toy([0, 1])
    unlabelled.labels = None
    with pytest.raises(DataError, match="needs a labelled dataset; 'toy' has no labels"):
        labelled_subset(unlabelled, 1, 0)


def test_subset_is_disjoint_from_the_test_split_and_a_planted_leak_is_caught():
    train, test = toy([0, 1] * 20, seed=0), toy([0, 1] * 10, seed=100)
    subset = labelled_subset(train, 5, seed=0)
    assert subset.info["labels_per_class"] == 5 and len(subset) == 10
    check_disjoint(subset, test)  # nothing shared
    leaky = dataclasses.replace(test, images=torch.cat([test.images, subset.images[:3]]))
    with pytest.raises(DataError, match="3 labelled image\\(s\\) also appear in the test set"):
        check_disjoint(subset, leaky)


def test_mnist_labelled_subset_never_meets_the_test_split(shared_data):
    from ganforge.data import load_dataset

    cfg = DataConfig(name="mnist", data_dir=str(shared_data))
    train, test = load_dataset(cfg), load_dataset(dataclasses.replace(cfg, split="test"))
    subset = labelled_subset(train, 10, seed=0)
    assert torch.bincount(subset.labels, minlength=10).tolist() == [10] * 10
    check_disjoint(subset, test)


def test_labelled_stream_resumes_where_it_stopped():
    data = toy([0, 1, 2] * 3)
    a = LabelledStream(data, seed=3)
    a.next(5)
    state = a.state_dict()
    rest = a.next(11)
    b = LabelledStream(data, seed=3)
    b.load_state_dict(state)
    again = b.next(11)
    assert torch.equal(rest[0], again[0]) and torch.equal(rest[1], again[1])
    # every pass shows each labelled example once
    assert sorted(LabelledStream(data, seed=9).next(9)[0][:, 0, 0, 0].tolist()) == sorted(data.batch(torch.arange(9))[0][:, 0, 0, 0].tolist())

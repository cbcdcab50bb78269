"""The history pool of fakes: fills, then swaps with probability 1/2, deterministically, and its
state round-trips through safetensors to identical future outputs."""

import pytest
import torch
from safetensors.torch import load_file, save_file

from ganforge.errors import CheckpointError
from ganforge.games.image_pool import ImagePool


def tagged(start: int, n: int) -> torch.Tensor:
    """n images of shape (1, 2, 2) whose pixels all equal their tag start, start+1, ..."""
    return torch.arange(start, start + n, dtype=torch.float32)[:, None, None, None].expand(n, 1, 2, 2).clone()


def tags(images: torch.Tensor) -> list[int]:
    return images[:, 0, 0, 0].long().tolist()


def test_fills_returning_the_new_fakes():
    pool, g = ImagePool(5), torch.Generator().manual_seed(0)
    assert tags(pool.query(tagged(0, 3), g)) == [0, 1, 2]
    before = g.get_state()
    assert tags(pool.query(tagged(3, 2), g)) == [3, 4]
    assert torch.equal(g.get_state(), before)  # no random draws while filling
    assert len(pool) == 5 and sorted(tags(pool.state_dict()["images"])) == [0, 1, 2, 3, 4]


def test_a_batch_that_fills_the_pool_then_overflows():
    pool, g = ImagePool(4), torch.Generator().manual_seed(1)
    out = pool.query(tagged(0, 10), g)
    assert tags(out)[:4] == [0, 1, 2, 3]  # the first four fill the pool and come back as they are
    assert len(pool) == 4
    # every returned image is either the new one or one that was in the pool at that moment
    assert all(t in range(10) and t <= i for i, t in enumerate(tags(out)))
    # each later image is either returned or swapped into the pool for a stored one returned instead
    assert sorted(tags(out)[4:] + tags(pool.state_dict()["images"])) == list(range(10))


def test_full_pool_returns_a_stored_fake_half_of_the_time():
    pool, g = ImagePool(50), torch.Generator().manual_seed(123)
    pool.query(tagged(0, 50), g)
    n, stored = 4000, 0
    for t in range(50, 50 + n):
        held = set(tags(pool.state_dict()["images"]))
        got = tags(pool.query(tagged(t, 1), g))[0]
        if got != t:
            stored += 1
            assert got in held  # a stored fake ...
            now = set(tags(pool.state_dict()["images"]))
            assert now == (held - {got}) | {t}  # ... replaced by the new one
        else:
            assert set(tags(pool.state_dict()["images"])) == held  # pool unchanged
    assert stored / n == pytest.approx(0.5, abs=0.03)  # binomial sd 0.008 at n = 4000


def test_the_same_generator_gives_the_same_draws():
    outs = []
    for _ in range(2):
        pool, g = ImagePool(8), torch.Generator().manual_seed(7)
        outs.append(torch.cat([pool.query(tagged(10 * k, 5), g) for k in range(6)]))
    assert torch.equal(outs[0], outs[1])


def test_state_round_trip_through_safetensors_gives_identical_future_outputs(tmp_path):
    pool, g = ImagePool(6), torch.Generator().manual_seed(3)
    for k in range(4):
        pool.query(tagged(10 * k, 3), g)
    save_file(pool.state_dict(), tmp_path / "pool.safetensors")
    g_state = g.get_state()
    expected = [pool.query(tagged(100 + 10 * k, 3), g) for k in range(5)]

    resumed, g2 = ImagePool(6), torch.Generator()
    resumed.load_state_dict(load_file(tmp_path / "pool.safetensors"))
    g2.set_state(g_state)
    got = [resumed.query(tagged(100 + 10 * k, 3), g2) for k in range(5)]
    assert all(torch.equal(a, b) for a, b in zip(expected, got))
    assert torch.equal(pool.state_dict()["images"], resumed.state_dict()["images"])


def test_empty_pool_state_round_trips(tmp_path):
    pool = ImagePool(3)
    state = pool.state_dict()
    assert state["count"].item() == 0 and state["images"].numel() == 0
    save_file(state, tmp_path / "p.safetensors")
    other = ImagePool(3)
    other.load_state_dict(load_file(tmp_path / "p.safetensors"))
    assert len(other) == 0
    assert tags(other.query(tagged(0, 2), torch.Generator())) == [0, 1]


def test_size_zero_returns_the_input_detached():
    x = torch.randn(3, 1, 2, 2, requires_grad=True)
    out = ImagePool(0).query(x, torch.Generator())
    assert torch.equal(out, x) and not out.requires_grad


def test_results_are_detached_and_do_not_alias_the_pool():
    pool, g = ImagePool(2), torch.Generator().manual_seed(0)
    x = tagged(0, 2).requires_grad_(True)
    out = pool.query(x, g)
    assert not out.requires_grad
    out.zero_()
    assert tags(pool.state_dict()["images"]) == [0, 1]


def test_bad_states_and_shapes_are_refused():
    pool = ImagePool(2)
    with pytest.raises(CheckpointError, match="holds 3 images; this pool holds at most 2"):
        pool.load_state_dict({"images": tagged(0, 3), "count": torch.tensor(3)})
    with pytest.raises(CheckpointError, match="count 2 but images of shape \\(1, 1, 2, 2\\)"):
        pool.load_state_dict({"images": tagged(0, 1), "count": torch.tensor(2)})
    with pytest.raises(CheckpointError, match="needs tensors 'images' and 'count'"):
        pool.load_state_dict({"images": tagged(0, 1)})
    pool.query(tagged(0, 1), torch.Generator())
    with pytest.raises(ValueError, match="holds images of shape \\(1, 2, 2\\); got a batch of \\(3, 2, 2\\)"):
        pool.query(torch.zeros(1, 3, 2, 2), torch.Generator())

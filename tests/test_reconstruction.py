"""The reconstruction terms equal their formulas on known tensors; the adversarial losses apply to
PatchGAN logit maps patch by patch."""

import pytest
import torch

from ganforge.objectives.losses import (
    least_squares_d_loss,
    least_squares_g_loss,
    nonsaturating_g_loss,
    probabilistic_d_loss,
)
from ganforge.objectives.reconstruction import (
    CYCLE_WEIGHT,
    IDENTITY_WEIGHT,
    PIX2PIX_L1_WEIGHT,
    cycle_loss,
    identity_loss,
    l1_loss,
)

# two 1-channel 2x2 images
A = torch.tensor([[[[1.0, -1.0], [0.5, 0.0]]], [[[0.25, 0.75], [-0.5, 1.0]]]])
B = torch.tensor([[[[0.0, -1.0], [-0.5, 0.5]]], [[[0.25, -0.25], [0.5, 0.0]]]])
# |A - B| = 1, 0, 1, 0.5 and 0, 1, 1, 1: sum 5.5 over 8 elements
EXPECTED = 5.5 / 8


@pytest.mark.parametrize("term", [l1_loss, cycle_loss, identity_loss])
def test_terms_are_the_mean_absolute_error(term):
    assert term(A, B).item() == pytest.approx(EXPECTED)
    assert term(B, A).item() == pytest.approx(EXPECTED)  # symmetric
    assert term(A, A).item() == 0.0


def test_gradient_of_l1_is_the_sign_over_the_count():
    fake = A.clone().requires_grad_(True)
    l1_loss(fake, B).backward()
    assert torch.equal(fake.grad, torch.sign(A - B) / A.numel())


def test_cycle_term_of_a_known_pair_of_maps():
    """G doubles, F halves and adds 0.1: F(G(x)) - x = 0.1 everywhere."""
    x = torch.rand(3, 3, 8, 8) * 2 - 1
    reconstructed = (2 * x) / 2 + 0.1
    assert cycle_loss(x, reconstructed).item() == pytest.approx(0.1, abs=1e-6)
    assert identity_loss(x, x * 0.5).item() == pytest.approx((x.abs() * 0.5).mean().item(), rel=1e-6)


def test_shape_mismatch_is_refused():
    with pytest.raises(ValueError, match=r"l1_loss: shapes differ, \(2, 1, 2, 2\) and \(2, 2, 2\)"):
        l1_loss(A, B[:, 0])


def test_paper_weights():
    assert PIX2PIX_L1_WEIGHT == 100.0 and CYCLE_WEIGHT == 10.0 and IDENTITY_WEIGHT == 5.0


def test_least_squares_and_nonsaturating_losses_on_logit_maps():
    """A (B, 1, H, W) map counts each patch as one sample: the mean over all patches."""
    real = torch.tensor([[[[1.0, 0.0], [2.0, 1.0]]], [[[0.5, 1.5], [1.0, -1.0]]]])  # (2, 1, 2, 2)
    fake = torch.tensor([[[[0.0, 1.0], [-1.0, 0.5]]], [[[0.0, 0.0], [2.0, 0.0]]]])
    r, f = real.flatten().tolist(), fake.flatten().tolist()
    d = 0.5 * sum((v - 1) ** 2 for v in r) / 8 + 0.5 * sum(v**2 for v in f) / 8
    g = 0.5 * sum((v - 1) ** 2 for v in f) / 8
    assert least_squares_d_loss(real, fake).item() == pytest.approx(d)
    assert least_squares_g_loss(fake).item() == pytest.approx(g)
    # the probabilistic losses equally average per patch
    assert probabilistic_d_loss(real, fake).item() == pytest.approx(
        probabilistic_d_loss(real.flatten(), fake.flatten()).item())
    assert nonsaturating_g_loss(fake).item() == pytest.approx(nonsaturating_g_loss(fake.flatten()).item())


def test_feature_matching_is_the_mean_layer_l1_and_ignores_real_gradients():
    from ganforge.objectives.reconstruction import feature_matching_loss

    real = [torch.zeros(2, 3), torch.ones(2, 2, 2)]
    fake = [torch.full((2, 3), 0.5, requires_grad=True), torch.full((2, 2, 2), 3.0, requires_grad=True)]
    loss = feature_matching_loss(real, fake)
    assert loss.item() == pytest.approx((0.5 + 2.0) / 2)  # layer means 0.5 and 2, averaged
    loss.backward()
    assert fake[0].grad.abs().sum() > 0
    assert feature_matching_loss(real, [r.clone() for r in real]).item() == 0
    with pytest.raises(ValueError, match="same, non-empty list"):
        feature_matching_loss(real, fake[:1])

"""Scores of completed images: how close the hole is to the truth, how real the whole looks, and on
MNIST whether the completion keeps the digit.

Inputs are batches (N, C, H, W), float in [-1, 1] (or uint8), with masks (N, 1, H, W) bool, True
in the hole. Pixel scores are per image on the [0, 1] scale (as :mod:`ganforge.metrics.image_quality`):

* ``hole_l1``: mean |completed - target| over the hole's pixels and channels;
* ``hole_psnr``: 10 log10(1 / MSE) in dB with the MSE over the hole's pixels only, so the known
  pixels (equal by construction) do not inflate it; identical holes give +inf (null in JSON).

Distribution scores compare completed images with real ones through a feature network (FID,
Heusel et al. 2017; KID, Bińkowski et al. 2018): the Inception features for photographs, the
bundled MNIST classifier's for digits (:mod:`ganforge.metrics.features`).

``digit_accuracy`` is the semantic check of the MNIST lower-half task: the fraction of completed
digits the bundled classifier reads as their true label. Its references are zero-fill
(:func:`zero_fill`, the hole left at the background's black, what the classifier reads without
any completion) and the same network trained without D.
"""

from __future__ import annotations

import torch

from ganforge.errors import DataError
from ganforge.metrics.image_quality import to_unit

Tensor = torch.Tensor


def _check(completed: Tensor, target: Tensor, masks: Tensor) -> None:
    if completed.shape != target.shape or completed.ndim != 4:
        raise DataError(f"inpainting scores compare two (N, C, H, W) batches of one shape; got "
                        f"{tuple(completed.shape)} and {tuple(target.shape)}")
    if masks.shape != (completed.shape[0], 1, *completed.shape[2:]):
        raise DataError(f"masks must be (N, 1, H, W) = {(completed.shape[0], 1, *completed.shape[2:])}; "
                        f"got {tuple(masks.shape)}")


def _hole_mean(values: Tensor, masks: Tensor) -> Tensor:
    """Mean of per-pixel values (N, C, H, W) over each image's hole -> (N,); NaN for an empty hole."""
    m = masks.to(values.dtype).expand_as(values)
    return (values * m).flatten(1).sum(1) / m.flatten(1).sum(1)


def hole_l1(completed: Tensor, target: Tensor, masks: Tensor) -> Tensor:
    """Mean absolute error inside each image's hole on the [0, 1] scale: (N,)."""
    _check(completed, target, masks)
    return _hole_mean((to_unit(completed) - to_unit(target)).abs(), masks)


def hole_psnr(completed: Tensor, target: Tensor, masks: Tensor) -> Tensor:
    """PSNR in dB of each image's hole (data range 1): (N,); +inf where the hole matches exactly."""
    _check(completed, target, masks)
    mse = _hole_mean((to_unit(completed) - to_unit(target)).square(), masks)
    return 10.0 * torch.log10(1.0 / mse)


def zero_fill(images: Tensor, masks: Tensor, value: float = -1.0) -> Tensor:
    """The no-completion baseline: the hole set to ``value`` (-1, black, MNIST's background)."""
    return torch.where(masks, torch.full_like(images, value), images)


def digit_accuracy(completed: Tensor, labels: Tensor, net=None) -> float:
    """Fraction of 1-channel digit images (N, 1, H, W) that the bundled MNIST classifier reads as
    ``labels`` (N,)."""
    from ganforge.metrics.classifier import classify

    if completed.shape[1] != 1 or labels.shape != (completed.shape[0],):
        raise DataError(f"digit accuracy needs (N, 1, H, W) digits and (N,) labels; got "
                        f"{tuple(completed.shape)} and {tuple(labels.shape)}")
    predicted = classify(completed, net)[:, 0].argmax(-1)  # (N,)
    return float((predicted == labels).double().mean())


def distribution_scores(extractor, completed: Tensor, real_features: Tensor, seed: int = 0) -> dict:
    """FID and KID (mean, std) of completed images against features of real ones, with the
    extractor's provenance and the sample counts."""
    from ganforge.metrics.frechet import fid_from_features
    from ganforge.metrics.kid import kernel_inception_distance

    fake_features = extractor(completed)
    kid = kernel_inception_distance(real_features, fake_features, n_subsets=100, subset_size=1000, seed=seed)
    return {"fid": fid_from_features(real_features.numpy(), fake_features.numpy()), "kid": kid.mean,
            "kid_std": kid.std, "n_fake": len(completed), "n_real": len(real_features), **extractor.provenance()}


def pixel_scores(completed: Tensor, target: Tensor, masks: Tensor) -> dict:
    """Means over the images of the hole's L1 and PSNR (images whose hole matches exactly, +inf
    dB, are left out of the PSNR mean and counted in ``psnr_exact``)."""
    l1, psnr = hole_l1(completed, target, masks), hole_psnr(completed, target, masks)
    finite = psnr[torch.isfinite(psnr)]
    return {"hole_l1": float(l1.mean()), "hole_psnr": float(finite.mean()) if len(finite) else float("inf"),
            "psnr_exact": int((~torch.isfinite(psnr)).sum())}

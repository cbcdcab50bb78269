"""The MNIST digit classifier shipped with ganforge (weights in ``metrics/weights/``).

Used three ways: the classifier score of generated digits (class histogram, entropy, confident
fraction), the per-channel labels of Stacked MNIST (1000 modes, Metz et al. 2017; Lin et al. 2018),
and as a fast domain feature extractor for FID/KID/precision/recall (its 128-d penultimate layer).
Trained by ``scripts/train_mnist_classifier.py``; the test accuracy is stored in the file's metadata.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

import torch
from torch import nn

WEIGHTS_PATH = Path(__file__).parent / "weights" / "mnist_classifier.safetensors"
FEATURE_DIM = 128


class MnistClassifier(nn.Module):
    """Small CNN on (N, 1, 28, 28) images in [-1, 1]: three conv+pool stages, a 128-d layer, 10 logits."""

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # (N, 32, 14, 14)
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # (N, 64, 7, 7)
            nn.Conv2d(64, 128, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # (N, 128, 3, 3)
            nn.Flatten(),  # (N, 1152)
            nn.Linear(128 * 3 * 3, FEATURE_DIM), nn.ReLU(),  # (N, 128) penultimate features
        )
        self.dropout = nn.Dropout(0.3)
        self.head = nn.Linear(FEATURE_DIM, 10)  # (N, 10)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Penultimate activations (N, 128) of images (N, 1, 28, 28) in [-1, 1]."""
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits (N, 10)."""
        return self.head(self.dropout(self.body(x)))


def file_sha256(path: str | Path, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


@lru_cache(maxsize=2)
def load_mnist_classifier(path: str | None = None) -> MnistClassifier:
    """The shipped classifier in eval mode on the CPU (or the one saved at ``path``)."""
    from safetensors.torch import load_file

    from ganforge.errors import DataError

    p = Path(path) if path else WEIGHTS_PATH
    if not p.is_file():
        raise DataError(f"MNIST classifier weights not found at {p}; run scripts/train_mnist_classifier.py")
    net = MnistClassifier()
    net.load_state_dict(load_file(str(p)))
    net.eval()
    for q in net.parameters():
        q.requires_grad_(False)
    return net


def classifier_metadata(path: str | None = None) -> dict:
    """The metadata stored with the weights (test accuracy, seed, epochs) plus the file's sha256."""
    from safetensors import safe_open

    p = Path(path) if path else WEIGHTS_PATH
    with safe_open(str(p), framework="pt") as f:
        meta = dict(f.metadata() or {})
    meta["sha256"] = file_sha256(p)
    return meta


def to_classifier_input(images: torch.Tensor) -> torch.Tensor:
    """Images (N, C, H, W) in [-1, 1] -> (N*C, 1, 28, 28): each channel is one digit.

    Channels are classified separately (what Stacked MNIST needs); other sizes are resized
    bilinearly with antialiasing.
    """
    n, c, h, w = images.shape
    x = images.float().reshape(n * c, 1, h, w)  # (N*C, 1, H, W)
    if (h, w) != (28, 28):
        x = torch.nn.functional.interpolate(x, size=(28, 28), mode="bilinear", antialias=True, align_corners=False)
    return x


@torch.no_grad()
def classify(images: torch.Tensor, net: MnistClassifier | None = None, batch: int = 1000) -> torch.Tensor:
    """Softmax probabilities (N, C, 10) for each channel of images (N, C, H, W) in [-1, 1]."""
    net = net or load_mnist_classifier()
    n, c = images.shape[:2]
    x = to_classifier_input(images)  # (N*C, 1, 28, 28)
    probs = torch.cat([net(x[i : i + batch]).softmax(-1) for i in range(0, x.shape[0], batch)])
    return probs.reshape(n, c, 10)

"""The MLP G and D of Salimans et al. 2016 ("Improved techniques for training GANs") for MNIST.

D: 784 -> 1000 -> 500 -> 250 -> 250 -> 250 -> K, ReLU, weight normalisation (Salimans and Kingma
2016) on every linear layer, and Gaussian noise on every layer's input in training: std
``input_noise`` on the image (their 0.3), ``hidden_noise`` on each hidden layer's output (their 0.5).
D maps the images, in [-1, 1] in ganforge, to [0, 1] first: the scale of their data, on which
those noise stds were chosen.
Its last hidden layer (250 units) is what feature matching matches. The noise draws from the
``generator`` its caller passes, so a run that resumes from a checkpoint draws the same noise.

G: z -> 500 -> 500 -> C*H*W, softplus with batch norm (a learnt shift, no scale, as their code) on
the hidden layers, a weight-normalised output layer a and tanh(a / 2) for images in [-1, 1]: on
D's [0, 1] scale that is sigmoid(a), their G's output on [0, 1] data.
"""

from __future__ import annotations

import itertools
import math

import torch
import torch.nn.functional as F
from torch import nn

D_WIDTHS = (1000, 500, 250, 250, 250)  # Salimans et al. 2016, MNIST D
G_WIDTHS = (500, 500)  # Salimans et al. 2016, MNIST G


class WNLinear(nn.Module):
    """Weight-normalised linear layer (Salimans and Kingma 2016): w_i = g_i * v_i / |v_i|.

    x (B, in) -> (B, out). ``v`` and ``b`` are learnt, and ``g`` too when ``train_scale``; otherwise
    ``g`` is a buffer (1, or what the data-dependent initialisation set), as their D's hidden
    layers, which a ReLU makes scale-free.
    """

    def __init__(self, in_features: int, out_features: int, train_scale: bool = True, init_std: float = 0.0):
        super().__init__()
        # v's length sets how fast Adam turns the direction: their D draws v from N(0, 0.1^2)
        # (``init_std``), their G's output layer from Glorot's uniform (init_std 0)
        self.v = nn.Parameter(torch.empty(out_features, in_features))
        if init_std > 0:
            nn.init.normal_(self.v, std=init_std)
        else:
            nn.init.xavier_uniform_(self.v)
        if train_scale:
            self.g = nn.Parameter(torch.ones(out_features))
        else:
            self.register_buffer("g", torch.ones(out_features))
        self.b = nn.Parameter(torch.zeros(out_features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = self.v * (self.g / self.v.norm(dim=1)).unsqueeze(1)  # (out, in), each row of norm g
        return F.linear(x, w, self.b)

    @torch.no_grad()
    def init_from(self, x: torch.Tensor) -> torch.Tensor:
        """Data-dependent initialisation (Salimans and Kingma 2016, sec. 2.2): set g and b so that
        the pre-activations of the batch ``x`` (B, in) have mean 0 and std 1 per unit; returns them (B, out)."""
        t = F.linear(x, self.v / self.v.norm(dim=1, keepdim=True))  # (B, out)
        mean, std = t.mean(0), t.std(0) + 1e-6
        self.g.copy_(1 / std)
        self.b.copy_(-mean / std)
        return (t - mean) / std


def _noise(h: torch.Tensor, std: float, generator: torch.Generator | None) -> torch.Tensor:
    """h plus Gaussian noise of std ``std`` from ``generator`` (the global RNG when None)."""
    if std == 0:
        return h
    device = generator.device if generator is not None else h.device
    return h + std * torch.randn(h.shape, generator=generator, device=device).to(h.device)


class SSLMLPDiscriminator(nn.Module):
    """images (B, C, H, W) -> K class logits (B, K), the (K+1)-class D of :mod:`ganforge.games.ssl`.

    The noise is on only in training mode (``.train()``); in eval mode (the classifier that eval and
    export score) D is deterministic.
    """

    def __init__(self, in_dim: int, n_outputs: int, input_noise: float = 0.3, hidden_noise: float = 0.5,
                 widths: tuple[int, ...] = D_WIDTHS):
        super().__init__()
        self.input_noise, self.hidden_noise, self.n_outputs = input_noise, hidden_noise, n_outputs
        dims = (in_dim, *widths)
        # hidden layers: scale not trained (ReLU is scale-free); the output layer's scale is (their train_scale)
        self.body = nn.ModuleList(WNLinear(a, b, train_scale=False, init_std=0.1) for a, b in itertools.pairwise(dims))
        self.out = _Head(widths[-1], n_outputs, hidden_noise)

    def _inputs(self, x: torch.Tensor, i: int, generator: torch.Generator | None) -> torch.Tensor:
        """Layer i's input with its noise (std input_noise on the image, hidden_noise after), training only."""
        if not self.training:
            return x
        return _noise(x, self.input_noise if i == 0 else self.hidden_noise, generator)

    def features(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """The last hidden layer (B, 250) after its ReLU, as feature matching uses it (noise inside in training)."""
        h = x.flatten(1).add(1).mul(0.5)  # (B, C*H*W): pixels in [0, 1], the scale the paper's noise stds are for
        for i, layer in enumerate(self.body):
            h = F.relu(layer(self._inputs(h, i, generator)))  # (B, width_i)
        return h

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None,
                generator: torch.Generator | None = None) -> torch.Tensor:
        return self.out(self.features(x, generator), generator)  # (B, K)

    @torch.no_grad()
    def init_from(self, x: torch.Tensor, generator: torch.Generator | None = None) -> None:
        """Data-dependent initialisation (Salimans and Kingma 2016, sec. 2.2) of every layer on the
        image batch ``x`` (B, C, H, W), layer by layer, with the training noise (as their code's
        initialisation pass): each unit's pre-activation gets mean 0 and std 1 on the batch, so
        the fixed hidden scales g weigh signal against the fixed noise stds as in the paper."""
        h = x.flatten(1).add(1).mul(0.5)  # (B, C*H*W) in [0, 1]
        for i, layer in enumerate(self.body):
            h = F.relu(layer.init_from(_noise(h, self.input_noise if i == 0 else self.hidden_noise, generator)))
        self.out.linear.init_from(_noise(h, self.hidden_noise, generator))


class _Head(nn.Module):
    """The output layer: noise on the last hidden layer (training only), then a weight-normalised
    linear map to K logits. ``out(features)`` of D, as the ssl game calls it."""

    def __init__(self, in_dim: int, n_outputs: int, noise: float):
        super().__init__()
        self.noise = noise
        self.linear = WNLinear(in_dim, n_outputs, train_scale=True, init_std=0.1)

    def forward(self, h: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        if self.training:
            h = _noise(h, self.noise, generator)
        return self.linear(h)  # (B, K)


class SSLMLPGenerator(nn.Module):
    """z (B, z_dim) -> images (B, C, H, W) in [-1, 1]: two softplus layers with batch norm, then a
    weight-normalised layer a and tanh(a / 2)."""

    def __init__(self, z_dim: int, data_shape: tuple[int, int, int], widths: tuple[int, ...] = G_WIDTHS):
        super().__init__()
        self.z_dim, self.n_classes, self.data_shape = z_dim, 0, tuple(data_shape)
        dims = (z_dim, *widths)
        # no bias before batch norm; the norm has no scale (their batch_norm(g=None)): a shift only
        self.hidden = nn.ModuleList(nn.Linear(a, b, bias=False) for a, b in itertools.pairwise(dims))
        for linear in self.hidden:  # Glorot's uniform, as their code (under batch norm it sets the step size)
            nn.init.xavier_uniform_(linear.weight)
        self.norms = nn.ModuleList(nn.BatchNorm1d(b, affine=False) for b in widths)
        self.shifts = nn.ParameterList(nn.Parameter(torch.zeros(b)) for b in widths)
        self.to_image = WNLinear(widths[-1], math.prod(data_shape))

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        h = z
        for linear, norm, shift in zip(self.hidden, self.norms, self.shifts):
            h = F.softplus(norm(linear(h)) + shift)  # (B, width)
        # tanh(a / 2) = 2 sigmoid(a) - 1: D's [0, 1] view of it, (x + 1) / 2, is their G's sigmoid(a) exactly
        return torch.tanh(0.5 * self.to_image(h)).view(len(z), *self.data_shape)  # (B, C, H, W)

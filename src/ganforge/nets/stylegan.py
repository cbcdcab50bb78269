"""StyleGAN-lite: a StyleGAN2-style G and residual D in plain PyTorch (no custom operators).

G (Karras et al. 2019, "A Style-Based Generator Architecture"; Karras et al. 2020, "Analyzing and
Improving the Image Quality of StyleGAN", StyleGAN2):

- a mapping network z -> w (``mapping_depth`` equalised-lr layers at 0.01 learning rate, sec. 2 of
  StyleGAN), with the class embedding concatenated to z for a conditional model (as
  StyleGAN2-ADA's conditional mapping);
- a learned constant input at the base resolution, then per level a 2x bilinear up-sampling,
  two 3x3 modulated convolutions with weight demodulation (StyleGAN2 sec. 2.2), per-layer noise
  inputs with a learned strength (StyleGAN sec. 3.2), and a "skip" output: each level's 1x1
  toRGB (modulated, not demodulated) added to the up-sampled image of the coarser levels
  (StyleGAN2 sec. 4.1, fig. 7b);
- the truncation trick (StyleGAN sec. 5 / appendix B): ``w_avg``, a moving average of mapped w
  kept as a buffer (one row per class when conditional), so G_ema and checkpoints carry it;
  ``truncation=psi`` returns ``w_avg + psi (w - w_avg)``;
- style mixing (StyleGAN sec. 3.1): ``z_mix`` and a crossover layer per sample; layers before the
  crossover take w(z), the rest w(z_mix).

Resolution: the constant has the base size of :func:`~ganforge.nets.layers.resolution_levels`
(4x4 for 32 px, 7x7 for MNIST's 28 px), so 28 px images are made natively, without padding or
cropping. Widths: ``width`` channels at the finest level, doubled per coarser level, at most 512
(StyleGAN2's channel_max).

The modulated convolution uses the non-fused formulation of StyleGAN2-ADA (scale the input by the
style, one ordinary convolution shared by the batch, scale the output by the demodulation
coefficients): mathematically the same as the per-sample weights of StyleGAN2 eq. 1-3, and one
dense convolution instead of a grouped one, which is the fast path on CPUs.

D is StyleGAN2's residual D (fig. 7c): fromRGB, residual down-sampling blocks whose sum is scaled by
1/sqrt(2), a 3x3 conv and two dense layers at the base size, and a projection head for classes. The
minibatch-stddev layer is left out: it makes a sample's logit depend on its batch neighbours, while
the engine judges real and fake in one forward pass and applies per-sample penalties (R1); PacGAN
packing (``model.pack``) gives D a view of several samples instead.

Training noise is drawn from torch's global generator (saved in checkpoints); in eval mode each
layer uses a fixed noise image drawn at initialisation (StyleGAN2-ADA's "const" noise mode), so a
trained G is a deterministic function of (z, class, psi).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ganforge.nets.layers import ProjectionHead, pack, resolution_levels

CHANNEL_MAX = 512  # widest layer (StyleGAN2's channel_max)
LRELU_GAIN = math.sqrt(2.0)  # leaky ReLU (0.2) followed by this gain keeps unit variance (StyleGAN2's bias_act)


def _lrelu(x: torch.Tensor) -> torch.Tensor:
    return F.leaky_relu(x, 0.2) * LRELU_GAIN


def normalize_2nd_moment(x: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """x / sqrt(mean(x^2)) over features (B, F) -> (B, F): StyleGAN's pixel norm of z."""
    return x * x.square().mean(dim=1, keepdim=True).add(eps).rsqrt()


class EqualLinear(nn.Module):
    """A dense layer with an equalised learning rate (Karras et al. 2018, ProGAN sec. 4.1).

    Weights are stored as N(0, 1) / lr_mul and scaled at run time by lr_mul / sqrt(d_in), so every
    layer learns at the same speed under Adam; ``lr_mul`` < 1 slows a layer (the mapping network's
    0.01). ``activate`` adds the leaky ReLU with gain sqrt(2).
    """

    def __init__(self, d_in: int, d_out: int, bias_init: float = 0.0, lr_mul: float = 1.0, activate: bool = False):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(d_out, d_in) / lr_mul)
        self.bias = nn.Parameter(torch.full((d_out,), float(bias_init) / lr_mul))
        self.scale, self.lr_mul, self.activate = lr_mul / math.sqrt(d_in), lr_mul, activate

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.linear(x, self.weight * self.scale, self.bias * self.lr_mul)  # (B, d_out)
        return _lrelu(out) if self.activate else out


class EqualConv2d(nn.Module):
    """A convolution with an equalised learning rate (weights N(0, 1), scaled by 1/sqrt(fan_in))."""

    def __init__(self, c_in: int, c_out: int, kernel: int, bias: bool = True, activate: bool = False):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(c_out, c_in, kernel, kernel))
        self.bias = nn.Parameter(torch.zeros(c_out)) if bias else None
        self.scale, self.padding, self.activate = 1.0 / math.sqrt(c_in * kernel * kernel), kernel // 2, activate

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.conv2d(x, self.weight * self.scale, self.bias, padding=self.padding)  # (B, c_out, H, W)
        return _lrelu(out) if self.activate else out


class ModulatedConv2d(nn.Module):
    """StyleGAN2's modulated convolution (Karras et al. 2020, sec. 2.2, eq. 1-3).

    (B, c_in, H, W) and w (B, w_dim) -> (B, c_out, H, W). The style s = A(w) (B, c_in) scales the
    input channels; with ``demodulate`` each output channel is divided by the L2 norm of its
    effective weights, sqrt(sum_{i,k} (s_i W_oik)^2 + eps), so unit-variance inputs give
    unit-variance outputs whatever the style. Computed as x * s -> conv(W) -> * d (the non-fused form
    of StyleGAN2-ADA; the same numbers as per-sample weights).
    """

    def __init__(self, c_in: int, c_out: int, w_dim: int, kernel: int = 3, demodulate: bool = True):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(c_out, c_in, kernel, kernel))
        self.affine = EqualLinear(w_dim, c_in, bias_init=1.0)  # styles start at 1 (StyleGAN2)
        self.scale, self.padding, self.demodulate = 1.0 / math.sqrt(c_in * kernel * kernel), kernel // 2, demodulate

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        s = self.affine(w)  # (B, c_in)
        weight = self.weight * self.scale  # (c_out, c_in, k, k)
        out = F.conv2d(x * s[:, :, None, None], weight, padding=self.padding)  # (B, c_out, H, W)
        if self.demodulate:
            # sum_{i,k} (s_i W_oik)^2 = (s^2) @ (sum_k W_oik^2)^T: (B, c_in) @ (c_in, c_out) -> (B, c_out)
            d = torch.rsqrt(s.square() @ weight.square().sum(dim=(2, 3)).t() + 1e-8)
            out = out * d[:, :, None, None]
        return out


class SynthesisLayer(nn.Module):
    """[2x bilinear up-sampling], modulated 3x3 conv, noise input with learned strength, bias, leaky ReLU.

    (B, c_in, R/2 or R, ...) -> (B, c_out, R, R). The noise strength starts at 0 (StyleGAN2-ADA).
    """

    def __init__(self, c_in: int, c_out: int, w_dim: int, resolution: int, up: bool = False):
        super().__init__()
        self.up = up
        self.conv = ModulatedConv2d(c_in, c_out, w_dim, 3)
        self.noise_strength = nn.Parameter(torch.zeros(()))
        self.bias = nn.Parameter(torch.zeros(c_out))
        self.register_buffer("noise_const", torch.randn(1, 1, resolution, resolution))  # eval-mode noise

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        if self.up:
            x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)  # (B, c_in, R, R)
        x = self.conv(x, w)  # (B, c_out, R, R)
        if self.training:  # fresh per-pixel noise, one image per sample, shared by the channels
            noise = torch.randn(x.shape[0], 1, x.shape[2], x.shape[3], device=x.device, dtype=x.dtype)
        else:
            noise = self.noise_const.to(x.dtype)
        return _lrelu(x + noise * self.noise_strength + self.bias[None, :, None, None])


class ToRGB(nn.Module):
    """1x1 modulated conv without demodulation, plus bias: features (B, c, R, R) -> image (B, C, R, R)."""

    def __init__(self, c_in: int, channels: int, w_dim: int):
        super().__init__()
        self.conv = ModulatedConv2d(c_in, channels, w_dim, kernel=1, demodulate=False)
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        return self.conv(x, w) + self.bias[None, :, None, None]


class MappingNetwork(nn.Module):
    """z (B, z_dim) [and labels (B,)] -> w (B, w_dim); keeps ``w_avg`` for the truncation trick.

    z (and the class embedding, for a conditional model) is normalised to unit second moment, then
    ``depth`` leaky-ReLU dense layers at learning-rate multiplier 0.01 (StyleGAN sec. 2).
    In training mode each call moves ``w_avg`` (rows per class when conditional) towards the
    batch's mean w by 1 - ``w_avg_beta`` (StyleGAN2-ADA: 0.995).
    """

    def __init__(self, z_dim: int, w_dim: int, depth: int, n_classes: int = 0, w_avg_beta: float = 0.995):
        super().__init__()
        self.n_classes, self.w_avg_beta = n_classes, w_avg_beta
        self.embed = nn.Embedding(n_classes, z_dim) if n_classes else None
        if self.embed is not None:
            nn.init.normal_(self.embed.weight)
        dims = [z_dim * (2 if n_classes else 1)] + [w_dim] * depth
        self.layers = nn.Sequential(*(EqualLinear(a, b, lr_mul=0.01, activate=True) for a, b in zip(dims[:-1], dims[1:])))
        self.register_buffer("w_avg", torch.zeros(max(1, n_classes), w_dim))  # (classes or 1, w_dim)

    def average(self, labels: torch.Tensor | None, n: int) -> torch.Tensor:
        """The tracked average w for each sample (n, w_dim): its class's row, or the single row."""
        if self.n_classes:
            return self.w_avg[labels]
        return self.w_avg.expand(n, -1)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None, truncation: float = 1.0) -> torch.Tensor:
        x = normalize_2nd_moment(z)  # (B, z_dim)
        if self.embed is not None:
            x = torch.cat([x, normalize_2nd_moment(self.embed(labels))], dim=1)  # (B, 2 z_dim)
        w = self.layers(x)  # (B, w_dim)
        if self.training:
            self._track(w.detach(), labels)
        if truncation != 1.0:
            w = self.average(labels, w.shape[0]).to(w.dtype).lerp(w, truncation)  # w_avg + psi (w - w_avg)
        return w

    @torch.no_grad()
    def _track(self, w: torch.Tensor, labels: torch.Tensor | None) -> None:
        w = w.float()
        if not self.n_classes:
            self.w_avg.lerp_(w.mean(dim=0, keepdim=True), 1.0 - self.w_avg_beta)
            return
        sums = torch.zeros_like(self.w_avg).index_add_(0, labels, w)  # (classes, w_dim)
        counts = torch.bincount(labels, minlength=self.n_classes).to(w.dtype)[:, None]  # (classes, 1)
        seen = counts > 0
        means = sums / counts.clamp_min(1.0)
        self.w_avg.copy_(torch.where(seen, self.w_avg.lerp(means, 1.0 - self.w_avg_beta), self.w_avg))


def draw_crossover(n: int, num_ws: int, probability: float, generator: torch.Generator) -> torch.Tensor:
    """Style-mixing crossover layers (n,) on ``generator``'s device: with ``probability`` a layer drawn
    uniformly in 1 .. num_ws - 1 (layers from there on take the second w), else ``num_ws`` (no mixing).

    StyleGAN sec. 3.1 (mixing regularisation); StyleGAN2 trains with probability 0.9.
    """
    device = generator.device
    layer = torch.randint(1, max(2, num_ws), (n,), generator=generator, device=device)
    mixed = torch.rand(n, generator=generator, device=device) < probability
    return torch.where(mixed, layer, torch.full_like(layer, num_ws))


class StyleGANGenerator(nn.Module):
    """z (B, z_dim) [and labels (B,)] -> images (B, C, R, R): in training the raw skip sum (no output
    squashing, as StyleGAN2), in eval mode clamped to [-1, 1].

    ``forward(z, labels, truncation=psi, z_mix=z2, crossover=k, return_ws=False)``: ``psi`` pulls
    every w towards ``w_avg`` (psi 0: the average image for every z); ``z_mix`` with ``crossover``
    (B,) mixes styles, sample b taking w(z) on layers < k_b and w(z_mix) from k_b on; ``return_ws``
    also returns the per-layer styles (B, num_ws, w_dim), which the path-length penalty
    differentiates against. ``num_ws`` counts the layers that take a w: the base conv, two convs per
    level, and the last toRGB (each toRGB shares its w with the next conv, as StyleGAN2).
    """

    supports_truncation = True

    def __init__(self, z_dim: int, channels: int, resolution: int, width: int, n_classes: int = 0,
                 w_dim: int = 0, mapping_depth: int = 4):
        super().__init__()
        self.z_dim, self.n_classes = z_dim, n_classes
        self.w_dim = w_dim or z_dim
        self.base, levels = resolution_levels(resolution)
        self.widths = [min(width * 2 ** (levels - i), CHANNEL_MAX) for i in range(levels + 1)]  # coarse -> fine
        self.mapping = MappingNetwork(z_dim, self.w_dim, mapping_depth, n_classes)
        self.const = nn.Parameter(torch.randn(self.widths[0], self.base, self.base))  # (w0, base, base)
        self.conv0 = SynthesisLayer(self.widths[0], self.widths[0], self.w_dim, self.base)
        self.rgb0 = ToRGB(self.widths[0], channels, self.w_dim)
        self.ups, self.convs, self.rgbs = nn.ModuleList(), nn.ModuleList(), nn.ModuleList()
        for i, (c_in, c_out) in enumerate(zip(self.widths[:-1], self.widths[1:])):
            r = self.base * 2 ** (i + 1)
            self.ups.append(SynthesisLayer(c_in, c_out, self.w_dim, r, up=True))
            self.convs.append(SynthesisLayer(c_out, c_out, self.w_dim, r))
            self.rgbs.append(ToRGB(c_out, channels, self.w_dim))
        self.num_ws = 2 + 2 * levels
        # running mean of path lengths for the path-length penalty (training state kept with G, so
        # checkpoints and resume carry it; see ganforge.games.style)
        self.register_buffer("pl_mean", torch.zeros(()))

    def styles(self, z: torch.Tensor, labels: torch.Tensor | None = None, truncation: float = 1.0,
               z_mix: torch.Tensor | None = None, crossover: torch.Tensor | None = None) -> torch.Tensor:
        """Per-layer styles (B, num_ws, w_dim): w(z) on every layer, or mixed with w(z_mix) from ``crossover``."""
        w = self.mapping(z, labels, truncation)  # (B, w_dim)
        ws = w[:, None, :].expand(-1, self.num_ws, -1)  # (B, num_ws, w_dim)
        if z_mix is None:
            return ws
        w2 = self.mapping(z_mix, labels, truncation)  # (B, w_dim)
        first = torch.arange(self.num_ws, device=w.device)[None, :] < crossover.to(w.device)[:, None]  # (B, num_ws)
        return torch.where(first[:, :, None], ws, w2[:, None, :])

    def synthesis(self, ws: torch.Tensor) -> torch.Tensor:
        """Per-layer styles (B, num_ws, w_dim) -> images (B, C, R, R)."""
        x = self.const[None].expand(ws.shape[0], -1, -1, -1)  # (B, w0, base, base)
        x = self.conv0(x, ws[:, 0])
        img = self.rgb0(x, ws[:, 1])  # (B, C, base, base)
        for i, (up, conv, rgb) in enumerate(zip(self.ups, self.convs, self.rgbs)):
            x = conv(up(x, ws[:, 1 + 2 * i]), ws[:, 2 + 2 * i])  # (B, c, 2r, 2r)
            img = F.interpolate(img, scale_factor=2, mode="bilinear", align_corners=False) + rgb(x, ws[:, 3 + 2 * i])
        return img if self.training else img.clamp(-1.0, 1.0)  # samplers promise [-1, 1]

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None, truncation: float = 1.0,
                z_mix: torch.Tensor | None = None, crossover: torch.Tensor | None = None, return_ws: bool = False):
        ws = self.styles(z, labels, truncation, z_mix, crossover)
        img = self.synthesis(ws)  # (B, C, R, R)
        return (img, ws) if return_ws else img


class DBlock(nn.Module):
    """StyleGAN2's residual D block: two 3x3 convs then 2x average pooling, plus a pooled 1x1 shortcut,
    summed and scaled by 1/sqrt(2). (B, c_in, R, R) -> (B, c_out, R/2, R/2)."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.conv1 = EqualConv2d(c_in, c_in, 3, activate=True)
        self.conv2 = EqualConv2d(c_in, c_out, 3, activate=True)
        self.skip = EqualConv2d(c_in, c_out, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.avg_pool2d(self.conv2(self.conv1(x)), 2)
        return (h + self.skip(F.avg_pool2d(x, 2))) / math.sqrt(2.0)


class StyleGANDiscriminator(nn.Module):
    """images (B, C, R, R) [and labels (B,)] -> logits (B / pack,): StyleGAN2's residual D (see the module notes)."""

    def __init__(self, channels: int, resolution: int, width: int, pack_k: int = 1, n_classes: int = 0):
        super().__init__()
        self.pack_k = pack_k
        self.base, levels = resolution_levels(resolution)
        widths = [min(width * 2**i, CHANNEL_MAX) for i in range(levels + 1)]  # fine -> coarse
        self.from_rgb = EqualConv2d(channels * pack_k, widths[0], 1, activate=True)
        self.blocks = nn.Sequential(*(DBlock(a, b) for a, b in zip(widths[:-1], widths[1:])))
        c = widths[-1]
        self.conv = EqualConv2d(c, c, 3, activate=True)
        self.fc = EqualLinear(c * self.base * self.base, c, activate=True)
        self.out = EqualLinear(c, 1)
        self.project = ProjectionHead(c, n_classes, False) if n_classes else None

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        h = self.blocks(self.from_rgb(pack(x, self.pack_k)))  # (B / pack, c, base, base)
        h = self.fc(self.conv(h).flatten(1))  # (B / pack, c)
        logits = self.out(h).squeeze(1)  # (B / pack,)
        if self.project is not None:
            logits = logits + self.project(h, labels) / math.sqrt(h.shape[1])
        return logits

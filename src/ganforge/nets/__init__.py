"""Network families. :func:`build_networks` makes the G and D that a model configuration describes.

The settings themselves (names, ranges, packing with conditioning) are checked when the
configuration is built (:meth:`ganforge.config.Config.validate`); what is checked here depends on
the data: its shape and its classes.
"""

from __future__ import annotations

from torch import nn

from ganforge.config import ModelConfig
from ganforge.errors import ConfigError, unknown_name
from ganforge.nets.dcgan import DCGANDiscriminator, DCGANGenerator
from ganforge.nets.layers import gaussian_init_
from ganforge.nets.mlp import MLPDiscriminator, MLPGenerator
from ganforge.nets.resnet import ResNetDiscriminator, ResNetGenerator
from ganforge.nets.stylegan import StyleGANDiscriminator, StyleGANGenerator

ARCHITECTURES = {
    "mlp": "multi-layer perceptrons for point data (1D, 2D, N-D)",
    "dcgan": "DCGAN convolutional G and D for square images (resolution and channels are parameters)",
    "resnet": "SNGAN-style residual G and D for square images (use with model.spectral_norm and the hinge loss); "
              "in translation games, CycleGAN's ResNet translator",
    "unet": "pix2pix's U-Net translator with skip connections (translation games)",
    "ctgan": "CTGAN's residual G and PacGAN D with dropout for table rows (model.game tabular)",
    "srresnet": "SRGAN's residual super-resolution G with sub-pixel upsampling (model.game super-resolution)",
    "molgan": "MolGAN's graph G (Gumbel-softmax bonds and atoms) and R-GCN D for molecules (model.game molgan)",
    "stylegan": "StyleGAN2-style G (mapping network, modulated convs, noise, skip output, truncation, style "
                "mixing) and residual D for square images; no custom operators",
}
# latent distributions G may be fed (the engine draws z; model.noise names one of these)
NOISES = {
    "gaussian": "standard normal N(0, I)",
    "uniform": "uniform on [-1, 1] per dimension",
}
_IMAGE_FAMILIES = {"dcgan": (DCGANGenerator, DCGANDiscriminator), "resnet": (ResNetGenerator, ResNetDiscriminator)}


def build_networks(m: ModelConfig, data_shape: tuple[int, ...], n_classes: int = 0) -> tuple[nn.Module, nn.Module]:
    """(G, D) for data whose single-sample shape is ``data_shape``: (dim,) for points, (C, H, W) for images."""
    if m.arch not in ARCHITECTURES:
        raise unknown_name("architecture", m.arch, ARCHITECTURES)
    classes = n_classes if m.conditional else 0
    if m.conditional and classes < 1:
        raise ConfigError("model.conditional needs a labelled dataset (or model.n_classes >= 1)")
    if m.arch == "mlp":
        if len(data_shape) != 1:
            raise ConfigError(f"model.arch 'mlp' is for point data; this data has shape {tuple(data_shape)}, use 'dcgan' or 'resnet'")
        dim = data_shape[0]
        G = MLPGenerator(m.z_dim, dim, m.g_width, m.g_depth, m.activation, classes)
        D = MLPDiscriminator(dim, m.d_width, m.d_depth, m.activation, m.d_maxout, m.spectral_norm, m.pack, classes)
        return initialise(G, m.init), initialise(D, m.init)
    if len(data_shape) != 3 or data_shape[1] != data_shape[2]:
        raise ConfigError(f"model.arch {m.arch!r} needs square images; this data has shape {tuple(data_shape)}")
    c, r = data_shape[0], data_shape[1]
    if m.arch == "stylegan":
        G = StyleGANGenerator(m.z_dim, c, r, m.g_channels, classes, m.w_dim, m.mapping_depth)
        return G, StyleGANDiscriminator(c, r, m.d_channels, m.pack, classes)
    G_class, D_class = _IMAGE_FAMILIES[m.arch]
    G = G_class(m.z_dim, c, r, m.g_channels, classes)
    norm = {"norm": m.d_norm} if m.arch == "dcgan" else {}  # model.d_norm: DCGAN's D only
    D = D_class(c, r, m.d_channels, m.spectral_norm, m.pack, classes, **norm)
    return initialise(G, m.init), initialise(D, m.init)


# model.init: how build_networks sets the starting weights of the mlp, dcgan and resnet families
INITS = {
    "default": "PyTorch's own initialisation of each layer",
    "dcgan": "conv/linear weights N(0, 0.02), batch-norm scales N(1, 0.02), biases 0 (Radford et al. 2016)",
}


def initialise(net: nn.Module, scheme: str) -> nn.Module:
    """Apply the ``model.init`` scheme to ``net`` in place (drawing from torch's global generator,
    which the trainer seeds) and return it."""
    if scheme not in INITS:
        raise unknown_name("initialisation", scheme, INITS)
    return gaussian_init_(net, 0.02) if scheme == "dcgan" else net

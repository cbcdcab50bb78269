"""Presets that tell a story: a starting point, what to watch, and why it happens.

Each story is a full set of lab settings (anything not named keeps the lab's default) plus a short
text shown on the page. Loading a story rebuilds the networks from scratch and starts training.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Story:
    title: str  # button label
    summary: str  # one or two sentences shown when the story starts
    watch: str  # what to look at on the page while it plays
    settings: dict = field(default_factory=dict)  # lab settings (see LabSettings) that differ from the defaults


STORIES: dict[str, Story] = {
    "mode-collapse": Story(
        title="Mode collapse",
        summary=(
            "Eight tight Gaussians, small batches, and a D that learns four times slower than G. G finds a spot that "
            "D currently scores as real and moves every sample there; when D catches up, G jumps to the next spot. "
            "D judges each sample on its own, so nothing rewards G for spreading out."
        ),
        watch=(
            "Watch the orange fakes shrink into one tight clump and hop around, the mesh fold onto it, 'modes "
            "captured' stay at 0 or 1 of 8, and the diagnostics report mode collapse."
        ),
        settings={
            "target": "ring8", "objective": "nonsaturating", "lr_g": 2e-3, "lr_d": 5e-4, "d_steps": 1,
            "z_dim": 2, "batch_size": 64, "gp_weight": 0.0, "spectral_norm": False, "pack": 1,
        },
    ),
    "d-too-strong": Story(
        title="D too strong",
        summary=(
            "A big discriminator that takes five steps for every generator step, against a small generator, "
            "with the original (saturating) loss. D separates real from fake almost perfectly, so "
            "log(1 - D(G(z))) is flat and G gets almost no gradient."
        ),
        watch=(
            "Watch mean D(x) go to 1 and D(G(z)) to 0, far from the 0.5 line, the gradient arrows shrink "
            "to nothing, and the fakes stop moving."
        ),
        settings={
            "target": "ring8", "objective": "minimax", "lr_g": 2e-4, "lr_d": 2e-3, "d_steps": 5,
            "d_depth": 4, "d_width": 256, "g_depth": 2, "g_width": 32, "z_dim": 2, "gp_weight": 0.0,
        },
    ),
    "wgan-gp-recovers": Story(
        title="WGAN-GP recovers",
        summary=(
            "The same eight Gaussians trained as a Wasserstein GAN with gradient penalty: the critic gives G a "
            "useful gradient everywhere, even where D would be saturated, so the fakes spread over every mode."
        ),
        watch=(
            "Watch the heat map become a smooth slope (a critic score, not a probability), the arrows point "
            "from every fake towards the nearest cluster, and 'modes captured' climb to 8."
        ),
        settings={
            "target": "ring8", "objective": "wgan-gp", "gp_weight": 10.0, "d_steps": 5, "lr_g": 1e-3,
            "lr_d": 1e-3, "opt_g": "adam", "opt_d": "adam", "z_dim": 2, "batch_size": 256,
        },
    ),
    "equilibrium": Story(
        title="Reaching equilibrium",
        summary=(
            "The 1D example of the original GAN paper: noise z is mapped onto a Gaussian. As G matches the data, "
            "the best D can do is answer 1/2 everywhere, and V(D, G) settles at -log 4."
        ),
        watch=(
            "Watch the green generator density slide onto the black data density, the blue D(x) curve flatten "
            "towards 1/2, and the value V(D, G) approach -log 4 = -1.386."
        ),
        settings={
            "target": "gauss1d", "objective": "nonsaturating", "lr_g": 2e-4, "lr_d": 1e-3, "d_steps": 1,
            "z_dim": 1, "noise": "uniform", "g_depth": 2, "g_width": 64, "d_depth": 3, "d_width": 64,
            "batch_size": 512, "show_dstar": True,
        },
    ),
}

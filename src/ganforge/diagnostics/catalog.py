"""The named alerts: severity, what they mean in plain words, and what to try.

Messages are templates filled with the numbers that triggered the alert. Every entry cites the
symptom it is about so a reader can check the reasoning.
"""

from __future__ import annotations

# name -> (severity, message template, suggestion)
ALERTS: dict[str, tuple[str, str, str]] = {
    "equilibrium": (
        "info",
        "The game is near its equilibrium: D(x) = {d_real:.2f} and D(G(z)) = {d_fake:.2f} are both "
        "close to 0.5 and V(D,G) = {value:.3f} is close to -log 4 = -1.386 (distance {distance:.3f}). "
        "D can no longer tell real from fake; this is what the minimax game aims for "
        "(Goodfellow et al. 2014, Thm. 1).{fresh}",
        "Nothing to fix. Check the samples and metrics: equilibrium of the losses does not by itself "
        "prove that G covers every mode.",
    ),
    "discriminator-overpowering": (
        "warning",
        "D wins too easily{acc_text} (mean D(x) = {d_real:.2f}, D(G(z)) = {d_fake:.2f} over the last "
        "{n} rounds){grad_note}. When D is near perfect, the "
        "gradient it passes to G carries little information and G stops improving "
        "(Arjovsky & Bottou 2017).",
        "Slow D down: lower optim.lr_d or train.d_steps, add loss.r1_weight (e.g. 1-10) or "
        "loss.gp_weight, turn on model.spectral_norm, or use the non-saturating or Wasserstein loss.",
    ),
    "generator-winning": (
        "warning",
        "G is fooling D systematically: D scores fakes above reals in {frac:.0%} of the last {n} "
        "rounds (real {real:.3f} vs fake {fake:.3f}). D is not keeping up, so its feedback to G is "
        "stale and G can drift or collapse onto whatever currently fools D.",
        "Give D more capacity or updates: raise optim.lr_d (TTUR, Heusel et al. 2017) or "
        "train.d_steps, or lower optim.lr_g.",
    ),
    "oscillation": (
        "warning",
        "The losses oscillate instead of settling: {signal} swings in cycles (autocorrelation "
        "{autocorr:.2f} at lag {lag}, a period of about {period} rounds) and its amplitude changed "
        "{growth:.1f}x over the last three windows of {half} rounds. "
        "Simultaneous gradient steps can circle around the equilibrium instead of reaching it "
        "(Mescheder et al. 2018).",
        "Lower both learning rates, lower Adam's optim.beta1 (0 or 0.5), add loss.r1_weight or "
        "loss.gp_weight, or average G's weights (optim.ema = 0.999).",
    ),
    "divergence": (
        "error",
        "Training diverged: {what}. Once a value is NaN or infinite, or the losses or weights "
        "explode, the networks stop learning anything useful.",
        "Lower the learning rates (optim.lr_g, optim.lr_d), clip gradients (optim.grad_clip = 1), "
        "and resume from the last healthy checkpoint.",
    ),
    "mode-collapse": (
        "warning",
        "G produces too little variety: {evidence}. G has found a few outputs that fool D and "
        "stopped covering the rest of the data (mode collapse, Goodfellow 2016 §5.1.1).",
        "Try PacGAN packing (model.pack = 2-4, Lin et al. 2018), minibatch diversity, a lower "
        "optim.lr_g, the WGAN-GP loss, or EMA of G; restarting from an earlier checkpoint can help.",
    ),
    # Computed at each sample check of a training run (MonitorCallback.check: every
    # train.sample_every rounds once the first fifth of the run is over, and at the end) and every
    # 250 rounds in the lab: a fresh classifier (C2ST) is trained on the check's real and generated
    # batches (an MLP on 1,000 points a side, about 0.3 s on one core, or up to 2,500 images a side,
    # a few seconds: 500 images a side read 62-67% on mnist-dcgan where 2,500 read 78%;
    # k nearest neighbours in the lab, milliseconds) and compared with the game's D over the last
    # window of rounds.
    "matched-discriminator": (
        "warning",
        "D is matched to G, not beaten by it: the game's D reads equilibrium ({reading}, distance "
        "{distance:.3f}), yet a fresh classifier trained on real against generated samples tells them "
        "apart {accuracy:.1%} of the time (95% interval {ci_low:.1%} to {ci_high:.1%}, p = {p_value:.2g}, "
        "{n_test} held-out samples; chance is 50%). D answers about 1/2 because it cannot keep up with "
        "this G, not because G's samples match the data (classifier two-sample test, Lopez-Paz & "
        "Oquab 2017).",
        "Give D more capacity (model.d_width / model.d_depth for MLPs, model.d_channels for images) or "
        "more updates per round (train.d_steps), try another learning-rate ratio (raise optim.lr_d or "
        "lower optim.lr_g, TTUR), or train longer; trust the fresh classifier and the metrics, not "
        "D's outputs, to judge the samples.",
    ),
    "modes-missing": (
        "info",
        "G misses a few modes: {evidence}.",
        "Train longer or try PacGAN packing (model.pack = 2); watch whether the count recovers.",
    ),
}


def severity_of(name: str) -> str:
    return ALERTS[name][0]

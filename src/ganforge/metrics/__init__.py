"""Metrics: mode coverage, densities, Fréchet distance, KID, precision/recall, classifier scores.

Each metric is a pure function of tensors (samples, features, labels); :mod:`ganforge.metrics.evaluate`
runs the chosen ones for a run directory and appends them, with provenance, to ``metrics.jsonl``.
"""

from ganforge.metrics.density import js_divergence, kde_log_prob, optimal_discriminator
from ganforge.metrics.frechet import fid_from_features, frechet_distance, gaussian_stats
from ganforge.metrics.kid import kernel_inception_distance
from ganforge.metrics.modes import ModeCoverage, mode_coverage
from ganforge.metrics.prdc import prdc
from ganforge.metrics.score import classifier_score
from ganforge.metrics.stacked import stacked_coverage_from_labels, stacked_mnist_coverage

__all__ = [
    "ModeCoverage",
    "mode_coverage",
    "kde_log_prob",
    "optimal_discriminator",
    "js_divergence",
    "frechet_distance",
    "gaussian_stats",
    "fid_from_features",
    "kernel_inception_distance",
    "prdc",
    "classifier_score",
    "stacked_mnist_coverage",
    "stacked_coverage_from_labels",
]

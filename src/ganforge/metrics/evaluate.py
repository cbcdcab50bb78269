"""Judge generated samples against real data, and describe each number's provenance.

:func:`evaluate_samples` takes samples (from any generator) and the reference data, and returns
one ``metrics.jsonl`` line per metric with its provenance; evaluating a run's checkpoints is the
job of ``ganforge eval`` (:mod:`ganforge.commands.eval`). Reference features of real data are
cached by dataset hash, feature extractor hash and sample count under ``<cache root>/refstats/``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json

import torch

from ganforge.data.base import is_point_data
from ganforge.errors import ConfigError
from ganforge.fileio import atomic_path
from ganforge.metrics.features import (
    FEATURE_SETS,
    FeatureExtractor,
    default_features,
    get_extractor,
)
from ganforge.metrics.frechet import fid_from_features
from ganforge.metrics.kid import kernel_inception_distance
from ganforge.metrics.modes import mode_coverage
from ganforge.metrics.prdc import prdc
from ganforge.metrics.record import metric_line, provenance, tensor_sha256

# name -> one-line description (what `ganforge eval --help` lists)
METRICS: dict[str, str] = {
    "modes": "mode coverage on mixtures with known modes: modes captured, HQ %, reverse KL (VEEGAN/PacGAN)",
    "js": "Jensen-Shannon estimate on low-dimensional points (exact data density or KDE)",
    "fid": "Fréchet distance of feature Gaussians (Heusel et al. 2017)",
    "kid": "kernel (MMD^2) distance of features, unbiased (Bińkowski et al. 2018)",
    "prdc": "precision/recall (Kynkäänniemi et al. 2019) and density/coverage (Naeem et al. 2020)",
    "classifier": "MNIST classifier's class histogram, its entropy and the confident fraction",
    "stacked": "Stacked MNIST modes captured (of 1000) and KL to uniform (Metz et al. 2017)",
    "c2st": "classifier two-sample test: a fresh classifier's held-out accuracy on real vs generated, with a "
            "Wilson interval and a p-value against 1/2 (Lopez-Paz & Oquab 2017); on pixels, and on each "
            "--features extractor named",
    "accuracy": "test-split accuracy of a semi-supervised run's D (model.game ssl), on its own",
    "cas": "Classification Accuracy Score of a conditional G: a classifier trained on -n samples per class only, "
           "tested on the real test split (Ravuri and Vinyals 2019), on its own",
}
POINT_METRICS = ("modes", "js", "fid", "kid", "prdc", "c2st")
IMAGE_METRICS = ("fid", "kid", "prdc", "classifier", "stacked", "c2st")


def default_metrics(data) -> list[str]:
    """The metrics that make sense for ``data`` (a point distribution or an ImageDataset)."""
    if is_point_data(data):
        out = ["modes"] if getattr(data, "centers", None) is not None else []
        return out + (["js"] if data.dim <= 3 else []) + ["prdc", "c2st"]
    out = ["fid", "kid", "prdc", "c2st"]
    name = getattr(data, "name", "")
    if name == "mnist" and tuple(data.shape) == (1, 28, 28):
        out.append("classifier")
    if name == "stacked-mnist":
        out.append("stacked")
    return out


def check_metrics(names, data) -> list[str]:
    """Validate metric names for this kind of data (a one-line ConfigError otherwise)."""
    names = list(names) if names else default_metrics(data)
    allowed = POINT_METRICS if is_point_data(data) else IMAGE_METRICS
    for n in names:
        if n not in METRICS:
            raise ConfigError(f"unknown metric {n!r}; valid metrics: {', '.join(METRICS)}")
        if n not in allowed:
            kind = "point" if is_point_data(data) else "image"
            raise ConfigError(f"metric {n!r} does not apply to {kind} data; valid here: {', '.join(allowed)}")
    if "modes" in names and getattr(data, "centers", None) is None:
        raise ConfigError(f"metric 'modes' needs a mixture with known modes; {getattr(data, 'name', 'this data')} has none")
    return names


# ----------------------------------------------------------------------------- reference data


def real_images(dataset, n: int, seed: int) -> torch.Tensor:
    """``n`` images (or all, if fewer) of ``dataset``, a seeded random subset, float in [-1, 1]."""
    total = len(dataset)
    idx = torch.randperm(total, generator=torch.Generator().manual_seed(seed))[: min(n, total)]
    return dataset.batch(idx)[0]


def reference_features(dataset, extractor: FeatureExtractor, n: int, seed: int, use_cache: bool = True,
                       progress: bool = False) -> tuple[torch.Tensor, str]:
    """Features of a seeded subset of real images and a key naming them, cached by dataset hash."""
    from safetensors.torch import load_file, save_file

    from ganforge.data.sources import cache_root

    ident = {
        "dataset": dataset.name, "split": dataset.info.get("split", ""), "shape": list(dataset.shape),
        "source_hash": dataset.source_hash, "images": len(dataset),
        "subset": [dataset.info.get("fraction"), dataset.info.get("fraction_seed")], "n": min(n, len(dataset)), "seed": seed,
        "features": extractor.name, "features_sha256": extractor.sha256, "resize": extractor.resize,
    }
    key = hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()
    path = cache_root() / "refstats" / f"{dataset.name}-{extractor.name}-{key[:24]}.safetensors"
    if use_cache and dataset.source_hash and path.is_file():
        return load_file(str(path))["features"], key
    feats = extractor(real_images(dataset, n, seed), progress=progress)
    if use_cache and dataset.source_hash:
        with atomic_path(path) as tmp:
            save_file({"features": feats.contiguous()}, str(tmp), metadata={"ident": json.dumps(ident, sort_keys=True)})
    return feats, key


def reference_dataset(data_cfg, split: str):
    """The ``split`` of the dataset ``data_cfg`` names (same resolution and channels; no limit, all images)."""
    from ganforge.data import load_dataset

    if split not in ("train", "test"):
        raise ConfigError(f"unknown reference split {split!r}; valid: train, test")
    if data_cfg.name not in ("mnist", "fashion-mnist", "cifar10"):
        raise ConfigError(f"dataset {data_cfg.name!r} has no separate test split to compare against; "
                          "reference splits exist for mnist, fashion-mnist and cifar10")
    return load_dataset(dataclasses.replace(data_cfg, split=split, limit=0, clusters=0, fraction=1.0))


def _reference_name(dataset) -> str:
    split = dataset.info.get("split", "")
    c, h, w = dataset.shape
    return f"{dataset.name} ({split + ', ' if split else ''}{h}x{w}x{c}, {len(dataset)} images)"


# ----------------------------------------------------------------------------- evaluation


def evaluate_samples(
    fake: torch.Tensor,
    data,
    metrics=None,
    *,
    n_real: int | None = None,
    features=None,
    inception_path=None,
    seed: int = 0,
    step: int = 0,
    ema: bool = False,
    device="cpu",
    download: bool = True,
    use_cache: bool = True,
    progress: bool = False,
) -> list[dict]:
    """Judge generated samples ``fake`` against ``data``; return the ``metrics.jsonl`` lines.

    fake: (n, dim) points or (n, C, H, W) images in [-1, 1]. data: the reference (a point
    distribution or an ImageDataset). n_real: real samples (default: as many as ``fake``).
    features: extractor names for fid/kid/prdc on images (default: ``mnist`` for 28x28 digits,
    ``inception`` otherwise). seed fixes the real subset, so re-evaluating gives the same numbers.
    step and ema are recorded in each line's provenance (the round and whether G_ema made them).
    """
    names = check_metrics(metrics, data)
    n_real = n_real or fake.shape[0]
    base = {"ema": bool(ema), "checkpoint_step": int(step)}
    if is_point_data(data):
        return _evaluate_points(data, names, fake, n_real, seed, step, base)
    return _evaluate_images(data, names, fake, n_real, seed, step, base, features, inception_path,
                            device, download, use_cache, progress)


def _evaluate_points(data, names, fake, n_real, seed, step, base) -> list[dict]:
    real = data.sample(n_real, torch.Generator().manual_seed(seed))  # (n_real, dim)
    ref_hash = tensor_sha256(real)
    name = getattr(data, "name", "points")

    def prov(features="identity (raw points)", n_r=real.shape[0], **extra):
        return provenance(n_fake=fake.shape[0], n_real=n_r, features=features, features_sha256=None,
                          reference=f"{name} ({n_r} samples drawn with seed {seed})", reference_sha256=ref_hash,
                          resize="none", seed=seed, **base, **extra)

    lines = []
    if "modes" in names:
        cov = mode_coverage(fake, data.centers, data.std)
        real_cov = mode_coverage(real, data.centers, data.std)
        p = prov(n_r=None, mixture_sha256=tensor_sha256(data.centers, torch.tensor([data.std])), threshold_std=3.0)
        p["reference"] = f"{name}: {data.centers.shape[0]} known modes, std {data.std}"
        p["reference_sha256"] = p.pop("mixture_sha256")
        values = {**cov.to_dict(), "real": real_cov.to_dict()}
        lines.append(metric_line(step, "modes_captured", cov.modes_captured, values, p))
        lines.append(metric_line(step, "hq_fraction", cov.hq_fraction, {}, p))
        lines.append(metric_line(step, "reverse_kl", cov.reverse_kl, {}, p))
    if "js" in names:
        from ganforge.metrics.density import closed_form_log_prob, js_divergence

        log_prob = closed_form_log_prob(data)  # None past a few thousand components: KDE instead
        m = min(2000, fake.shape[0], real.shape[0])
        js = js_divergence(real[:m], fake[:m], log_prob)
        p = prov(n_r=m, density="exact" if log_prob else "kde")
        p["n_fake"] = m
        lines.append(metric_line(step, "js", js, {}, p))
    lines += _feature_metrics(names, real, fake, prov(), step)
    if "c2st" in names:
        lines.append(c2st_line(step, real, fake, "raw", seed, prov))
    return lines


def c2st_line(step, real, fake, featurizer: str, seed: int, prov, suffix: str = "", **kwargs) -> dict:
    """The ``c2st`` line of real against generated samples: the held-out accuracy as the value, the
    interval, p-value and sample counts in ``values``, the classifier and features in the provenance.

    ``prov(features=..., n_r=...)`` builds the provenance of the caller's other lines; the C2ST
    uses as many samples of each set as the smaller one has (at most :data:`MAX_PER_SIDE`).
    """
    from ganforge.metrics.c2st import c2st_samples

    result, feat = c2st_samples(real, fake, featurizer, seed=seed, **kwargs)
    p = prov(features=feat["features"], n_r=real.shape[0])
    p.update(feat, classifier=result.classifier, test_split="half of each set held out")
    return metric_line(step, "c2st" + suffix, result.accuracy, result.to_dict(), p)


def _feature_metrics(names, real_f, fake_f, prov, step, suffix="") -> list[dict]:
    lines = []
    if "fid" in names:
        lines.append(metric_line(step, "fid" + suffix, fid_from_features(real_f, fake_f), {}, prov))
    if "kid" in names:
        kid = kernel_inception_distance(real_f, fake_f, seed=prov.get("seed") or 0)
        lines.append(metric_line(step, "kid" + suffix, kid.mean, kid.to_dict(), prov))
    if "prdc" in names:
        r = prdc(real_f, fake_f)
        for key in ("precision", "recall", "density", "coverage"):
            lines.append(metric_line(step, key + suffix, getattr(r, key), r.to_dict(), prov))
    return lines


def _evaluate_images(data, names, fake, n_real, seed, step, base, features, inception_path, device,
                     download, use_cache, progress) -> list[dict]:
    from ganforge.metrics.classifier import WEIGHTS_PATH, classify, file_sha256

    lines = []
    reference = _reference_name(data)
    if any(m in names for m in ("fid", "kid", "prdc")):
        feature_names = features or [default_features(data.shape, data.name)]
        for fname in ([feature_names] if isinstance(feature_names, str) else feature_names):
            ext = get_extractor(fname, channels=data.shape[0], inception_path=inception_path, device=device,
                                download=download)
            real_f, _ = reference_features(data, ext, n_real, seed, use_cache, progress)
            fake_f = ext(fake, progress=progress)
            prov = provenance(n_fake=fake.shape[0], n_real=real_f.shape[0], reference=reference,
                              reference_sha256=data.source_hash or None, seed=seed, **ext.provenance(), **base)
            suffix = "" if fname == "inception" else f"_{fname}"
            lines += _feature_metrics(names, real_f, fake_f, prov, step, suffix)
    if "c2st" in names:
        real = real_images(data, n_real, seed)

        def c2st_prov(features, n_r):
            return provenance(n_fake=fake.shape[0], n_real=n_r, features=features, features_sha256=None,
                              reference=reference, reference_sha256=data.source_hash or None, resize="none",
                              seed=seed, **base)

        lines.append(c2st_line(step, real, fake, "raw", seed, c2st_prov))
        for fname in ([features] if isinstance(features, str) else features or []):  # only those named
            if fname not in FEATURE_SETS:  # the same one line as fid's, before any work
                from ganforge.errors import unknown_name

                raise unknown_name("feature extractor", fname, FEATURE_SETS)
            lines.append(c2st_line(step, real, fake, fname, seed, c2st_prov, suffix=f"_{fname}", device=device,
                                   inception_path=inception_path, download=download))
    if "classifier" in names or "stacked" in names:
        clf_prov = provenance(n_fake=fake.shape[0], n_real=min(n_real, len(data)), features="mnist-classifier",
                              features_sha256=file_sha256(WEIGHTS_PATH), reference=reference,
                              reference_sha256=data.source_hash or None,
                              resize="bilinear antialiased to 28x28 when not 28x28; per channel",
                              seed=seed, **base)
        real = real_images(data, n_real, seed)
        if "classifier" in names:
            from ganforge.metrics.score import classifier_score

            s = classifier_score(classify(fake)[:, 0])
            r = classifier_score(classify(real)[:, 0])
            values = {**s.to_dict(), "real": r.to_dict()}
            lines.append(metric_line(step, "class_entropy", s.entropy, values, clf_prov))
            lines.append(metric_line(step, "confident_fraction", s.confident_fraction, {}, clf_prov))
        if "stacked" in names:
            from ganforge.metrics.stacked import (
                stacked_coverage_from_labels,
                stacked_labels,
            )

            if data.shape[0] != 3:
                raise ConfigError("metric 'stacked' needs 3-channel Stacked MNIST images")
            cov = stacked_coverage_from_labels(stacked_labels(classify(fake)))
            real_cov = stacked_coverage_from_labels(stacked_labels(classify(real)))
            values = {**cov.to_dict(), "real": real_cov.to_dict()}
            lines.append(metric_line(step, "stacked_modes", cov.modes_captured, values, clf_prov))
            lines.append(metric_line(step, "stacked_kl", cov.reverse_kl, {}, clf_prov))
    return lines

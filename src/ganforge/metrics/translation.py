"""Scoring a trained translator (pix2pix, CycleGAN) on its dataset's test split, with provenance.

For every test pair the translator's output G(input) is compared with the pair's target:

* ``l1``, ``psnr``, ``ssim``: per pair, on the [0, 1] scale with data range 1, then averaged over
  the pairs (:mod:`ganforge.metrics.image_quality`: PSNR is the mean of per-pair PSNRs, not the
  PSNR of the pooled error; SSIM is Wang et al. 2004's, Gaussian window 11, sigma 1.5). Outputs
  and targets are compared at the size the test images are loaded at (the run's
  ``data.resolution``); outputs are rounded to 8-bit levels first, as a saved picture would be.
* ``fid``, ``kid``: the distance of the outputs' feature distribution to that of the test targets
  (the reference), with Inception-v3 features by default (:mod:`ganforge.metrics.features`;
  FID: Heusel et al. 2017, KID: Bińkowski et al. 2018). A test split has a few hundred pairs, so
  FID is biased upwards by the small sample (compare runs on the same split and count only);
  KID's estimate is unbiased.

A pix2pix run is scored in the direction it learnt (``data.direction``); a CycleGAN run trained on
paired data (the halves of ``pairs`` or ``facades``, shuffled apart for training) is scored both
ways, ``AtoB`` and ``BtoA``. With truly unpaired test data (``data.name=unpaired``) there are no
targets to compare pixel by pixel, so only ``fid`` and ``kid`` apply (against the test images of
the target domain). Metric names carry the direction: ``psnr_BtoA``, ``fid_AtoB``,
``kid_mnist_AtoB`` (with ``mnist`` features).

Each number becomes one ``metrics.jsonl`` line whose provenance names the pairs (count, the
sha256 of the exact target and input tensors scored, the dataset's source hash), the feature
extractor and its hash, the direction, the checkpoint, EMA and the seed of pix2pix's test-time
dropout.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import torch

from ganforge.errors import ConfigError, DataError
from ganforge.metrics.features import FEATURE_SETS, get_extractor
from ganforge.metrics.frechet import fid_from_features
from ganforge.metrics.image_quality import l1_error, psnr, ssim
from ganforge.metrics.kid import kernel_inception_distance
from ganforge.metrics.record import metric_line, provenance, tensor_sha256

Tensor = torch.Tensor

# name -> one-line description (what `ganforge eval` applies to translator runs)
TRANSLATION_METRICS: dict[str, str] = {
    "l1": "mean absolute error of G(input) against the target, per pair on [0, 1], averaged",
    "psnr": "peak signal-to-noise ratio in dB (data range 1), per pair, averaged",
    "ssim": "structural similarity (Wang et al. 2004; Gaussian window 11, sigma 1.5), per pair, averaged",
    "fid": "Fréchet distance of the outputs' features to the test targets' (Heusel et al. 2017)",
    "kid": "kernel distance (unbiased MMD^2) of the outputs' features to the test targets' (Bińkowski et al. 2018)",
}
PAIRED_METRICS = ("l1", "psnr", "ssim")
FEATURE_METRICS = ("fid", "kid")
CONVENTIONS = "per pair on the [0, 1] scale (data range 1), outputs rounded to 8 bits, then averaged over pairs"
_PER_IMAGE = {"l1": l1_error, "psnr": psnr, "ssim": ssim}


@dataclass
class TestSet:
    """The test images one direction of a translator is scored on."""

    direction: str  # "AtoB" or "BtoA"
    inputs: Tensor  # (N, C_in, H, W) uint8
    targets: Tensor  # (N, C_out, H, W) uint8: aligned with inputs when ``paired``, else any count
    paired: bool  # targets[i] is the ground truth of inputs[i]
    dataset: str  # what the images are, for the provenance ("facades (test, 256x256)")
    source_hash: str  # sha256 over the dataset's source files
    names: list[str]  # one name per input


# ----------------------------------------------------------------------------- test data


def _directions(cfg) -> list[str]:
    return [cfg.data.direction] if cfg.model.game == "pix2pix" else ["AtoB", "BtoA"]


def load_test_sets(cfg, limit: int = 0, data_dir=None, directions=None) -> list[TestSet]:
    """The test split of a translator run's data (``data.split=test`` of the same data settings),
    one :class:`TestSet` per direction scored (``directions``: default all the run learnt).

    ``limit`` > 0 keeps the first pairs in name order. A dataset without a test split, or one not
    found here, is a one-line DataError.
    """
    from ganforge.data import load_dataset
    from ganforge.data.paired import PairedImages

    data_cfg = dataclasses.replace(cfg.data, split="test", limit=limit, clusters=0,
                                   data_dir=str(data_dir) if data_dir else cfg.data.data_dir)
    data = load_dataset(data_cfg)
    h, w = data.a.shape[2:]
    desc = f"{cfg.data.name} (test, {w}x{h})"
    out = []
    for direction in directions or _directions(cfg):
        if isinstance(data, PairedImages):
            # a pair is (a, b); pix2pix's data already faces its direction, CycleGAN's is AtoB
            a, b = (data.a, data.b)
            inputs, targets = (a, b) if direction == "AtoB" else (b, a)
            out.append(TestSet(direction, inputs, targets, True, desc, data.source_hash, list(data.names)))
        else:
            inputs, targets = (data.a, data.b) if direction == "AtoB" else (data.b, data.a)
            names = data.names_a if direction == "AtoB" else data.names_b
            out.append(TestSet(direction, inputs, targets, False, desc, data.source_hash, list(names)))
    return out


@torch.no_grad()
def translate_test_inputs(translator, inputs: Tensor, seed: int = 0) -> Tensor:
    """G(inputs) for uint8 (N, C_in, H, W) inputs -> float (N, C_out, H, W) in [-1, 1] on the CPU.

    Each image is translated on its own under torch seed ``seed`` (pix2pix's test-time dropout),
    as ``ganforge translate --seed`` does: the numbers are reproducible, and an image's output
    does not depend on the others.
    """
    from ganforge.data.paired import to_float
    from ganforge.translate import seeded, translate_any_size

    device = next(translator.parameters()).device
    out = []
    for i in range(len(inputs)):
        with seeded(seed, device):
            out.append(translate_any_size(translator, to_float(inputs[i:i + 1])))  # (1, C_out, H, W)
    return torch.cat(out) if out else torch.empty(0, translator.out_channels, *inputs.shape[2:])


# ----------------------------------------------------------------------------- scores


def paired_scores(outputs: Tensor, targets: Tensor, metrics=PAIRED_METRICS) -> dict[str, Tensor]:
    """Per-pair scores {name: (N,) float64} of outputs against targets, each (N, C, H, W) float in
    [-1, 1] or uint8 (see :mod:`ganforge.metrics.image_quality`). Float outputs are rounded to
    8-bit levels first, as in the saved pictures."""
    if outputs.is_floating_point():  # the 8-bit levels a saved picture holds, exactly as uint8
        outputs = outputs.double().clamp(-1, 1).add(1).mul(127.5).round().to(torch.uint8)
    return {m: _PER_IMAGE[m](outputs, targets) for m in metrics}


def summary(values: Tensor) -> dict:
    """Mean, std, min, max and count of per-pair scores (non-finite PSNRs counted apart)."""
    v = values.double()
    finite = v[torch.isfinite(v)]
    out = {"mean": float(v.mean()), "n_pairs": int(v.numel())}
    if finite.numel():
        out.update(std=float(finite.std()) if finite.numel() > 1 else 0.0, min=float(finite.min()),
                   max=float(finite.max()))
    if finite.numel() < v.numel():
        out["n_identical"] = int(v.numel() - finite.numel())  # PSNR +inf: output equals target
    return out


def check_translation_metrics(names, paired: bool = True) -> list[str]:
    """Validate metric names for a translator (paired test data or not); default: all that apply."""
    if not names:
        return list(TRANSLATION_METRICS) if paired else list(FEATURE_METRICS)
    for n in names:
        if n not in TRANSLATION_METRICS:
            raise ConfigError(f"unknown metric {n!r} for a translator; valid metrics: {', '.join(TRANSLATION_METRICS)}")
        if n in PAIRED_METRICS and not paired:
            raise ConfigError(f"metric {n!r} compares each output with its target, but this run's test data is "
                              f"unpaired; valid here: {', '.join(FEATURE_METRICS)}")
    return list(dict.fromkeys(names))


def score_test_set(outputs: Tensor, test: TestSet, metrics, *, extractors=(), seed: int = 0, step: int = 0,
                   extra: dict | None = None, progress: bool = False) -> list[dict]:
    """The ``metrics.jsonl`` lines of one direction: ``outputs`` (N, C_out, H, W) in [-1, 1] are
    G(test.inputs). ``extractors``: feature extractors for fid/kid (the test targets are the
    reference). ``extra`` is merged into every provenance (checkpoint, ema, ...)."""
    n = outputs.shape[0]
    h, w = outputs.shape[2:]
    c = outputs.shape[1]
    base = {"direction": test.direction, "n_pairs": n if test.paired else None,
            "inputs_sha256": tensor_sha256(test.inputs), "dataset_sha256": test.source_hash or None,
            "checkpoint_step": int(step), **(extra or {})}
    kind = "test targets" if test.paired else "test images of the target domain"
    reference = f"{test.dataset}: {len(test.targets)} {kind} ({test.direction}, {w}x{h}x{c})"
    ref_hash = tensor_sha256(test.targets)
    lines = []
    paired = [m for m in metrics if m in PAIRED_METRICS]
    if paired:
        scores = paired_scores(outputs, test.targets, paired)
        prov = provenance(n_fake=n, n_real=len(test.targets), features="none (pixels)", features_sha256=None,
                          reference=reference, reference_sha256=ref_hash,
                          resize=f"none: outputs and targets compared at {w}x{h}", seed=seed,
                          conventions=CONVENTIONS, **base)
        for m in paired:
            s = summary(scores[m])
            lines.append(metric_line(step, f"{m}_{test.direction}", s["mean"], s, prov))
    feature = [m for m in metrics if m in FEATURE_METRICS]
    for ext in extractors if feature else ():
        real_f = ext(test.targets.float().div(127.5).sub(1), progress=progress)  # (N_t, dim)
        fake_f = ext(outputs, progress=progress)  # (N, dim)
        prov = provenance(n_fake=n, n_real=real_f.shape[0], reference=reference, reference_sha256=ref_hash,
                          seed=seed, **ext.provenance(), **base)
        suffix = "" if ext.name == "inception" else f"_{ext.name}"
        if "fid" in feature:
            lines.append(metric_line(step, f"fid{suffix}_{test.direction}", fid_from_features(real_f, fake_f), {},
                                     prov))
        if "kid" in feature:
            kid = kernel_inception_distance(real_f, fake_f, seed=seed)
            lines.append(metric_line(step, f"kid{suffix}_{test.direction}", kid.mean, kid.to_dict(), prov))
    return lines


# ----------------------------------------------------------------------------- a run


def evaluate_translator_checkpoints(run_dir, cfg, paths: list[Path], metrics=None, *, write: bool = True,
                                    data_dir=None, n: int | None = None, seed: int = 0, ema: bool = True,
                                    features=None, inception_path=None, download: bool = True,
                                    progress: bool = False, n_real=None, reference_split=None,
                                    use_cache: bool = True) -> list[dict]:
    """``ganforge eval`` on a pix2pix or CycleGAN run: score each checkpoint in ``paths`` on the
    run's test split (the first ``n`` pairs; all by default) and append the lines to
    ``run_dir/metrics.jsonl``. ``features``: extractor names for fid/kid (default inception).
    ``use_cache`` is accepted for the GAN evaluation's signature: test targets are few, their
    features are computed each time."""
    from ganforge.engine.generator import checkpoint_step, load_translator
    from ganforge.metrics.record import append_metrics

    if n_real is not None or reference_split is not None:
        raise ConfigError("a translator is scored against its test split's targets; --n-real and "
                          "--reference-split do not apply")
    if n is not None and n < 2:
        raise ConfigError(f"-n must be at least 2 test pairs, got {n}")
    names = [f.strip() for f in features] if features else ["inception"]
    for f in names:
        if f not in FEATURE_SETS:
            raise ConfigError(f"unknown feature extractor {f!r}; valid: {', '.join(FEATURE_SETS)}")
    tests = load_test_sets(cfg, limit=n or 0, data_dir=data_dir)
    chosen = check_translation_metrics(metrics, paired=all(t.paired for t in tests))
    extractors = []
    if any(m in FEATURE_METRICS for m in chosen):
        extractors = [get_extractor(f, channels=tests[0].targets.shape[1], inception_path=inception_path,
                                    download=download) for f in names]
    all_lines = []
    for path in paths:
        step = checkpoint_step(path)
        lines = []
        for test in tests:
            if test.inputs.shape[0] < 2 and any(m in FEATURE_METRICS for m in chosen):
                raise DataError(f"fid and kid need at least 2 test images; {test.dataset} has {test.inputs.shape[0]}")
            translator = load_translator(path, test.direction, ema=ema)
            used_ema = ema and any(p.name.endswith("_ema.safetensors") for p in Path(path).iterdir())
            outputs = translate_test_inputs(translator, test.inputs, seed)
            lines += score_test_set(outputs, test, chosen, extractors=extractors, seed=seed, step=step,
                                    extra={"checkpoint": Path(path).name, "ema": used_ema}, progress=progress)
        if write:
            append_metrics(run_dir, lines)
        all_lines += lines
    return all_lines


# ----------------------------------------------------------------------------- report


def test_triplets(run_dir, n: int = 8, seed: int = 0, data_dir=None) -> list[tuple[str, list[tuple[Tensor, ...]]]]:
    """Pictures of the latest checkpoint on the first ``n`` test images, per direction:
    (title, rows), each row (input, output, target) as (C, H, W) in [-1, 1]; with unpaired test
    data (CycleGAN) the third image is the translation back (the cycle). Raises a one-line
    GanforgeError when the run, its checkpoint or its test data is not available."""
    from ganforge.data.paired import to_float
    from ganforge.engine.generator import load_translator
    from ganforge.engine.rundir import read_run_config, run_checkpoint

    cfg = read_run_config(run_dir)
    path = run_checkpoint(run_dir)
    out = []
    for test in load_test_sets(cfg, limit=n, data_dir=data_dir):
        translator = load_translator(path, test.direction)
        inputs = test.inputs[:n]
        outputs = translate_test_inputs(translator, inputs, seed)
        if test.paired:
            third, title = to_float(test.targets[:n]), f"{test.direction}: input | output | target"
        else:
            back = load_translator(path, "BtoA" if test.direction == "AtoB" else "AtoB")
            third = translate_test_inputs(back, outputs.add(1).mul(127.5).round().to(torch.uint8), seed)
            title = f"{test.direction}: input | output | translated back"
        out.append((title, list(zip(to_float(inputs), outputs, third))))
    return out

"""Inpainting on the test split: the adversarial model against the same U-Net without D, and zero-fill.

Scores the latest checkpoint (G_ema when kept) of each run given, on the first ``--n`` test images
of the run's dataset under the fixed "test" mask set of the run's mask kind
(:func:`ganforge.data.masks.fixed_masks`), known pixels pasted back:

* PSNR and L1 inside the hole (per image on [0, 1], averaged; :mod:`ganforge.metrics.inpainting`);
* FID and KID of the completed images against the same test images uncompleted (Inception
  features for photographs, the bundled MNIST classifier's for digits);
* on MNIST, the bundled classifier's accuracy on the completed digits, beside zero-fill (the hole
  left black) and the untouched test digits.

    ganforge train --preset inpaint-mnist --out runs/inpaint-mnist
    ganforge train --preset inpaint-mnist-l1 --out runs/inpaint-mnist-l1
    python benchmarks/bench_inpainting.py runs/inpaint-mnist runs/inpaint-mnist-l1 --n 10000

Needs the data (``GANFORGE_DATA``) and, for photographs, the Inception weights.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from ganforge.config import Config
from ganforge.data import load_dataset
from ganforge.data.masks import coverage, fixed_masks
from ganforge.games.inpaint import composite
from ganforge.inpaint import complete, load_inpainter
from ganforge.metrics import inpainting
from ganforge.metrics.features import default_features, get_extractor


def test_set(run: Path, n: int):
    """(images (N, C, H, W) in [-1, 1], labels (N,) or None, masks (N, 1, H, W), config) of a run."""
    cfg = Config.from_dict(json.loads((run / "config.json").read_text()))
    cfg = cfg.with_overrides({"data.split": "test", "data.limit": n})
    data = load_dataset(cfg.data)
    x, labels = data.batch(torch.arange(len(data)))
    masks = fixed_masks(cfg.data.mask, len(x), *x.shape[-2:], "test", cfg.data.mask_size)
    return x, labels, masks, cfg


def training_seconds(run: Path) -> float | None:
    lines = [json.loads(s) for s in (run / "stats.jsonl").read_text().splitlines() if s.strip()]
    return lines[-1].get("time") if lines else None


def score(name: str, completed, x, labels, masks, extractor, real_features, digits: bool) -> dict:
    row = {"model": name, **inpainting.pixel_scores(completed, x, masks)}
    row.update(inpainting.distribution_scores(extractor, completed, real_features))
    if digits and labels is not None:
        row["accuracy"] = inpainting.digit_accuracy(completed, labels)
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("runs", nargs="+", type=Path, help="inpaint run directories (the first sets the test data)")
    ap.add_argument("--n", type=int, default=1000, help="test images (default 1000)")
    ap.add_argument("--no-zero-fill", action="store_true", help="skip the zero-fill row (saves a feature pass)")
    args = ap.parse_args()
    x, labels, masks, cfg = test_set(args.runs[0], args.n)
    digits = cfg.data.name == "mnist"
    extractor = get_extractor(default_features(x.shape[1:], cfg.data.name), x.shape[1])
    t = time.perf_counter()
    real_features = extractor(x)
    print(f"{len(x)} test images of {cfg.data.name}, mask {cfg.data.mask} (hidden {float(coverage(masks).mean()):.1%}), "
          f"features {extractor.name} ({time.perf_counter() - t:.0f} s for the real set)")
    rows = []
    if digits:
        rows.append({"model": "untouched test digits", "accuracy": inpainting.digit_accuracy(x, labels)})
    if not args.no_zero_fill:
        rows.append(score("zero-fill", inpainting.zero_fill(x, masks), x, labels, masks, extractor, real_features,
                          digits))
    for run in args.runs:
        run_cfg = Config.from_dict(json.loads((run / "config.json").read_text()))
        if (run_cfg.data.name, run_cfg.data.mask, run_cfg.data.mask_size) != (cfg.data.name, cfg.data.mask,
                                                                             cfg.data.mask_size):
            raise SystemExit(f"{run} was trained on another task than {args.runs[0]}")
        inpainter = load_inpainter(run)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            completed = composite(complete(inpainter, x, masks), x, masks)
        row = score(run.name, completed, x, labels, masks, extractor, real_features, digits)
        row["train_s"] = training_seconds(run)
        row["gan_weight"] = run_cfg.loss.gan_weight
        rows.append(row)
    keys = ["model", "accuracy", "hole_psnr", "hole_l1", "fid", "kid", "train_s"]
    print("| " + " | ".join(keys) + " |")
    print("|" + "---|" * len(keys))
    for row in rows:
        cells = []
        for k in keys:
            v = row.get(k)
            cells.append("" if v is None else f"{v:.4g}" if isinstance(v, float) else str(v))
        print("| " + " | ".join(cells) + " |")
    print(json.dumps(rows, default=str))


if __name__ == "__main__":
    main()

"""Super-resolution x4 on ganforge's fixed SR test set: bicubic, the PSNR model and the GAN.

Scores every method the field's way (:mod:`ganforge.metrics.restoration`): PSNR and SSIM on the
Y channel (BT.601) with a border crop equal to the scale, averaged per image, for each part of the
test set (the 7 scikit-image photographs, the 106 facades test photos) and for all images; then
FID and KID of Inception features of a fixed, seeded set of 64x64 patches of the outputs against
the same patches of the HR images ("patch FID"). LR inputs are made by the "bicubic" degradation.

    python benchmarks/bench_restoration.py runs/sr-psnr-x4 runs/srgan-x4
    python benchmarks/bench_restoration.py runs/sr-psnr-x4 --patches 300 --facades 40
    python benchmarks/bench_restoration.py runs/srgan-x4 --no-ema      # G itself, not its moving average

Needs the Inception weights for FID/KID (``GANFORGE_DATA`` or the cache) and, for the facades
part, the facades data; the scikit-image part needs nothing.
"""

from __future__ import annotations

import argparse
import time

import torch

from ganforge.data.degrade import Degradation, bicubic_up
from ganforge.data.paired import to_float
from ganforge.data.restoration import sr_test_set
from ganforge.metrics.frechet import fid_from_features
from ganforge.metrics.kid import kernel_inception_distance
from ganforge.metrics.restoration import image_patches, psnr_y, ssim_y
from ganforge.upscale import load_upscaler, upscale_tensor

PATCH = 64


def run_method(upscale, test, scale: int) -> tuple[list[torch.Tensor], dict[str, list[float]], float]:
    """Upscale every test image's LR input; per-image PSNR-Y and SSIM-Y; seconds spent upscaling."""
    degrade = Degradation(scale, "bicubic")
    outputs, scores, spent = [], {"psnr": [], "ssim": []}, 0.0
    for item in test:
        hr = to_float(item.hr[None])  # (1, C, H, W) in [-1, 1]
        lr = degrade(hr)  # (1, C, H / s, W / s) on 8-bit levels
        start = time.perf_counter()
        sr = upscale(lr)  # (1, C, H, W)
        spent += time.perf_counter() - start
        scores["psnr"].append(float(psnr_y(sr, hr, border=scale)[0]))
        scores["ssim"].append(float(ssim_y(sr, hr, border=scale)[0]))
        outputs.append(sr[0])
    return outputs, scores, spent


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="*", help="super-resolution run directories to score beside bicubic")
    parser.add_argument("--patches", type=int, default=500, help="64x64 patches for patch FID/KID (0 = no FID)")
    parser.add_argument("--facades", type=int, default=0, help="facades test photos to use (0 = all 106)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the patch choice")
    parser.add_argument("--no-ema", action="store_true", help="score each run's G rather than its moving average")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)

    methods = {"bicubic": (None, 4)}
    for run in args.runs:
        upscaler = load_upscaler(run, ema=not args.no_ema)
        methods[run] = (upscaler, upscaler.scale)
    scales = {s for _, s in methods.values()}
    if len(scales) != 1:
        raise SystemExit(f"the runs upscale by different factors {sorted(scales)}; score one factor at a time")
    scale = scales.pop()
    test = sr_test_set(scale, ("skimage",)) + sr_test_set(scale, ("facades",), limit=args.facades)
    parts = sorted({t.name.split("/")[0] for t in test}, reverse=True)
    print(f"SR x{scale} test set: {len(test)} images ({', '.join(f'{p} {sum(t.name.startswith(p) for t in test)}' for p in parts)})")

    hr_images = [to_float(t.hr[None])[0] for t in test]
    extractor = hr_features = None
    if args.patches:
        from ganforge.metrics.features import get_extractor

        extractor = get_extractor("inception", 3)
        hr_features = extractor(image_patches(hr_images, PATCH, args.patches, args.seed))

    rows = []
    for name, (upscaler, _) in methods.items():
        upscale = (lambda lr: bicubic_up(lr, scale)) if upscaler is None else (lambda lr, u=upscaler: upscale_tensor(u, lr))
        outputs, scores, spent = run_method(upscale, test, scale)
        row = {"method": name, "seconds": spent}
        for part in parts:
            idx = [i for i, t in enumerate(test) if t.name.startswith(part + "/")]
            row[f"psnr_{part}"] = sum(scores["psnr"][i] for i in idx) / len(idx)
            row[f"ssim_{part}"] = sum(scores["ssim"][i] for i in idx) / len(idx)
        row["psnr_all"] = sum(scores["psnr"]) / len(test)
        row["ssim_all"] = sum(scores["ssim"]) / len(test)
        if extractor is not None:
            features = extractor(image_patches(outputs, PATCH, args.patches, args.seed))
            row["fid"] = fid_from_features(hr_features, features)
            row["kid"] = kernel_inception_distance(hr_features, features, seed=args.seed).mean
        rows.append(row)
        print(f"scored {name} ({spent:.1f} s upscaling)", flush=True)

    cols = [f"psnr_{p}" for p in parts] + ["psnr_all"] + [f"ssim_{p}" for p in parts] + ["ssim_all"]
    cols += ["fid", "kid"] if extractor is not None else []
    print()
    print("| method | " + " | ".join(cols) + " |")
    print("|---|" + "---|" * len(cols))
    for row in rows:
        cells = [f"{row[c]:.2f}" if c.startswith(("psnr", "fid")) else f"{row[c]:.4f}" for c in cols]
        print(f"| {row['method']} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()

"""Benchmark: time to compute FID on 10k samples, and agreement of our Fréchet distance with scipy.

Usage:
    GANFORGE_DATA=/path/to/data python benchmarks/bench_fid.py [--n 10000] [--inception-n 500] [--threads 2]

"Samples" are the 10,000 MNIST test digits (standing in for generated images, so no trained model
is needed); the reference is a 10,000-image subset of MNIST train, whose features are computed
once (``ganforge eval`` caches them by dataset hash). The time measured is the per-evaluation cost:
features of the samples, their mean and covariance, and the Fréchet distance.

Inception on the CPU runs at a few images per second, so by default it is timed on
``--inception-n`` images and the 10k time is extrapolated from that throughput (the table says
so); pass ``--inception-n 10000`` to time it in full.

Agreement: the Fréchet distance of ganforge (eigendecomposition, float64) against the textbook
formula with ``scipy.linalg.sqrtm`` in float64, on the real feature sets above (128-d MNIST
classifier features, 10k vs 10k; 2048-d Inception features of ``--inception-n`` images, where
n < 2048 makes both covariances singular), and on the singular case against scipy restricted to
the joint support of the two feature sets (where the covariances are well conditioned).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import scipy.linalg
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from ganforge.data.idx import read_idx_pair  # noqa: E402
from ganforge.metrics.features import inception_extractor, mnist_extractor  # noqa: E402
from ganforge.metrics.frechet import frechet_distance, gaussian_stats  # noqa: E402


def scipy_fd(mu1, s1, mu2, s2) -> float:
    """The textbook Fréchet distance with scipy.linalg.sqrtm, float64."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        covmean = scipy.linalg.sqrtm(s1 @ s2).real
    d = mu1 - mu2
    return float(d @ d + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def scipy_fd_on_support(a: np.ndarray, b: np.ndarray) -> float:
    """scipy reference in an orthonormal basis of the joint support of two centred feature sets."""
    mu1, mu2 = a.mean(0), b.mean(0)
    q = scipy.linalg.orth(np.concatenate([a - mu1, b - mu2]).T)  # (d, r)
    s1, s2 = np.cov(a @ q, rowvar=False), np.cov(b @ q, rowvar=False)
    d = mu1 - mu2
    return float(d @ d + np.trace(s1) + np.trace(s2) - 2 * np.trace(scipy.linalg.sqrtm(s1 @ s2).real))


def load(folder: Path, split: str) -> torch.Tensor:
    images, _ = read_idx_pair(folder / f"{split}-images-idx3-ubyte.gz", folder / f"{split}-labels-idx1-ubyte.gz")
    return torch.from_numpy(images.copy()).float().div(127.5).sub(1)  # (N, 1, 28, 28) in [-1, 1]


def time_fid(extractor, samples: torch.Tensor, ref_stats) -> tuple[float, float, float]:
    """(seconds for features, seconds for stats + Fréchet distance, FID)."""
    t0 = time.perf_counter()
    f = extractor(samples)
    t1 = time.perf_counter()
    mu, sigma = gaussian_stats(f)
    fid = frechet_distance(mu, sigma, *ref_stats)
    return t1 - t0, time.perf_counter() - t1, fid


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=10000, help="samples per FID (default 10000)")
    ap.add_argument("--inception-n", type=int, default=500, help="images actually run through Inception")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--data", default=os.environ.get("GANFORGE_DATA", ""), help="folder with mnist/ and inception/")
    args = ap.parse_args(argv)
    if not args.data:
        print("set GANFORGE_DATA or pass --data", file=sys.stderr)
        return 2
    os.environ["GANFORGE_DATA"] = args.data
    torch.set_num_threads(args.threads)
    mnist = Path(args.data) / "mnist"
    samples = load(mnist, "t10k")[: args.n]
    ref = load(mnist, "train")[torch.randperm(60000, generator=torch.Generator().manual_seed(0))[: args.n]]
    noisy = (samples + 0.3 * torch.randn(samples.shape, generator=torch.Generator().manual_seed(1))).clamp(-1, 1)
    rows, agreement = [], []

    # MNIST-classifier features: everything at full size
    ext = mnist_extractor()
    ref_f = ext(ref)
    ref_stats = gaussian_stats(ref_f)
    t_feat, t_fd, fid = time_fid(ext, samples, ref_stats)
    rows.append(("mnist (128-d)", args.n, f"{t_feat:.1f}", f"{t_fd:.2f}", f"{t_feat + t_fd:.1f}", "measured", f"{fid:.3f}"))
    for name, x in (("test vs train", samples), ("noisy test vs train", noisy)):
        a, b = ext(x).double().numpy(), ref_f.double().numpy()
        ours = frechet_distance(*gaussian_stats(a), *gaussian_stats(b))
        ref_val = scipy_fd(*gaussian_stats(a), *gaussian_stats(b))
        agreement.append((f"mnist 128-d, {name}, {len(a)} vs {len(b)}", ours, ref_val, "scipy sqrtm, full"))

    # Inception: timed on inception-n images, extrapolated to n
    m = min(args.inception_n, args.n)
    inc = inception_extractor(download=False, batch=50)
    t0 = time.perf_counter()
    ref_inc = inc(ref[:m])
    t_ref = time.perf_counter() - t0
    inc_stats = gaussian_stats(ref_inc)
    t_feat, t_fd, fid = time_fid(inc, samples[:m], inc_stats)
    # the Fréchet distance at 2048-d costs the same whatever n is; time it on full-rank stats too
    full = np.random.default_rng(0).normal(size=(4096, 2048))
    mu_a, s_a = gaussian_stats(full[:2048])
    mu_b, s_b = gaussian_stats(full[2048:])
    t0 = time.perf_counter()
    frechet_distance(mu_a, s_a, mu_b, s_b)
    t_fd2048 = time.perf_counter() - t0
    per_image = 0.5 * (t_feat / m + t_ref / m)
    how = "measured" if m == args.n else f"extrapolated from {m} images ({1 / per_image:.1f} img/s)"
    rows.append(("inception (2048-d)", args.n, f"{per_image * args.n:.0f}", f"{t_fd2048:.2f}",
                 f"{per_image * args.n + t_fd2048:.0f}", how, f"{fid:.3f} (n={m})"))
    a, b = inc(samples[:m]).double().numpy(), ref_inc.double().numpy()
    ours = frechet_distance(*gaussian_stats(a), *gaussian_stats(b))
    agreement.append((f"inception 2048-d, test vs train, {m} vs {m} (singular)", ours,
                      scipy_fd(*gaussian_stats(a), *gaussian_stats(b)), "scipy sqrtm, full"))
    agreement.append((f"inception 2048-d, test vs train, {m} vs {m} (singular)", ours,
                      scipy_fd_on_support(a, b), "scipy sqrtm on joint support"))

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch threads {args.threads}, "
          f"torch {torch.__version__}")
    print("\n| features | samples | features (s) | stats + Fréchet (s) | total (s) | how | FID |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print("| " + " | ".join(str(c) for c in r) + " |")
    print("\n| feature sets | ganforge | scipy reference | reference | relative difference |")
    print("|---|---|---|---|---|")
    for name, ours, ref_val, how in agreement:
        print(f"| {name} | {ours:.10g} | {ref_val:.10g} | {how} | {abs(ours - ref_val) / abs(ref_val):.1e} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

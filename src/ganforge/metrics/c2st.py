"""Classifier two-sample test (C2ST; Lopez-Paz & Oquab 2017, "Revisiting classifier two-sample tests").

A *fresh* classifier, never seen by the game, is trained to tell real from generated samples on one
half of each set and scored on the other half. When the two distributions are equal no classifier
can beat chance, so the number of correct held-out answers is Binomial(n, 1/2): the held-out
accuracy comes with a confidence interval (Wilson score, Wilson 1927) and an exact one-sided
binomial p-value against 1/2. An accuracy near 1/2 says the classifier cannot tell the two sets
apart; near 1 says G's samples are easy to spot, whatever the game's own D answers.

The core, :func:`c2st`, takes two (n, d) feature matrices, so any kind of sample (points, images,
table rows, molecule fingerprints) works once it is turned into feature rows; :func:`featurize`
does that for points and images, on raw values or on the feature extractors of
:mod:`ganforge.metrics.features`, and :func:`c2st_samples` chains the two.

Two classifiers, both deterministic for a fixed seed:

* ``mlp``: two hidden layers of 64 ReLU units trained full-batch with Adam (the neural-network C2ST
  of Lopez-Paz & Oquab); the default.
* ``knn``: majority vote of the k nearest training samples, k the odd number nearest sqrt(n_train)
  (the nearest-neighbour two-sample tests of Friedman & Rafsky 1979 and Schilling 1986; the k-NN
  C2ST of Lopez-Paz & Oquab). Milliseconds on 2D points: what the lab refreshes while training.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch

from ganforge.errors import ConfigError

CLASSIFIERS = ("mlp", "knn")
FEATURIZERS = ("raw", "mnist", "inception")
MLP_WIDTH = 64  # hidden units per layer of the MLP classifier
MLP_STEPS = 300  # full-batch Adam steps
MLP_LR = 1e-2
MLP_WEIGHT_DECAY = 1e-4  # a little L2 keeps the held-out accuracy from suffering on small sets
MAX_PER_SIDE = 2500  # samples of each set used at most (a seeded subset): bounds the cost on large sets
MAX_LEVELS = 256  # real data with at most this many distinct values is treated as quantised (images)


@dataclass
class C2ST:
    """The verdict of a fresh classifier on real against generated samples."""

    accuracy: float  # fraction of held-out samples (half real, half generated) classified correctly
    ci_low: float  # Wilson score interval of the accuracy at ``confidence``
    ci_high: float
    p_value: float  # one-sided exact binomial P(accuracy >= observed | chance = 1/2)
    n_test: int  # held-out samples scored (real + generated, equal numbers)
    n_train: int  # samples the classifier was trained on (real + generated, equal numbers)
    classifier: str  # which classifier, with its settings
    seed: int  # seed of the subsets, the split and the classifier's initialisation
    confidence: float  # level of the interval

    def to_dict(self) -> dict:
        return asdict(self)

    def separates(self, at_least: float = 0.7, alpha: float = 1e-3) -> bool:
        """True when the classifier tells the sets apart: significant at ``alpha`` and the interval's
        lower end at or above ``at_least``."""
        return self.p_value < alpha and self.ci_low >= at_least


def wilson_interval(correct: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion ``correct / n`` (Wilson 1927).

    Unlike the normal approximation it stays inside [0, 1] and keeps its coverage near 0 and 1,
    where a good classifier's accuracy lives.
    """
    from scipy.stats import norm

    if n <= 0:
        return 0.0, 1.0
    z = float(norm.ppf(0.5 + confidence / 2))
    p = correct / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def binomial_p_value(correct: int, n: int) -> float:
    """P(X >= correct) for X ~ Binomial(n, 1/2): the exact one-sided p-value against chance."""
    from scipy.stats import binom

    return float(binom.sf(correct - 1, n, 0.5)) if n > 0 else 1.0


def _split(n: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """A seeded permutation of range(n) cut into a training half and a held-out half."""
    perm = torch.randperm(n, generator=gen)
    return perm[: n // 2], perm[n // 2 :]


def _knn_predict(x_train: torch.Tensor, y_train: torch.Tensor, x_test: torch.Tensor, k: int,
                 chunk: int = 2048) -> torch.Tensor:
    """Majority vote (n_test,) of the ``k`` nearest training rows; k is odd, so there are no ties."""
    out = []
    for i in range(0, x_test.shape[0], chunk):
        d = torch.cdist(x_test[i : i + chunk], x_train)  # (c, n_train)
        idx = d.topk(k, dim=1, largest=False).indices  # (c, k)
        out.append((y_train[idx].sum(1) * 2 > k).float())  # (c,) 1 = "real"
    return torch.cat(out)


def _mlp_predict(x_train: torch.Tensor, y_train: torch.Tensor, x_test: torch.Tensor,
                 gen: torch.Generator) -> torch.Tensor:
    """Train a d-64-64-1 ReLU MLP on (x_train, y_train) with a private generator; predict x_test.

    The weights are plain tensors initialised from ``gen`` (PyTorch's default uniform fan-in
    bound), so the process-wide RNG is never touched: watching a run does not change it.
    """
    d = x_train.shape[1]
    sizes = [(d, MLP_WIDTH), (MLP_WIDTH, MLP_WIDTH), (MLP_WIDTH, 1)]
    params = []
    for fan_in, fan_out in sizes:
        bound = 1.0 / math.sqrt(fan_in)
        params.append((torch.rand(fan_in, fan_out, generator=gen, dtype=torch.float32) * 2 - 1) * bound)
        params.append((torch.rand(fan_out, generator=gen, dtype=torch.float32) * 2 - 1) * bound)
    params = [p.requires_grad_(True) for p in params]

    def forward(x):  # (n, d) -> (n,) logits
        h = torch.relu(x @ params[0] + params[1])  # (n, 64)
        h = torch.relu(h @ params[2] + params[3])  # (n, 64)
        return (h @ params[4] + params[5]).squeeze(1)  # (n,)

    opt = torch.optim.Adam(params, lr=MLP_LR, weight_decay=MLP_WEIGHT_DECAY)
    for _ in range(MLP_STEPS):
        opt.zero_grad(set_to_none=True)
        loss = torch.nn.functional.binary_cross_entropy_with_logits(forward(x_train), y_train)
        loss.backward()
        opt.step()
    with torch.no_grad():
        return (forward(x_test) > 0).float()


def c2st(real: torch.Tensor, fake: torch.Tensor, classifier: str = "mlp", seed: int = 0,
         confidence: float = 0.95, max_per_side: int = MAX_PER_SIDE) -> C2ST:
    """Classifier two-sample test of feature rows ``real`` (n, d) against ``fake`` (m, d).

    Both sets are cut to the same size (at most ``max_per_side``, a seeded subset), so chance is
    exactly 1/2; each is split in halves (training, held out). Features are centred on the training
    mean and divided by one global scale (the RMS of the centred training rows), which keeps the
    relative scales of the features and never divides by a constant feature's zero spread.
    Deterministic for a fixed ``seed`` on a given machine and thread count.
    """
    if classifier not in CLASSIFIERS:
        from ganforge.errors import unknown_name

        raise unknown_name("C2ST classifier", classifier, CLASSIFIERS)
    real = real.detach().float().cpu().flatten(1)  # (n, d)
    fake = fake.detach().float().cpu().flatten(1)  # (m, d)
    if real.shape[1] != fake.shape[1]:
        raise ConfigError(f"C2ST needs real and generated features of the same width, got "
                          f"{real.shape[1]} and {fake.shape[1]}")
    n = min(real.shape[0], fake.shape[0], max_per_side)
    if n < 4:
        raise ConfigError(f"C2ST needs at least 4 real and 4 generated samples, got {real.shape[0]} and {fake.shape[0]}")
    gen = torch.Generator().manual_seed(int(seed))
    real = real[torch.randperm(real.shape[0], generator=gen)[:n]]  # (n, d)
    fake = fake[torch.randperm(fake.shape[0], generator=gen)[:n]]  # (n, d)
    (r_tr, r_te), (f_tr, f_te) = _split(n, gen), _split(n, gen)
    x_train = torch.cat([real[r_tr], fake[f_tr]])  # (n_train, d)
    y_train = torch.cat([torch.ones(len(r_tr)), torch.zeros(len(f_tr))])  # (n_train,) 1 = real
    x_test = torch.cat([real[r_te], fake[f_te]])  # (n_test, d)
    y_test = torch.cat([torch.ones(len(r_te)), torch.zeros(len(f_te))])  # (n_test,)
    mean = x_train.mean(0, keepdim=True)  # (1, d)
    scale = float((x_train - mean).pow(2).sum(1).mean().sqrt()) / math.sqrt(x_train.shape[1])
    scale = scale if scale > 0 else 1.0
    x_train, x_test = (x_train - mean) / scale, (x_test - mean) / scale
    with torch.inference_mode(False), torch.enable_grad():  # callers may be in no_grad (the lab's worker)
        if classifier == "knn":
            k = max(1, round(math.sqrt(x_train.shape[0])))
            k += 1 - k % 2  # odd: a binary vote never ties
            pred = _knn_predict(x_train, y_train, x_test, k)
            name = f"knn (k={k}, Euclidean on centred, globally scaled features)"
        else:
            pred = _mlp_predict(x_train.clone(), y_train, x_test, gen)
            name = (f"mlp ({MLP_WIDTH}-{MLP_WIDTH} ReLU, {MLP_STEPS} full-batch Adam steps, lr {MLP_LR}, "
                    f"weight decay {MLP_WEIGHT_DECAY})")
    correct = int((pred == y_test).sum())
    n_test = int(y_test.numel())
    lo, hi = wilson_interval(correct, n_test, confidence)
    return C2ST(accuracy=correct / n_test, ci_low=lo, ci_high=hi, p_value=binomial_p_value(correct, n_test),
                n_test=n_test, n_train=int(y_train.numel()), classifier=name, seed=int(seed), confidence=confidence)


# ----------------------------------------------------------------------------- samples -> features


def quantize_like(fake: torch.Tensor, real: torch.Tensor, max_levels: int = MAX_LEVELS) -> tuple[torch.Tensor, int]:
    """Round ``fake`` to the nearest value ``real`` takes when ``real`` takes at most ``max_levels``
    distinct values (8-bit images: 256; scikit-learn's digits: 17), each of them on average at least
    4 times (a small continuous set has few values too, but no repeats); otherwise unchanged.

    Real images hold a few grey levels and G's outputs are continuous, so without this a classifier
    could tell them apart by the rounding alone, which a saved picture would not show. Returns the
    rounded tensor and the number of levels (0 when nothing was rounded).
    """
    levels = torch.unique(real.detach().float().cpu())  # sorted (L,)
    if levels.numel() > max_levels or levels.numel() < 2 or real.numel() < 4 * levels.numel():
        return fake, 0
    f = fake.detach().float().cpu()
    idx = torch.bucketize(f, levels).clamp(1, levels.numel() - 1)  # right neighbour index, same shape as f
    lower, upper = levels[idx - 1], levels[idx]
    return torch.where(f - lower <= upper - f, lower, upper), int(levels.numel())


def featurize(real: torch.Tensor, fake: torch.Tensor, featurizer: str = "raw", device="cpu",
              inception_path=None, download: bool = True) -> tuple[torch.Tensor, torch.Tensor, dict]:
    """Feature rows (n, d), (m, d) of real and generated samples, and their provenance fields.

    ``raw``: the values themselves (points as they are; images' pixels, the generated ones first
    rounded to the real data's grey levels, see :func:`quantize_like`). ``mnist`` / ``inception``:
    the extractors of :mod:`ganforge.metrics.features` (images only; they round to 8 bits themselves).
    Table rows or molecule fingerprints are already feature rows: pass them to :func:`c2st`.
    """
    if featurizer not in FEATURIZERS:
        from ganforge.errors import unknown_name

        raise unknown_name("C2ST featurizer", featurizer, FEATURIZERS)
    images = real.ndim == 4
    if featurizer == "raw":
        if not images:
            return real.flatten(1), fake.flatten(1), {"features": "identity (raw points)", "features_sha256": None,
                                                      "resize": "none"}
        fake, levels = quantize_like(fake, real)
        how = f"generated pixels rounded to the {levels} values the real images take" if levels else "not rounded"
        return real.flatten(1), fake.flatten(1), {"features": f"raw pixels ({how})", "features_sha256": None,
                                                  "resize": "none"}
    if not images:
        raise ConfigError(f"C2ST featurizer {featurizer!r} needs images; points use 'raw'")
    from ganforge.metrics.features import get_extractor

    ext = get_extractor(featurizer, channels=real.shape[1], inception_path=inception_path, device=device,
                        download=download)
    prov = ext.provenance()
    return ext(real), ext(fake), {k: prov[k] for k in ("features", "features_sha256", "resize") if k in prov}


def c2st_samples(real: torch.Tensor, fake: torch.Tensor, featurizer: str = "raw", classifier: str = "mlp",
                 seed: int = 0, **kwargs) -> tuple[C2ST, dict]:
    """:func:`featurize` then :func:`c2st`: the verdict and the features' provenance fields."""
    real_f, fake_f, prov = featurize(real, fake, featurizer, **kwargs)
    return c2st(real_f, fake_f, classifier=classifier, seed=seed), prov

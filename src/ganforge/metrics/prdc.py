"""Precision / recall (Kynkäänniemi et al. 2019) and density / coverage (Naeem et al. 2020).

Both approximate each sample set's support by the union of k-NN balls: around every sample, a
ball whose radius is the distance to its k-th nearest neighbour in the same set.

* precision: fraction of fakes inside the real manifold (fidelity);
* recall: fraction of reals inside the fake manifold (diversity);
* density: (1 / kM) sum_fake #(real balls containing it): like precision, but robust to real
  outliers and can exceed 1;
* coverage: fraction of reals whose ball contains at least one fake: like recall, but built on the
  real manifold only, so robust to fake outliers.

Kynkäänniemi et al. use k = 3; Naeem et al. recommend k = 5 for density and coverage. A ball is
open (distance < radius), as in the authors' code: a sample on a ball's edge is outside, so a
fake set equal to the real set has density exactly 1 (each real ball holds its centre and its
k - 1 nearer neighbours; a closed ball would also hold the k-th and give (k + 1) / k).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch

from ganforge.metrics.density import rows_per_chunk


@dataclass
class PRDC:
    precision: float
    recall: float
    density: float
    coverage: float
    k_pr: int  # k for precision/recall
    k_dc: int  # k for density/coverage

    def to_dict(self) -> dict:
        return asdict(self)


def knn_radii(x: torch.Tensor, k: int, chunk: int = 1024) -> torch.Tensor:
    """Distance of each row of ``x`` (n, d) to its k-th nearest other row -> (n,).

    Rows go in chunks of at most ``chunk``, fewer when n is large, so a block stays within
    :data:`~ganforge.metrics.density.MAX_PAIRS` entries.
    """
    out = []
    chunk = min(chunk, rows_per_chunk(x.shape[0]))
    for i in range(0, x.shape[0], chunk):
        d = torch.cdist(x[i : i + chunk], x)  # (c, n)
        out.append(d.kthvalue(k + 1, dim=1).values)  # the (k+1)-th smallest skips the 0 to itself
    return torch.cat(out)


def prdc(real_features: torch.Tensor, fake_features: torch.Tensor, k_pr: int = 3, k_dc: int = 5,
         chunk: int = 1024) -> PRDC:
    """Precision, recall, density and coverage of ``fake_features`` (m, d) against ``real_features`` (n, d).

    Float64, in chunks of at most ``chunk`` real rows (fewer when m is large), so memory stays
    O(MAX_PAIRS + n + m) whatever the sample counts.
    """
    real = real_features.detach().cpu().double()  # (n, d)
    fake = fake_features.detach().cpu().double()  # (m, d)
    n, m = real.shape[0], fake.shape[0]
    if min(n, m) <= max(k_pr, k_dc):
        raise ValueError(f"need more than k = {max(k_pr, k_dc)} samples in each set, got {n} real and {m} fake")
    r_real_pr, r_real_dc = knn_radii(real, k_pr, chunk), knn_radii(real, k_dc, chunk)  # (n,), (n,)
    r_fake_pr = knn_radii(fake, k_pr, chunk)  # (m,)
    fake_in_real = torch.zeros(m, dtype=torch.bool)  # precision: fake j inside some real ball
    density_count = torch.zeros(m, dtype=torch.float64)  # real balls (k_dc) containing fake j
    real_in_fake, real_covered = [], []  # recall and coverage, per real row
    chunk = min(chunk, rows_per_chunk(m))
    for i in range(0, n, chunk):
        d = torch.cdist(real[i : i + chunk], fake)  # (c, m)
        fake_in_real |= (d < r_real_pr[i : i + chunk, None]).any(dim=0)
        in_dc = d < r_real_dc[i : i + chunk, None]  # (c, m)
        density_count += in_dc.sum(dim=0)
        real_covered.append(in_dc.any(dim=1))
        real_in_fake.append((d < r_fake_pr[None, :]).any(dim=1))
    return PRDC(
        precision=float(fake_in_real.double().mean()),
        recall=float(torch.cat(real_in_fake).double().mean()),
        density=float(density_count.mean() / k_dc),
        coverage=float(torch.cat(real_covered).double().mean()),
        k_pr=k_pr,
        k_dc=k_dc,
    )

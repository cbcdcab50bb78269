"""Metrics of generated molecules (MolGAN's, De Cao and Kipf 2018, and GuacaMol's, Brown et al. 2019).

Given the generated SMILES (None or "INVALID" for a graph that is not a molecule) and the training
set's canonical SMILES:

* validity: valid / generated;
* uniqueness: distinct valid / valid;
* novelty: valid ones not in the training set / valid (MolGAN's definition);
* internal diversity: 1 - mean Tanimoto similarity of Morgan fingerprints (radius 2, 2048 bits)
  over pairs of distinct valid molecules (Benhenda 2017; at most ``max_pairs_mols`` of them);
* property distances: the 1-D Wasserstein distance between the generated valid molecules' and the
  reference molecules' QED, logP and SA;
* FCD (Preuer et al. 2018) when the ``fcd_torch`` package, which ships ChemNet's weights, is
  installed; otherwise the result says ``fcd_absent`` with the reason, and ``fcd`` is None.
"""

from __future__ import annotations

import math

import numpy as np

from ganforge.molecules import chem, require_rdkit

INVALID = "INVALID"


def _valid(smiles: list[str | None]) -> list[str]:
    return [s for s in smiles if s and s != INVALID and chem.is_valid(s)]


def canonical(smiles: str) -> str | None:
    """RDKit's canonical SMILES of ``smiles`` (None when invalid)."""
    mol = chem.mol_from_smiles(smiles)
    return require_rdkit().MolToSmiles(mol) if mol is not None else None


def validity(smiles: list[str | None]) -> float:
    """Fraction of generated entries that are valid, connected molecules."""
    return len(_valid(smiles)) / len(smiles) if smiles else math.nan


def uniqueness(smiles: list[str | None]) -> float:
    """Distinct valid molecules (by canonical SMILES) / valid molecules (NaN when none is valid)."""
    valid = [canonical(s) for s in _valid(smiles)]
    return len(set(valid)) / len(valid) if valid else math.nan


def novelty(smiles: list[str | None], training: set[str]) -> float:
    """Valid molecules whose canonical SMILES is not in ``training`` (canonical SMILES) / valid ones."""
    valid = [canonical(s) for s in _valid(smiles)]
    return sum(s not in training for s in valid) / len(valid) if valid else math.nan


def internal_diversity(smiles: list[str | None], max_mols: int = 1000, seed: int = 0) -> float:
    """1 - mean pairwise Tanimoto similarity of Morgan fingerprints among distinct valid molecules
    (a random ``max_mols`` of them when more; NaN with fewer than 2)."""
    require_rdkit()
    from rdkit import DataStructs
    from rdkit.Chem import rdFingerprintGenerator

    unique = sorted({canonical(s) for s in _valid(smiles)})
    if len(unique) < 2:
        return math.nan
    if len(unique) > max_mols:
        pick = np.random.default_rng(seed).choice(len(unique), max_mols, replace=False)
        unique = [unique[i] for i in sorted(pick)]
    gen = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048)
    fps = [gen.GetFingerprint(chem.mol_from_smiles(s)) for s in unique]
    total, pairs = 0.0, 0
    for i in range(len(fps) - 1):
        sims = DataStructs.BulkTanimotoSimilarity(fps[i], fps[i + 1:])
        total += sum(sims)
        pairs += len(sims)
    return 1.0 - total / pairs


def wasserstein_1d(a, b) -> float:
    """W1 between two samples of a real line: the integral of |F_a - F_b| (NaN if either is empty)."""
    a = np.sort(np.asarray([v for v in a if np.isfinite(v)], dtype=np.float64))
    b = np.sort(np.asarray([v for v in b if np.isfinite(v)], dtype=np.float64))
    if len(a) == 0 or len(b) == 0:
        return math.nan
    points = np.sort(np.concatenate([a, b]))
    widths = np.diff(points)  # the empirical CDFs are constant between consecutive points
    fa = np.searchsorted(a, points[:-1], side="right") / len(a)
    fb = np.searchsorted(b, points[:-1], side="right") / len(b)
    return float(np.sum(np.abs(fa - fb) * widths))


def fcd_distance(generated: list[str], reference: list[str]) -> tuple[float | None, str | None]:
    """(FCD, None) with ``fcd_torch`` installed, else (None, why it is absent)."""
    try:
        from fcd_torch import FCD
    except ImportError:
        return None, "fcd_torch is not installed (pip install fcd_torch ships ChemNet's weights)"
    if len(generated) < 2 or len(reference) < 2:
        return None, "fewer than 2 valid molecules"
    try:
        return float(FCD(device="cpu", n_jobs=1)(generated, reference)), None
    except Exception as exc:  # an fcd_torch release at odds with this numpy/scipy: say so, do not guess
        return None, f"fcd_torch failed: {type(exc).__name__}: {exc}"


def molecule_metrics(smiles: list[str | None], training: set[str], reference: list[str],
                     properties=("qed", "logp", "sa"), fcd: bool = True) -> dict:
    """Every metric of the module docstring for generated ``smiles`` against the training set
    (canonical SMILES, for novelty) and ``reference`` molecules (for properties and FCD)."""
    valid = [canonical(s) for s in _valid(smiles)]
    out = {"n_generated": len(smiles), "n_valid": len(valid), "validity": validity(smiles),
           "uniqueness": len(set(valid)) / len(valid) if valid else math.nan,
           "novelty": sum(s not in training for s in valid) / len(valid) if valid else math.nan,
           "internal_diversity": internal_diversity(valid)}
    fake_props = chem.properties(valid, properties)
    real_props = chem.properties(reference, properties)
    for name in properties:
        out[f"{name}_mean"] = float(np.nanmean(fake_props[name])) if valid else math.nan
        out[f"{name}_mean_data"] = float(np.nanmean(real_props[name])) if reference else math.nan
        out[f"{name}_w1"] = wasserstein_1d(fake_props[name], real_props[name])
    out["fcd"], absent = fcd_distance(valid, reference) if fcd else (None, "not asked for")
    if absent:
        out["fcd_absent"] = absent
    return out

"""Chemistry scores of molecules with RDKit: validity, QED, logP, synthetic accessibility.

QED: Bickerton et al. 2012 (drug-likeness in [0, 1]); logP: Wildman and Crippen 1999 (RDKit's
Crippen model); SA: Ertl and Schuffenhauer 2009, RDKit's contrib SA_Score (1 easy to 10 hard to
make). :func:`reward` maps each to [0, 1] as MolGAN's code does (higher is better), for the
property reward of the molecule GAN.
"""

from __future__ import annotations

import math
import sys

from ganforge.molecules import require_rdkit

PROPERTIES = {
    "qed": "quantitative estimate of drug-likeness, 0 to 1 (Bickerton et al. 2012)",
    "logp": "octanol-water partition coefficient, Crippen's model (Wildman and Crippen 1999)",
    "sa": "synthetic accessibility, 1 (easy) to 10 (hard) (Ertl and Schuffenhauer 2009)",
}

# MolGAN's normalisation ranges (De Cao and Kipf 2018, their code's MolecularMetrics)
_LOGP_RANGE = (-2.12178879609, 6.0429063424)  # logP mapped linearly to [0, 1] on this range
_SA_RANGE = (5.0, 1.5)  # SA 5 -> 0, SA 1.5 -> 1 (lower SA is easier to make, so better)

_sascorer = None


def sascorer():
    """RDKit's contrib SA_Score module (imported from RDConfig.RDContribDir once)."""
    global _sascorer
    if _sascorer is None:
        require_rdkit()
        import os

        from rdkit.Chem import RDConfig

        path = os.path.join(RDConfig.RDContribDir, "SA_Score")
        if path not in sys.path:
            sys.path.append(path)
        import sascorer as module  # RDKit ships it as a script folder, not a package

        _sascorer = module
    return _sascorer


def mol_from_smiles(smiles: str | None):
    """An RDKit molecule from SMILES, or None (invalid or None)."""
    if not smiles:
        return None
    return require_rdkit().MolFromSmiles(smiles)


def is_valid(smiles: str | None) -> bool:
    """True when RDKit parses and sanitises ``smiles`` into one connected molecule."""
    return bool(smiles) and "." not in smiles and mol_from_smiles(smiles) is not None


def qed(mol) -> float:
    from rdkit.Chem import QED

    return float(QED.qed(mol))


def logp(mol) -> float:
    from rdkit.Chem import Crippen

    return float(Crippen.MolLogP(mol))


def sa(mol) -> float:
    return float(sascorer().calculateScore(mol))


_SCORERS = {"qed": qed, "logp": logp, "sa": sa}


def property_of(mol, name: str) -> float:
    """Property ``name`` (qed, logp, sa) of a molecule; NaN for None or when RDKit fails on it."""
    if mol is None:
        return math.nan
    try:
        return _SCORERS[name](mol)
    except (RuntimeError, ValueError, ZeroDivisionError):  # a sanitised molecule may still trip a descriptor
        return math.nan


def properties(smiles: list[str | None], names=("qed", "logp", "sa")) -> dict[str, list[float]]:
    """Each property of each SMILES (NaN where invalid), by property name."""
    mols = [mol_from_smiles(s) for s in smiles]
    return {name: [property_of(m, name) for m in mols] for name in names}


def reward(mol, name: str) -> float:
    """Property ``name`` mapped to [0, 1], higher better (MolGAN's normalisation); 0 for None."""
    value = property_of(mol, name)
    if math.isnan(value):
        return 0.0
    if name == "logp":
        lo, hi = _LOGP_RANGE
    elif name == "sa":
        lo, hi = _SA_RANGE
    else:
        return min(max(value, 0.0), 1.0)
    return min(max((value - lo) / (hi - lo), 0.0), 1.0)

"""Molecules as graphs: the vocabulary of atom and bond types, graph <-> RDKit molecule <-> SMILES,
reading SMILES files into training graphs, chemistry scores (validity, QED, logP, SA) and the
molecule metrics (validity, uniqueness, novelty, diversity, property distances, FCD).

RDKit is an optional dependency (``pip install ganforge[molecules]``); every entry point that
needs it calls :func:`require_rdkit`, which raises one line naming the install command.
"""

from __future__ import annotations

from ganforge.errors import ConfigError

INSTALL_HINT = "pip install ganforge[molecules]"


def require_rdkit():
    """The ``rdkit.Chem`` module, or one ConfigError line saying how to install RDKit."""
    try:
        from rdkit import Chem, RDLogger
    except ImportError:
        raise ConfigError(f"molecules need RDKit, which is not installed: `{INSTALL_HINT}`") from None
    RDLogger.DisableLog("rdApp.*")  # sanitisation failures are counted, not printed one per molecule
    return Chem

"""Pictures of molecules: a grid drawn with RDKit, one cell per SMILES, invalid ones labelled."""

from __future__ import annotations

from pathlib import Path

from ganforge.fileio import atomic_path
from ganforge.molecules import require_rdkit


def save_molecule_grid(smiles: list[str | None], path: str | Path, per_row: int = 6, title: str = "",
                       cell: int = 200) -> Path:
    """Draw ``smiles`` (None or "INVALID": a "*" labelled INVALID) to a PNG at ``path``."""
    Chem = require_rdkit()
    from rdkit.Chem import Draw

    mols, legends = [], []
    for s in smiles:
        mol = Chem.MolFromSmiles(s) if s and s != "INVALID" else None
        # an invalid graph is drawn as a lone dummy atom (an empty molecule would lose its legend)
        mols.append(mol if mol is not None else Chem.MolFromSmiles("*"))
        legends.append(s if mol is not None else "INVALID")
    if title and legends:
        legends[0] = f"{title}: {legends[0]}"
    image = Draw.MolsToGridImage(mols, molsPerRow=per_row, subImgSize=(cell, cell), legends=legends)
    path = Path(path)
    with atomic_path(path) as tmp:
        image.save(tmp, format="PNG")
    return path

"""Reading SMILES files into training graphs, with a report of what was dropped and why.

Accepted files (optionally gzip-compressed, ``.gz``): a CSV whose header has a ``smiles`` column
(QM9's ``index,smiles``), or a plain list with one SMILES per line (``.smi``: the first
whitespace-separated field; a header line ``smiles`` is skipped). Each molecule that cannot be a
graph of the vocabulary is dropped and counted under its reason: failed parsing, too many atoms,
an atom type outside the vocabulary (with the offending types), an unsupported bond.
"""

from __future__ import annotations

import csv
import gzip
import io
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import torch

from ganforge.errors import DataError
from ganforge.molecules import require_rdkit
from ganforge.molecules.graphs import GraphError, Vocabulary, mol_to_graph, mol_to_smiles


@dataclass
class ReadReport:
    """What a SMILES file gave: kept molecules and the dropped ones by reason."""

    path: str
    lines: int = 0  # SMILES read (blank lines not counted)
    kept: int = 0
    dropped: Counter = field(default_factory=Counter)  # reason -> count
    unknown_atoms: Counter = field(default_factory=Counter)  # atom type outside the vocabulary -> molecules

    def summary(self) -> str:
        """One line: "kept 130,000 of 130,831 molecules from FILE; dropped: 443 atom type outside ..."."""
        parts = []
        for reason, n in self.dropped.most_common():
            extra = ""
            if reason == "atom type outside the vocabulary" and self.unknown_atoms:
                extra = " (" + ", ".join(f"{a}: {c}" for a, c in self.unknown_atoms.most_common(6)) + ")"
            parts.append(f"{n:,} {reason}{extra}")
        dropped = "; dropped: " + ", ".join(parts) if parts else ""
        return f"kept {self.kept:,} of {self.lines:,} molecules from {self.path}{dropped}"

    def to_dict(self) -> dict:
        return {"path": self.path, "lines": self.lines, "kept": self.kept, "dropped": dict(self.dropped),
                "unknown_atoms": dict(self.unknown_atoms)}


def _open_text(path: Path):
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as e:
            raise DataError(f"{path} is not a readable gzip file ({e})") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise DataError(f"{path} is not a UTF-8 text file of SMILES (a CSV with a 'smiles' column or one per line)") from None


def read_smiles_lines(path: str | Path) -> list[str]:
    """The SMILES strings of a file, in order (see the module docstring for the formats)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"SMILES file {path} does not exist")
    text = _open_text(path)
    lines = text.splitlines()
    first = lines[0] if lines else ""
    if "," in first and "smiles" in [c.strip().lower() for c in first.split(",")]:
        reader = csv.DictReader(io.StringIO(text))
        key = next(k for k in reader.fieldnames if k.strip().lower() == "smiles")
        out = [(row.get(key) or "").strip() for row in reader]
    else:
        out = [line.split()[0] for line in lines if line.strip()]
        if out and out[0].lower() == "smiles":
            out = out[1:]
    out = [s for s in out if s]
    if not out:
        raise DataError(f"SMILES file {path} holds no SMILES (expected a CSV with a 'smiles' column or one per line)")
    return out


def graphs_from_smiles(smiles: list[str], vocab: Vocabulary, path: str = "<list>", limit: int = 0):
    """Training graphs from SMILES: (adj (M, N, N) uint8, nodes (M, N) uint8, canonical SMILES, report).

    ``limit`` > 0 stops after that many kept molecules.
    """
    Chem = require_rdkit()
    report = ReadReport(str(path))
    adjs, nodes, canon = [], [], []
    for s in smiles:
        if limit and report.kept >= limit:
            break
        report.lines += 1
        mol = Chem.MolFromSmiles(s)
        if mol is None:
            report.dropped["failed parsing"] += 1
            continue
        try:
            a, x = mol_to_graph(mol, vocab)
        except GraphError as e:
            report.dropped[e.reason] += 1
            if e.reason == "atom type outside the vocabulary":
                report.unknown_atoms[e.detail] += 1
            continue
        adjs.append(a.to(torch.uint8))
        nodes.append(x.to(torch.uint8))
        canon.append(mol_to_smiles(mol))
        report.kept += 1
    N = vocab.max_atoms
    adj = torch.stack(adjs) if adjs else torch.zeros(0, N, N, dtype=torch.uint8)
    node = torch.stack(nodes) if nodes else torch.zeros(0, N, dtype=torch.uint8)
    return adj, node, canon, report


def read_smiles_file(path: str | Path, vocab: Vocabulary, limit: int = 0):
    """A SMILES file -> (adj, nodes, canonical SMILES, report); no molecule kept is one DataError line."""
    adj, nodes, canon, report = graphs_from_smiles(read_smiles_lines(path), vocab, str(path), limit)
    if report.kept == 0:
        raise DataError(f"no molecule of {path} fits the model: {report.summary()} (data.atoms is "
                        f"{','.join(vocab.atoms)}, data.max_atoms {vocab.max_atoms})")
    return adj, nodes, canon, report

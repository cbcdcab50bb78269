"""Molecular graphs: a vocabulary of atom and bond types, and graph <-> RDKit molecule <-> SMILES.

A molecule with at most ``max_atoms`` heavy atoms is two integer tensors (MolGAN, De Cao and Kipf
2018, section 2): ``nodes`` (N,) with 0 for "no atom" and k for the vocabulary's k-th atom type,
and ``adj`` (N, N), symmetric with a zero diagonal, 0 for "no bond" and k for the k-th bond type.
Hydrogens are implicit (RDKit adds them from the valences). Aromatic rings are kekulised, so the
bond types are single, double and triple. An atom type is an element with an optional formal
charge: "C", "N", "N+", "O-".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import torch

from ganforge.errors import ConfigError
from ganforge.molecules import require_rdkit

BOND_NAMES = ("SINGLE", "DOUBLE", "TRIPLE")  # bond type k + 1 in an adjacency tensor
DEFAULT_ATOMS = "C,N,O,F"  # QM9's heavy atoms (MolGAN's vocabulary)
_ATOM = re.compile(r"([A-Z][a-z]?)([+-]?)")


def parse_atom(token: str) -> tuple[str, int]:
    """"N+" -> ("N", 1), "O-" -> ("O", -1), "C" -> ("C", 0); anything else is one ConfigError line."""
    m = _ATOM.fullmatch(token.strip())
    if not m:
        raise ConfigError(f"atom type {token!r} is not an element with an optional charge (accepted: C, N, N+, O-, ...)")
    return m.group(1), {"": 0, "+": 1, "-": -1}[m.group(2)]


def atom_token(symbol: str, charge: int) -> str:
    """The vocabulary token of an element and formal charge ("N", 1 -> "N+"; other charges: "N+2")."""
    if charge == 0:
        return symbol
    sign = "+" if charge > 0 else "-"
    return symbol + sign + (str(abs(charge)) if abs(charge) > 1 else "")


@dataclass(frozen=True)
class Vocabulary:
    """Atom types (index k + 1 in ``nodes``), bond types and the atom budget of a graph."""

    atoms: tuple[str, ...]  # e.g. ("C", "N", "O", "F")
    max_atoms: int  # N: nodes per graph

    @classmethod
    def from_string(cls, atoms: str, max_atoms: int) -> Vocabulary:
        """From a comma-separated list such as "C,N,O,F,N+,O-"."""
        tokens = tuple(t.strip() for t in atoms.split(",") if t.strip())
        if not tokens:
            raise ConfigError(f"data.atoms must list at least one atom type (e.g. {DEFAULT_ATOMS}), got {atoms!r}")
        canon = tuple(atom_token(*parse_atom(t)) for t in tokens)
        if len(set(canon)) != len(canon):
            raise ConfigError(f"data.atoms lists an atom type twice: {atoms!r}")
        if max_atoms < 1:
            raise ConfigError(f"data.max_atoms must be >= 1, got {max_atoms}")
        return cls(canon, int(max_atoms))

    @property
    def n_atom_types(self) -> int:
        """T: atom classes per node, "no atom" included."""
        return len(self.atoms) + 1

    @property
    def n_bond_types(self) -> int:
        """E: bond classes per pair of nodes, "no bond" included."""
        return len(BOND_NAMES) + 1

    @property
    def flat_dim(self) -> int:
        """Width of a one-hot graph flattened: N * N * E + N * T."""
        N = self.max_atoms
        return N * N * self.n_bond_types + N * self.n_atom_types

    def index_of(self) -> dict[str, int]:
        return {a: k + 1 for k, a in enumerate(self.atoms)}


class GraphError(ValueError):
    """Why a molecule cannot be a graph of this vocabulary (too large, unknown atom or bond)."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason, self.detail = reason, detail


def mol_to_graph(mol, vocab: Vocabulary) -> tuple[torch.Tensor, torch.Tensor]:
    """An RDKit molecule -> (adj (N, N), nodes (N,)) int64, kekulised, hydrogens implicit.

    Raises :class:`GraphError` with reason "too many atoms", "atom type outside the vocabulary" or
    "unsupported bond".
    """
    Chem = require_rdkit()
    mol = Chem.RemoveHs(mol)
    mol = Chem.Mol(mol)
    Chem.Kekulize(mol, clearAromaticFlags=True)
    n = mol.GetNumAtoms()
    if n > vocab.max_atoms:
        raise GraphError("too many atoms", str(n))
    if n == 0:
        raise GraphError("no atoms")
    index = vocab.index_of()
    nodes = torch.zeros(vocab.max_atoms, dtype=torch.int64)  # (N,)
    adj = torch.zeros(vocab.max_atoms, vocab.max_atoms, dtype=torch.int64)  # (N, N)
    for atom in mol.GetAtoms():
        token = atom_token(atom.GetSymbol(), atom.GetFormalCharge())
        if token not in index:
            raise GraphError("atom type outside the vocabulary", token)
        nodes[atom.GetIdx()] = index[token]
    for bond in mol.GetBonds():
        name = str(bond.GetBondType())
        if name not in BOND_NAMES:
            raise GraphError("unsupported bond", name)
        i, j = bond.GetBeginAtomIdx(), bond.GetEndAtomIdx()
        adj[i, j] = adj[j, i] = BOND_NAMES.index(name) + 1
    return adj, nodes


def graph_to_mol(adj: torch.Tensor, nodes: torch.Tensor, vocab: Vocabulary, sanitize: bool = True):
    """(adj (N, N), nodes (N,)) -> an RDKit molecule, or None when it is not one.

    Bonds to or from "no atom" nodes are ignored; only the upper triangle of ``adj`` is read.
    With ``sanitize`` the molecule must pass RDKit's sanitisation (valences, kekulisation).
    """
    Chem = require_rdkit()
    nodes, adj = nodes.tolist(), adj.tolist()
    mol = Chem.RWMol()
    position = {}
    for i, k in enumerate(nodes):
        if k <= 0:
            continue
        if k > len(vocab.atoms):
            return None
        symbol, charge = parse_atom(vocab.atoms[k - 1])
        atom = Chem.Atom(symbol)
        atom.SetFormalCharge(charge)
        position[i] = mol.AddAtom(atom)
    if not position:
        return None
    for i, pi in position.items():
        for j, pj in position.items():
            if j > i and adj[i][j] > 0:
                if adj[i][j] > len(BOND_NAMES):
                    return None
                mol.AddBond(pi, pj, getattr(Chem.BondType, BOND_NAMES[adj[i][j] - 1]))
    mol = mol.GetMol()
    if sanitize:
        try:
            Chem.SanitizeMol(mol)
        except Chem.MolSanitizeException:  # valence, kekulisation, ring problems
            return None
    return mol


def mol_to_smiles(mol) -> str | None:
    """Canonical SMILES of a molecule, or None for None or a molecule RDKit cannot write."""
    if mol is None:
        return None
    Chem = require_rdkit()
    try:
        return Chem.MolToSmiles(mol)
    except (RuntimeError, ValueError, Chem.MolSanitizeException):  # RDKit's own errors surface as these
        return None


def graph_to_smiles(adj: torch.Tensor, nodes: torch.Tensor, vocab: Vocabulary) -> str | None:
    """The canonical SMILES of a graph that is one valid, connected molecule, else None.

    A graph of several disconnected fragments is not a molecule ("." in its SMILES): MolGAN's
    validity counts it as invalid too, so this does the same.
    """
    smiles = mol_to_smiles(graph_to_mol(adj, nodes, vocab))
    if not smiles or "." in smiles:
        return None
    return smiles


def smiles_to_graph(smiles: str, vocab: Vocabulary) -> tuple[torch.Tensor, torch.Tensor]:
    """A SMILES string -> (adj (N, N), nodes (N,)); GraphError "failed parsing" when RDKit rejects it."""
    Chem = require_rdkit()
    mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        raise GraphError("failed parsing", smiles)
    return mol_to_graph(mol, vocab)


def one_hot_flat(adj: torch.Tensor, nodes: torch.Tensor, vocab: Vocabulary) -> torch.Tensor:
    """Integer graphs (B, N, N) and (B, N) -> one-hot graphs flattened, (B, N*N*E + N*T) float."""
    B = adj.shape[0]
    a = torch.nn.functional.one_hot(adj, vocab.n_bond_types).float().reshape(B, -1)  # (B, N*N*E)
    x = torch.nn.functional.one_hot(nodes, vocab.n_atom_types).float().reshape(B, -1)  # (B, N*T)
    return torch.cat([a, x], 1)


def split_flat(flat: torch.Tensor, vocab: Vocabulary) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, N*N*E + N*T) -> adjacency (B, N, N, E) and node features (B, N, T)."""
    N, E, T = vocab.max_atoms, vocab.n_bond_types, vocab.n_atom_types
    a, x = flat.split([N * N * E, N * T], dim=1)
    return a.reshape(-1, N, N, E), x.reshape(-1, N, T)


def flat_to_graphs(flat: torch.Tensor, vocab: Vocabulary) -> tuple[torch.Tensor, torch.Tensor]:
    """One-hot (or soft) flat graphs -> integer graphs (B, N, N), (B, N) by argmax."""
    a, x = split_flat(flat, vocab)
    return a.argmax(-1), x.argmax(-1)

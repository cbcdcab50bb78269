"""Valency correction of drawn graphs (MoFlow, Zang and Wang 2020, section 3.4), an opt-in step after G.

A one-shot graph generator draws every bond independently, so an atom can end with more bonds than
its valence allows; RDKit then rejects the whole graph. The correction repairs such a graph the way
MoFlow does, and nothing else: while some atom exceeds its largest allowed valence, the
highest-order bond of the atom with the largest excess loses one order (a single bond is removed);
then the largest connected fragment is kept. A graph that is already one valid molecule is returned
unchanged, so the correction can only raise validity, and what it does is counted separately:
``ganforge sample --correct`` and the molecule benchmark report validity with and without it.
"""

from __future__ import annotations

import torch

from ganforge.molecules import require_rdkit
from ganforge.molecules.graphs import Vocabulary, parse_atom


def allowed_valences(vocab: Vocabulary) -> list[int]:
    """The largest valence of each atom type (index k - 1 for node class k), charge included.

    A charged atom has the valence of the neutral element with as many electrons (N+ as C: 4, O- as
    F: 1), RDKit's own rule; the element's largest valence in RDKit's periodic table is used.
    """
    Chem = require_rdkit()
    table = Chem.GetPeriodicTable()
    out = []
    for token in vocab.atoms:
        symbol, charge = parse_atom(token)
        like = table.GetAtomicNumber(symbol) - charge  # isoelectronic neutral element
        out.append(max(v for v in table.GetValenceList(like) if v >= 0) if like > 0 else 0)
    return out


def correct_graph(adj: torch.Tensor, nodes: torch.Tensor, vocab: Vocabulary) -> tuple[torch.Tensor, torch.Tensor]:
    """(adj (N, N), nodes (N,)) int64 -> the corrected graph (new tensors; the inputs are not changed).

    Bonds touching "no atom" nodes are dropped first (the molecule ignores them). Bond class k is a
    bond of order k (single, double, triple).
    """
    limits = allowed_valences(vocab)
    adj, nodes = adj.clone(), nodes.clone()
    present = nodes > 0  # (N,)
    adj[~present, :] = 0
    adj[:, ~present] = 0
    adj.fill_diagonal_(0)
    cap = torch.tensor([0] + limits, dtype=torch.int64)[nodes]  # (N,) largest valence, 0 for no atom
    while True:
        excess = adj.sum(1) - cap  # (N,) bond orders beyond the valence
        worst = int(excess.argmax())
        if excess[worst] <= 0:
            break
        j = int(adj[worst].argmax())  # its highest-order bond (the first such neighbour)
        adj[worst, j] -= 1
        adj[j, worst] -= 1
    keep = _largest_fragment(adj, present)
    adj[~keep, :] = 0
    adj[:, ~keep] = 0
    nodes[~keep] = 0
    return adj, nodes


def _largest_fragment(adj: torch.Tensor, present: torch.Tensor) -> torch.Tensor:
    """(N,) bool: the atoms of the largest connected fragment (the one with the lowest atom on ties)."""
    from scipy.sparse.csgraph import connected_components

    _, labels = connected_components((adj > 0).numpy(), directed=False)
    labels = torch.from_numpy(labels).long()  # (N,) fragment of each node
    size = torch.bincount(labels[present], minlength=len(labels))[labels] * present  # (N,) 0 for no atom
    return present & (labels == labels[int(size.argmax())])  # argmax: the first of the largest


def correct_graphs(adj: torch.Tensor, nodes: torch.Tensor, vocab: Vocabulary) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`correct_graph` on a batch: adj (B, N, N), nodes (B, N) -> corrected copies."""
    if len(adj) == 0:
        return adj.clone(), nodes.clone()
    pairs = [correct_graph(a, x, vocab) for a, x in zip(adj, nodes)]
    return torch.stack([a for a, _ in pairs]), torch.stack([x for _, x in pairs])

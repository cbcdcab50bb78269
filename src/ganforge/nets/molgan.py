"""MolGAN's networks for molecular graphs (De Cao and Kipf 2018, section 3 and appendix).

A graph of N nodes is an adjacency tensor (N, N, E) of bond classes (class 0: no bond) and node
features (N, T) of atom classes (class 0: no atom); networks exchange it flattened, (B, N*N*E +
N*T), adjacency first, so the engine's regularisers and packing treat it as one vector.

* :class:`MolGANGenerator`: z -> MLP with tanh -> edge logits (B, E, N, N), symmetrised, and node
  logits (B, N, T); :func:`gumbel_graph` turns them into (straight-through) one-hot graphs with
  no self loops.
* :class:`RelationalGCN`: D and the reward network. Relational graph convolutions (R-GCN,
  Schlichtkrull et al. 2018): h' = tanh(sum_r A_r h W_r + h W_0) over the bond types r, each
  layer seeing the atom features beside h as MolGAN does; then MolGAN's graph aggregation
  h_G = tanh(sum_v sigmoid(i(h_v, x_v)) * tanh(j(h_v, x_v))) (Li et al. 2016's gated readout),
  and an MLP to one output. With ``pack`` > 1 it judges that many graphs at once (PacGAN, Lin et
  al. 2018): their aggregated vectors are concatenated before the MLP.
"""

from __future__ import annotations

import torch
from torch import nn


def split_graph(flat: torch.Tensor, n_nodes: int, n_bonds: int, n_atoms: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, N*N*E + N*T) -> adjacency (B, N, N, E) and node features (B, N, T)."""
    N = n_nodes
    a, x = flat.split([N * N * n_bonds, N * n_atoms], dim=1)
    return a.reshape(-1, N, N, n_bonds), x.reshape(-1, N, n_atoms)


def _gumbel(shape, generator: torch.Generator | None, like: torch.Tensor) -> torch.Tensor:
    """Standard Gumbel noise of ``shape`` from ``generator`` (its device), on ``like``'s device."""
    device = generator.device if generator is not None else like.device
    u = torch.rand(shape, generator=generator, device=device).to(like.device, like.dtype)
    return -torch.log(-torch.log(u.clamp(1e-10, 1.0 - 1e-7)))


def gumbel_graph(edge_logits: torch.Tensor, node_logits: torch.Tensor, tau: float,
                 generator: torch.Generator | None, hard: bool = True) -> torch.Tensor:
    """Gumbel-softmax graphs (Jang et al. 2017; Maddison et al. 2017), flattened (B, N*N*E + N*T).

    ``edge_logits`` (B, E, N, N) symmetric, ``node_logits`` (B, N, T). The edge noise is drawn for
    the upper triangle and mirrored, so the drawn graph is symmetric; the diagonal is forced to
    "no bond". ``hard``: straight-through, one-hot in the forward pass (the argmax of each
    softmax) with the softmax's gradient in the backward pass.
    """
    B, E, N, _ = edge_logits.shape
    g = _gumbel((B, E, N, N), generator, edge_logits).triu(1)  # (B, E, N, N) upper triangle
    g = g + g.transpose(2, 3)  # the same noise on (i, j) and (j, i)
    soft_a = torch.softmax((edge_logits + g) / tau, dim=1).permute(0, 2, 3, 1)  # (B, N, N, E)
    soft_x = torch.softmax((node_logits + _gumbel(node_logits.shape, generator, node_logits)) / tau, dim=-1)
    if hard:
        soft_a = _straight_through(soft_a)
        soft_x = _straight_through(soft_x)
    off = 1.0 - torch.eye(N, device=soft_a.device, dtype=soft_a.dtype)  # (N, N) zero on the diagonal
    none = torch.zeros(E, device=soft_a.device, dtype=soft_a.dtype)
    none[0] = 1.0
    # no self loops: the diagonal is exactly "no bond", with no gradient
    a = soft_a * off[None, :, :, None] + (1.0 - off)[None, :, :, None] * none  # (B, N, N, E)
    return torch.cat([a.reshape(B, -1), soft_x.reshape(B, -1)], 1)


def _straight_through(soft: torch.Tensor) -> torch.Tensor:
    """One-hot of the last axis' argmax in the forward pass, ``soft``'s gradient in the backward pass."""
    hard = torch.nn.functional.one_hot(soft.argmax(-1), soft.shape[-1]).to(soft.dtype)
    return hard - soft.detach() + soft


class MolGANGenerator(nn.Module):
    """G(z) -> (edge logits (B, E, N, N), node logits (B, N, T)); hidden widths ``width * 2**k``
    for k < ``depth`` (MolGAN: 128, 256, 512), tanh."""

    def __init__(self, z_dim: int, n_nodes: int, n_bonds: int, n_atoms: int, width: int = 128, depth: int = 3,
                 dropout: float = 0.0):
        super().__init__()
        self.z_dim, self.n_nodes, self.n_bonds, self.n_atoms = z_dim, n_nodes, n_bonds, n_atoms
        layers, dim = [], z_dim
        for k in range(depth):
            layers += [nn.Linear(dim, width * 2**k), nn.Tanh(), nn.Dropout(dropout)]
            dim = width * 2**k
        self.body = nn.Sequential(*layers)
        self.edges = nn.Linear(dim, n_bonds * n_nodes * n_nodes)
        self.nodes = nn.Linear(dim, n_nodes * n_atoms)

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.body(z)  # (B, hidden)
        N = self.n_nodes
        e = self.edges(h).reshape(-1, self.n_bonds, N, N)  # (B, E, N, N)
        e = 0.5 * (e + e.transpose(2, 3))  # symmetric: one bond per pair of atoms
        return e, self.nodes(h).reshape(-1, N, self.n_atoms)  # (B, E, N, N), (B, N, T)


class GraphConvolution(nn.Module):
    """One R-GCN layer: tanh(sum_r A_r h W_r + h W_0), one weight per bond type r (no-bond excluded)."""

    def __init__(self, in_dim: int, out_dim: int, n_relations: int):
        super().__init__()
        self.relations = nn.Linear(in_dim, out_dim * n_relations)
        self.self_loop = nn.Linear(in_dim, out_dim)
        self.n_relations, self.out_dim = n_relations, out_dim

    def forward(self, adj: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        # adj (B, R, N, N), h (B, N, in_dim)
        B, N, _ = h.shape
        m = self.relations(h).reshape(B, N, self.n_relations, self.out_dim).transpose(1, 2)  # (B, R, N, out)
        messages = torch.matmul(adj, m).sum(1)  # (B, N, out): sum over relations and neighbours
        return torch.tanh(messages + self.self_loop(h))


class GraphAggregation(nn.Module):
    """MolGAN's readout: tanh(sum_v sigmoid(i([h_v, x_v])) * tanh(j([h_v, x_v]))) -> (B, out_dim)."""

    def __init__(self, in_dim: int, out_dim: int):
        super().__init__()
        self.gate = nn.Linear(in_dim, out_dim)
        self.value = nn.Linear(in_dim, out_dim)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        # h (B, N, in_dim)
        return torch.tanh((torch.sigmoid(self.gate(h)) * torch.tanh(self.value(h))).sum(1))


class RelationalGCN(nn.Module):
    """D (and the reward network): flat graphs (B, N*N*E + N*T) -> (B / pack,) scores.

    Graph convolutions of ``width`` and ``width // 2`` units, an aggregation of ``width``, then
    ``width`` and ``width // 2`` tanh units and one output (MolGAN: [128, 64], 128, [128, 64]).
    The "no bond" channel carries no message; atom features are concatenated to every layer's input.
    """

    def __init__(self, n_nodes: int, n_bonds: int, n_atoms: int, width: int = 128, pack: int = 1,
                 dropout: float = 0.0):
        super().__init__()
        self.n_nodes, self.n_bonds, self.n_atoms, self.pack = n_nodes, n_bonds, n_atoms, pack
        half = max(1, width // 2)
        self.convs = nn.ModuleList([GraphConvolution(n_atoms, width, n_bonds - 1),
                                    GraphConvolution(width + n_atoms, half, n_bonds - 1)])
        self.aggregate = GraphAggregation(half + n_atoms, width)
        self.head = nn.Sequential(nn.Linear(width * pack, width), nn.Tanh(), nn.Dropout(dropout),
                                  nn.Linear(width, half), nn.Tanh(), nn.Dropout(dropout), nn.Linear(half, 1))

    def embed(self, flat: torch.Tensor) -> torch.Tensor:
        """The aggregated graph vectors (B, width)."""
        a, x = split_graph(flat, self.n_nodes, self.n_bonds, self.n_atoms)  # (B, N, N, E), (B, N, T)
        adj = a[..., 1:].permute(0, 3, 1, 2)  # (B, R, N, N): bond types only
        h = self.convs[0](adj, x)  # (B, N, width)
        h = self.convs[1](adj, torch.cat([h, x], -1))  # (B, N, width // 2)
        return self.aggregate(torch.cat([h, x], -1))  # (B, width)

    def forward(self, flat: torch.Tensor) -> torch.Tensor:
        g = self.embed(flat)  # (B, width)
        return self.head(g.reshape(-1, g.shape[1] * self.pack)).squeeze(1)  # (B / pack,)

"""The molecule GAN: MolGAN's game (De Cao and Kipf 2018) on graphs of at most N heavy atoms.

G maps z to edge logits (B, E, N, N) and node logits (B, N, T); straight-through Gumbel-softmax
(Jang et al. 2017, temperature ``model.gumbel_tau``) draws one-hot graphs from them, with
symmetric noise and no self loops (:func:`ganforge.nets.molgan.gumbel_graph`), so D judges
discrete graphs like the real ones while G still gets gradients. D is a relational graph
convolution network (:class:`ganforge.nets.molgan.RelationalGCN`). Graphs travel flattened (B,
N*N*E + N*T), so the engine's gradient penalty (WGAN-GP by default, Gulrajani et al. 2017), R1 and
packing (``model.pack``, PacGAN, Lin et al. 2018, with the penalty over whole packs as in CTGAN's
code) work on them unchanged.

Property reward (``loss.reward_weight`` lambda, ``loss.reward`` qed / logp / sa): G's loss is
(1 - lambda) * adversarial + lambda * (-R(G(z))), where R is a reward network (an R-GCN with a
sigmoid output) trained on the D side to regress RDKit's score of real and generated graphs (0 for
a graph that is not a molecule). This is MolGAN's own "RL" term: its reward network is a
differentiable surrogate of the non-differentiable chemistry score, through which G is trained as
in deterministic policy gradients; we keep that form because it gives G a low-variance gradient
through the Gumbel straight-through graphs, where a score-function (REINFORCE) estimate would
need many samples per update. lambda 0 (the default) is the plain GAN and builds no R.

Every random draw (z, Gumbel noise, penalty mixing) comes from the engine's noise generator and
the data order from its stream, both in checkpoints, so resume is bit-exact.
"""

from __future__ import annotations

import torch

from ganforge.errors import ConfigError
from ganforge.games.base import Game, Terms
from ganforge.nets.molgan import MolGANGenerator, RelationalGCN, gumbel_graph
from ganforge.nets.spec import NetworkSpec


def vocabulary(cfg):
    """The run's :class:`~ganforge.molecules.graphs.Vocabulary` (data.atoms, data.max_atoms)."""
    from ganforge.molecules.graphs import Vocabulary

    return Vocabulary.from_string(cfg.data.atoms, cfg.data.max_atoms)


def build_molgan_networks(cfg, spec: NetworkSpec | None = None) -> dict:
    """G, D and (with ``loss.reward_weight`` > 0) the reward network R for the run's vocabulary."""
    v, m = vocabulary(cfg), cfg.model
    if spec is not None and tuple(spec.data_shape) != (v.flat_dim,):
        raise ConfigError(f"the saved graphs have {spec.data_shape[0]} features but data.atoms and data.max_atoms "
                          f"give {v.flat_dim}")
    N, E, T = v.max_atoms, v.n_bond_types, v.n_atom_types
    nets = {"G": MolGANGenerator(m.z_dim, N, E, T, m.g_width, m.g_depth, m.mol_dropout),
            "D": RelationalGCN(N, E, T, m.d_width, m.pack, m.mol_dropout)}
    if cfg.loss.reward_weight > 0:
        nets["R"] = RelationalGCN(N, E, T, m.d_width, 1, m.mol_dropout)
    return nets


def draw_graphs(G, n_graphs: int, z_dim: int, generator: torch.Generator, tau: float = 1.0,
                batch: int = 1000) -> tuple[torch.Tensor, torch.Tensor]:
    """``n_graphs`` graphs from G in eval mode: (adj (n, N, N), nodes (n, N)) int64 on the CPU.

    Bonds and atoms are drawn from G's softmax (the argmax of a Gumbel-softmax is a draw from the
    softmax, whatever the temperature): the distribution G was trained to match, since D only ever
    saw drawn graphs.
    """
    device = next(G.parameters()).device
    was_training = G.training
    G.eval()
    adjs, nodes = [], []
    try:
        with torch.no_grad():
            for i in range(0, n_graphs, batch):
                b = min(batch, n_graphs - i)
                z = torch.randn(b, z_dim, generator=generator, device=generator.device).to(device)  # (b, z_dim)
                e, x = G(z)
                flat = gumbel_graph(e, x, tau, generator, hard=True)  # (b, N*N*E + N*T)
                N, E, T = G.n_nodes, G.n_bonds, G.n_atoms
                a, v = flat.split([N * N * E, N * T], dim=1)
                adjs.append(a.reshape(b, N, N, E).argmax(-1).cpu())
                nodes.append(v.reshape(b, N, T).argmax(-1).cpu())
    finally:
        G.train(was_training)
    N = G.n_nodes
    if not adjs:
        return torch.zeros(0, N, N, dtype=torch.int64), torch.zeros(0, N, dtype=torch.int64)
    return torch.cat(adjs), torch.cat(nodes)


def graphs_to_smiles(adj: torch.Tensor, nodes: torch.Tensor, vocab) -> list[str | None]:
    """The SMILES of each graph (None where it is not one valid, connected molecule)."""
    from ganforge.molecules.graphs import graph_to_smiles

    return [graph_to_smiles(a, x, vocab) for a, x in zip(adj, nodes)]


class MolGANGame(Game):
    name = "molgan"

    def __init__(self, cfg, data=None):
        super().__init__(cfg, data)
        self.vocab = vocabulary(cfg)
        self.reward_weight = cfg.loss.reward_weight
        self.d_side = ("D", "R") if self.reward_weight > 0 else ("D",)

    # ------------------------------------------------------------------ networks
    def spec(self) -> NetworkSpec:
        """One flattened one-hot graph's width, N*N*E + N*T."""
        from ganforge.data.molecules import MoleculeGraphs

        if not isinstance(self.data, MoleculeGraphs):
            raise ConfigError(f"model.game 'molgan' trains on molecules (data.name qm9 or smiles); "
                              f"{self.cfg.data.name!r} is not a molecule dataset")
        return NetworkSpec((self.vocab.flat_dim,))

    def build(self, spec):
        return build_molgan_networks(self.cfg, spec)

    # ------------------------------------------------------------------ batches
    def _fake(self, tr, G, B: int) -> torch.Tensor:
        """B drawn one-hot graphs (B, N*N*E + N*T), straight-through, from ``G``."""
        e, x = G(tr.sample_z(B))  # (B, E, N, N), (B, N, T)
        return gumbel_graph(e.float(), x.float(), tr.cfg.model.gumbel_tau, tr.noise_gen, hard=True)

    def _real(self, tr, B: int) -> torch.Tensor:
        from ganforge.molecules.graphs import one_hot_flat

        adj, nodes = tr.stream.next(B)  # (B, N, N), (B, N) int64
        return one_hot_flat(adj, nodes, self.vocab).to(tr.device)  # (B, N*N*E + N*T)

    def _scores(self, flat: torch.Tensor) -> torch.Tensor:
        """RDKit's ``loss.reward`` of each graph in [0, 1], 0 for a non-molecule; (B,) float."""
        from ganforge.molecules.chem import reward
        from ganforge.molecules.graphs import flat_to_graphs, graph_to_mol, mol_to_smiles

        adj, nodes = flat_to_graphs(flat.detach().cpu(), self.vocab)
        out = []
        for a, x in zip(adj, nodes):
            mol = graph_to_mol(a, x, self.vocab)
            smiles = mol_to_smiles(mol)
            out.append(reward(mol, self.cfg.loss.reward) if smiles and "." not in smiles else 0.0)
        return torch.tensor(out, dtype=torch.float32, device=flat.device)

    def d_loss(self, tr) -> Terms:
        B, gen, pack = tr.cfg.train.batch_size, tr.noise_gen, tr.cfg.model.pack
        real = self._real(tr, B)
        with torch.no_grad():
            fake = self._fake(tr, tr.G, B)  # (B, F)
        logits = tr.D_train(torch.cat([real, fake])).float()  # (2B / pack,): one forward, D has no batch norm
        real_logits, fake_logits = logits.chunk(2)
        terms = Terms()
        terms.add("d_loss", tr.objective.d_loss(real_logits, fake_logits))
        width = real.shape[1]
        # penalties over whole packs (as the tabular game, after CTGAN): one mixing weight and one
        # gradient norm per pack of graphs
        packed_D = lambda x: tr.D(x.reshape(-1, width))
        real_p, fake_p = real.reshape(B // pack, pack * width), fake.reshape(B // pack, pack * width)
        for reg in tr.regularizers_due():
            terms.add(reg.name, reg.penalty(packed_D, real_p, fake_p, gen), reg.scale())
        if self.reward_weight > 0:
            both = torch.cat([real, fake])
            target = self._scores(both)  # (2B,)
            predicted = torch.sigmoid(tr.train_nets["R"](both).float())  # (2B,)
            terms.add("reward_fit", torch.mean((predicted - target) ** 2))
            terms.note("reward_real", target[:B].mean())
            terms.note("reward_fake", target[B:].mean())
        with torch.no_grad():
            terms.note("real_logit", real_logits.mean())
            terms.note("fake_logit", fake_logits.mean())
            terms.note("wasserstein", real_logits.mean() - fake_logits.mean())
        return terms

    def g_loss(self, tr) -> Terms:
        B = tr.cfg.train.batch_size
        fake = self._fake(tr, tr.G_train, B)  # (B, F), straight-through one-hot graphs
        fake_logits = tr.D(fake).float()
        terms = Terms()
        lam = self.reward_weight
        terms.add("g_loss", tr.objective.g_loss(fake_logits), 1.0 - lam)
        if lam > 0:
            terms.add("reward", -torch.sigmoid(tr.nets["R"](fake).float()).mean(), lam)
        return terms

    # ------------------------------------------------------------------ pictures and checks
    def collapse_batches(self, tr, n: int, g_real: torch.Generator, g_fake: torch.Generator):
        """A real and a fake batch of one-hot graphs (m, F) for the mode-collapse checks.

        Each valid drawn molecule is re-encoded from its canonical SMILES (RDKit's canonical atom
        order), as the real ones are, so that one molecule drawn with its atoms in two orders is
        one point, not two: duplicates then measure uniqueness, which is how molecule GANs
        collapse (MolGAN: 10.4% unique). Invalid graphs are left out (validity is its own
        statistic); with fewer than two valid ones, the drawn graphs are compared as they are. A
        valid molecule whose canonical form leaves the vocabulary (RDKit writes a drawn N(=O)=O as
        the charge-separated nitro group [N+](=O)[O-]) keeps its drawn graph.
        """
        from ganforge.molecules.graphs import GraphError, one_hot_flat, smiles_to_graph

        def encoded(smiles, drawn=None):
            graphs = []
            for k, s in enumerate(smiles):
                try:
                    graphs.append(smiles_to_graph(s, self.vocab))
                except GraphError:
                    if drawn is None:
                        raise
                    graphs.append((drawn[0][k], drawn[1][k]))
            return one_hot_flat(torch.stack([a for a, _ in graphs]), torch.stack([x for _, x in graphs]), self.vocab)

        pick = torch.randperm(len(self.data), generator=g_real)[:n]
        real = encoded([self.data.smiles[i] for i in pick.tolist()])
        G = tr.ema_nets.get("G", tr.G)
        adj, nodes = draw_graphs(G, len(pick), tr.cfg.model.z_dim, g_fake)
        drawn = graphs_to_smiles(adj, nodes, self.vocab)
        valid = [k for k, s in enumerate(drawn) if s]
        if len(valid) < 2:
            return real, one_hot_flat(adj, nodes, self.vocab)
        return real, encoded([drawn[k] for k in valid], (adj[valid], nodes[valid]))

    def save_samples(self, tr, path, n: int = 24):
        """A grid of ``n`` drawn graphs as molecules (RDKit drawing), invalid ones marked."""
        from ganforge.molecules.draw import save_molecule_grid

        fixed = torch.Generator(tr.device).manual_seed(tr.cfg.train.seed + 3)
        adj, nodes = draw_graphs(tr.ema_nets.get("G", tr.G), n, tr.cfg.model.z_dim, fixed)
        return save_molecule_grid(graphs_to_smiles(adj, nodes, self.vocab), path,
                                  title=f"round {tr.step_count}")

    def after_d_update(self, tr) -> None:
        if tr.objective.clip_weights:  # the Wasserstein critic's Lipschitz bound (Arjovsky et al. 2017)
            with torch.no_grad():
                for p in tr.D.parameters():
                    p.clamp_(-tr.cfg.loss.clip, tr.cfg.loss.clip)

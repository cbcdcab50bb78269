"""The tabular GAN: CTGAN's game (Xu et al. 2019) on rows encoded by the table transformer.

Each update draws a conditional vector c (one category of one discrete column, the column uniform
and the category by log-frequency; :mod:`ganforge.data.table_sampler`). G(z, c) gives raw outputs;
every one-hot span goes through Gumbel-softmax (temperature ``model.gumbel_tau``, 0.2) and every
scalar through tanh. D, a PacGAN critic (``model.pack`` rows per judgement), sees fake rows beside
their c, and real rows that have the asked category beside theirs (training-by-sampling). The
loss is WGAN-GP (the objective ``loss.name``, with its gradient penalty taken over whole packs as
in CTGAN's code); G's loss adds ``loss.cond_weight`` times the cross-entropy between its raw
logits of the asked column and the asked category, so that G honours c (CTGAN's L_cond). Every
random draw (z, c, real rows, Gumbel noise, penalty mixing) comes from the engine's noise
generator or the torch RNG, both in checkpoints, so resume is bit-exact.
"""

from __future__ import annotations

import torch

from ganforge.data.table import TableData
from ganforge.data.table_sampler import CondVector, RowIndex
from ganforge.errors import ConfigError
from ganforge.games.base import Game, Terms
from ganforge.nets.spec import NetworkSpec
from ganforge.nets.tabular import TabularDiscriminator, TabularGenerator


class OutputLayout:
    """Where each activation of an encoded row goes, as index tensors, so that all spans are
    activated by a fixed handful of tensor operations however many columns the table has.

    ``spans`` (objects with ``start``, ``size``, ``activation``) cover the row; every softmax span
    is a segment of its own and the tanh scalars share one extra segment (their softmax is
    computed and discarded). ``cond_spans`` are the discrete columns' spans, in the conditional
    vector's order.
    """

    def __init__(self, spans, cond_spans=(), device: torch.device | str = "cpu"):
        self.dim = sum(s.size for s in spans)
        segment = torch.zeros(self.dim, dtype=torch.int64)  # (dim,) softmax segment of each output
        tanh = torch.zeros(self.dim, dtype=torch.bool)  # (dim,) outputs that are tanh scalars
        softmax_spans = [s for s in spans if s.activation != "tanh"]
        for k, s in enumerate(softmax_spans):
            segment[s.start:s.start + s.size] = k
        for s in spans:
            if s.activation == "tanh":
                segment[s.start:s.start + s.size] = len(softmax_spans)
                tanh[s.start:s.start + s.size] = True
        self.n_segments = len(softmax_spans) + 1
        self.segment, self.tanh = segment.to(device), tanh.to(device)
        # the raw outputs of each discrete column, (n_cond, widest), padded with its first output
        widest = max((s.size for s in cond_spans), default=1)
        index = torch.zeros(len(cond_spans), widest, dtype=torch.int64)
        valid = torch.zeros(len(cond_spans), widest, dtype=torch.bool)
        for j, s in enumerate(cond_spans):
            index[j] = s.start
            index[j, :s.size] = torch.arange(s.start, s.start + s.size)
            valid[j, :s.size] = True
        self.cond_index, self.cond_valid = index.to(device), valid.to(device)


def segmented_softmax(y: torch.Tensor, segment: torch.Tensor, n_segments: int) -> torch.Tensor:
    """Softmax of ``y`` (B, dim) within each segment (``segment``: (dim,) ids in [0, n_segments))."""
    index = segment.expand(y.shape[0], -1)  # (B, dim)
    # the segment's maximum, subtracted for stability; softmax does not depend on it, so no gradient
    top = y.new_full((y.shape[0], n_segments), -torch.inf).scatter_reduce(1, index, y.detach(), "amax")
    e = torch.exp(y - top.gather(1, index))  # (B, dim)
    total = y.new_zeros(y.shape[0], n_segments).scatter_add(1, index, e)  # (B, n_segments)
    return e / total.gather(1, index)


def activate(raw: torch.Tensor, layout: OutputLayout, tau: float, generator: torch.Generator) -> torch.Tensor:
    """G's raw outputs (B, dim) -> rows: tanh on scalars, Gumbel-softmax on one-hot spans.

    Gumbel-softmax (Jang et al. 2017): softmax((logits + Gumbel noise) / tau) per span, its argmax
    a draw from softmax(logits); the noise comes from ``generator``.
    """
    u = torch.rand(raw.shape, generator=generator, device=generator.device).to(raw.device, raw.dtype)
    gumbel = -torch.log(-torch.log(u.clamp(1e-10, 1.0 - 1e-7)))  # (B, dim) standard Gumbel
    soft = segmented_softmax((raw + gumbel) / tau, layout.segment, layout.n_segments)  # (B, dim)
    return torch.where(layout.tanh, torch.tanh(raw), soft)


def cond_loss(raw: torch.Tensor, col: torch.Tensor, cat: torch.Tensor, layout: OutputLayout) -> torch.Tensor:
    """CTGAN's L_cond: cross-entropy of G's raw logits of the asked column ``col`` (B,) against the
    asked category ``cat`` (B,), averaged over the batch."""
    index = layout.cond_index[col]  # (B, widest) raw outputs of each row's asked column
    logits = raw.gather(1, index).masked_fill(~layout.cond_valid[col], -torch.inf)  # (B, widest)
    target = raw.gather(1, index.gather(1, cat[:, None])).squeeze(1)  # (B,) logit of the asked category
    return (torch.logsumexp(logits, 1) - target).mean()


@torch.no_grad()
def generate_rows(G, layout: OutputLayout, cond: CondVector, n: int, z_dim: int, generator: torch.Generator,
                  fixed: tuple[int, int] | None = None, batch: int = 1000) -> torch.Tensor:
    """``n`` encoded rows (n, dim) from G in eval mode, on the CPU. Each batch draws c with the
    data's category frequencies, or asks for category ``fixed[1]`` of discrete column ``fixed[0]``."""
    device = next(G.parameters()).device
    was_training = G.training
    G.eval()
    out = []
    try:
        for i in range(0, n, batch):
            b = min(batch, n - i)
            z = torch.randn(b, z_dim, generator=generator, device=generator.device).to(device)  # (b, z_dim)
            if cond.n_columns == 0:
                c = torch.zeros(b, 0, device=device)
            elif fixed is not None:
                c = cond.fixed(b, *fixed)
            else:
                c = cond.draw(b, generator, log_frequency=False)[0]
            # argmax of a Gumbel-softmax is a draw from the softmax: categories are sampled, not maxed
            out.append(activate(G(z, c.to(device)), layout, 1.0, generator).cpu())
    finally:
        G.train(was_training)
    return torch.cat(out) if out else torch.zeros(0, layout.dim)


class TabularGame(Game):
    name = "tabular"

    def __init__(self, cfg, data=None):
        super().__init__(cfg, data)
        self._device = None  # the training device the sampler's tensors were moved to
        self._fakes = None  # model.reuse_fakes: (raw, rows, c, column, category) of the last D update

    # ------------------------------------------------------------------ networks
    def _table(self):
        if not isinstance(self.data, TableData):
            raise ConfigError("model.game 'tabular' trains on a table: use `ganforge tabular fit data.csv` "
                              "(or ganforge.tabular.fit in Python)")
        return self.data

    def spec(self) -> NetworkSpec:
        """One row's encoded width; ``input_shape`` is the conditional vector's width (none: no
        discrete column)."""
        table = self._table()
        cond_dim = sum(len(c) for c in table.cond_counts)
        return NetworkSpec((table.dim,), 0, None, (cond_dim,) if cond_dim else None)

    def build(self, spec):
        return build_tabular_networks(self.cfg.model, spec)

    # ------------------------------------------------------------------ batches
    def _ready(self, tr) -> None:
        """Move the encoded rows and the samplers to the training device (once)."""
        if self._device == tr.device:
            return
        table = self._table()
        self.rows = table.rows.to(tr.device)  # (n, dim) encoded training rows
        self.cond = CondVector(table.cond_counts, tr.device)
        self.index = RowIndex(table.codes.to(tr.device), self.cond.sizes) if self.cond.n_columns else None
        self.layout = OutputLayout(table.spans, table.cond_spans, tr.device)
        self._device = tr.device

    def _draw_cond(self, tr, B):
        drawn = self.cond.draw(B, tr.noise_gen, log_frequency=tr.cfg.data.log_frequency)
        if drawn is None:
            return torch.zeros(B, 0, device=tr.device), None, None
        return drawn

    def d_loss(self, tr) -> Terms:
        self._ready(tr)
        B, gen = tr.cfg.train.batch_size, tr.noise_gen
        self._fakes = None
        z = tr.sample_z(B)  # (B, z_dim)
        c, col, cat = self._draw_cond(tr, B)  # c: (B, cond_dim)
        if col is None:
            real_index = torch.randint(len(self.rows), (B,), generator=gen, device=gen.device).to(tr.device)
            c_real = c
        else:
            # training-by-sampling: real rows having the asked categories, in another order than
            # the fakes' conditions so that D cannot pair them up (CTGAN shuffles likewise)
            perm = torch.randperm(B, generator=gen, device=gen.device).to(tr.device)
            real_index = self.index.draw(col[perm], cat[perm], gen)
            c_real = c[perm]
        real = torch.cat([self.rows[real_index], c_real], 1)  # (B, dim + cond_dim)
        if tr.cfg.model.reuse_fakes:
            # G's update of this round will judge these very fakes against the updated D, so keep
            # their graph (one G forward per round instead of two; PyTorch's DCGAN example does so)
            raw = tr.G_train(z, c).float()  # (B, dim)
            fake = activate(raw, self.layout, tr.cfg.model.gumbel_tau, gen)
            self._fakes = (raw, fake, c, col, cat)
            fake = fake.detach()
        else:
            with torch.no_grad():
                fake = activate(tr.G(z, c).float(), self.layout, tr.cfg.model.gumbel_tau, gen)
        fake = torch.cat([fake, c], 1)  # (B, dim + cond_dim)
        logits = tr.D_train(torch.cat([real, fake])).float()  # (2B / pack,): one forward, D has no batch norm
        real_logits, fake_logits = logits.chunk(2)
        terms = Terms()
        terms.add("d_loss", tr.objective.d_loss(real_logits, fake_logits))
        pack = tr.cfg.model.pack
        width = real.shape[1]
        # the penalty on whole packs (CTGAN): one mixing weight and one gradient norm per pack
        packed_D = lambda x: tr.D(x.reshape(-1, width))
        real_p, fake_p = real.reshape(B // pack, pack * width), fake.reshape(B // pack, pack * width)
        for reg in tr.regularizers_due():
            terms.add(reg.name, reg.penalty(packed_D, real_p, fake_p, gen), reg.scale())
        with torch.no_grad():
            terms.note("real_logit", real_logits.mean())
            terms.note("fake_logit", fake_logits.mean())
            terms.note("wasserstein", real_logits.mean() - fake_logits.mean())
        return terms

    def g_loss(self, tr) -> Terms:
        self._ready(tr)
        if self._fakes is not None:  # model.reuse_fakes: the fakes of this round's D update
            (raw, fake, c, col, cat), self._fakes = self._fakes, None
        else:
            B = tr.cfg.train.batch_size
            z = tr.sample_z(B)
            c, col, cat = self._draw_cond(tr, B)
            raw = tr.G_train(z, c).float()  # (B, dim) before activations
            fake = activate(raw, self.layout, tr.cfg.model.gumbel_tau, tr.noise_gen)
        fake_logits = tr.D(torch.cat([fake, c], 1)).float()
        terms = Terms()
        terms.add("g_loss", tr.objective.g_loss(fake_logits))
        if col is not None:
            terms.add("cond", cond_loss(raw, col, cat, self.layout), tr.cfg.loss.cond_weight)
        return terms

    def save_samples(self, tr, path, n: int = 2000):
        """Real against generated marginals of up to 12 columns (bars for categories, histograms)."""
        from ganforge.tabular.plots import save_marginals

        self._ready(tr)
        fixed = torch.Generator(tr.device).manual_seed(tr.cfg.train.seed + 3)
        G = tr.ema_nets.get("G", tr.G)
        fake = generate_rows(G, self.layout, self.cond, n, tr.cfg.model.z_dim, fixed)
        pick = torch.randperm(len(self.rows), generator=torch.Generator().manual_seed(tr.cfg.train.seed + 4))[:n]
        t = self._table().transformer
        return save_marginals(t.inverse(self.rows[pick.to(self.rows.device)].cpu()), t.inverse(fake), path,
                              title=f"round {tr.step_count}: real (grey) and generated (blue)")


def build_tabular_networks(m, spec: NetworkSpec) -> dict:
    """G and D for encoded rows of width ``spec.data_shape[0]`` and conditional vectors of width
    ``spec.input_shape[0]`` (0 when absent)."""
    dim = spec.data_shape[0]
    cond_dim = spec.input_shape[0] if spec.input_shape else 0
    G = TabularGenerator(m.z_dim, cond_dim, dim, m.g_width, m.g_depth)
    D = TabularDiscriminator(dim + cond_dim, m.d_width, m.d_depth, m.pack, m.d_dropout)
    return {"G": G, "D": D}

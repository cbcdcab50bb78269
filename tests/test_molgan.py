"""The molecule GAN: Gumbel-softmax graphs, the R-GCN critic, one round, resume, collapse, sampling."""

from __future__ import annotations

import pytest
import torch

pytest.importorskip("rdkit")

from ganforge.cli import main
from ganforge.config import Config
from ganforge.data.molecules import MoleculeGraphs
from ganforge.diagnostics.monitor import Monitor
from ganforge.engine import Trainer
from ganforge.games.molgan import draw_graphs
from ganforge.molecules.graphs import Vocabulary, graph_to_smiles, one_hot_flat, smiles_to_graph
from ganforge.molecules.metrics import INVALID
from ganforge.molecules.smiles import graphs_from_smiles
from ganforge.nets.molgan import MolGANGenerator, RelationalGCN, gumbel_graph, split_graph

VOCAB = Vocabulary.from_string("C,N,O,F", 9)
N, E, T = 9, 4, 5
# 100 small molecules of QM9's kinds (C, N, O, F, up to 9 heavy atoms), written here so no data is needed
_BASE = ["C", "N", "O", "CC", "CO", "CN", "C#C", "C#N", "C=O", "CCC", "CCO", "CC#N", "CC=O", "NC=O", "OCC=O",
         "C1CC1", "C1CO1", "C1CN1", "CC(C)C", "CC(C)O", "CCCC", "CCCO", "CCOC", "OCCO", "NCCO", "FC(F)F", "CF",
         "CC(=O)N", "CC(=O)O", "C1CCC1", "C1CCO1", "C1=CC=CC=C1", "C1=CN=CC=C1", "C1=COC=C1", "C1=CNC=C1",
         "CC1CC1", "OC1CC1", "NC1CC1", "N#CC1CC1", "CC(C)(C)C", "CCCCC", "CCCCO", "CCCCN", "OCCCO", "CC(O)CO",
         "C#CC#C", "C#CCO", "C#CCN", "O=CC=O", "CC(=O)C"]
# ... and their variants with one more carbon in front or at the end, where that is still a molecule
MOLECULES = list(dict.fromkeys(_BASE + [v for s in _BASE for v in ("C" + s, s + "C")]))


def _data(smiles=MOLECULES, limit: int = 100) -> MoleculeGraphs:
    adj, nodes, canon, report = graphs_from_smiles(smiles, VOCAB, limit=limit)
    return MoleculeGraphs(adj, nodes, canon, VOCAB, "smiles", report)


# a tiny molecule GAN on a SMILES file (the path is replaced where a test reads it)
SETTINGS = {"model.game": "molgan", "model.arch": "molgan", "data.name": "smiles", "data.path": "unused.smi",
            "model.z_dim": 8, "model.g_width": 16, "model.g_depth": 2, "model.d_width": 16,
            "model.gumbel_tau": 1.0, "loss.name": "wgan-gp", "train.batch_size": 8, "train.steps": 3,
            "train.progress": False, "train.threads": 1, "train.sample_every": 0, "train.checkpoint_every": 0,
            "train.log_every": 1, "optim.lr_g": 1e-3, "optim.lr_d": 1e-3}


def _cfg(**extra) -> Config:
    return Config().with_overrides({**SETTINGS, **extra})


def test_gumbel_graph_one_hot_forward_gradients_backward():
    torch.manual_seed(0)
    edges = torch.randn(4, E, N, N, requires_grad=True)
    nodes = torch.randn(4, N, T, requires_grad=True)
    sym = 0.5 * (edges + edges.transpose(2, 3))
    flat = gumbel_graph(sym, nodes, 1.0, torch.Generator().manual_seed(1), hard=True)
    a, x = split_graph(flat, N, E, T)  # (4, N, N, E), (4, N, T)
    for part in (a, x):  # forward: exactly one-hot
        assert set(part.detach().unique().tolist()) <= {0.0, 1.0}
        assert torch.equal(part.detach().sum(-1), torch.ones(part.shape[:-1]))
    assert torch.equal(a.detach(), a.detach().transpose(1, 2))  # symmetric draws
    assert (a.detach().diagonal(dim1=1, dim2=2)[:, 0] == 1).all()  # no self loops: "no bond" on the diagonal
    weights = torch.randn(flat.shape[1])
    (flat * weights).sum().backward()  # backward: the softmax's gradient reaches both logits
    assert edges.grad.abs().sum() > 0 and nodes.grad.abs().sum() > 0
    soft = gumbel_graph(sym, nodes, 1.0, torch.Generator().manual_seed(1), hard=False)
    assert torch.allclose(soft.detach().reshape(-1).round(), soft.detach().reshape(-1)) is False  # relaxed: not one-hot
    assert torch.equal(split_graph(soft, N, E, T)[1].argmax(-1), x.argmax(-1))  # same noise, same draw


def test_relational_gcn_is_invariant_to_node_order():
    torch.manual_seed(0)
    D = RelationalGCN(N, E, T, width=16)
    data = _data()
    adj, nodes = data.batch(torch.arange(6))
    perm = torch.randperm(N)
    flat = one_hot_flat(adj, nodes, VOCAB)
    permuted = one_hot_flat(adj[:, perm][:, :, perm], nodes[:, perm], VOCAB)
    assert not torch.equal(flat, permuted)
    assert torch.allclose(D(flat), D(permuted), atol=1e-5)
    assert not torch.allclose(D(flat[:1]), D(flat[1:2]))  # yet different molecules score differently


def test_generator_edges_are_symmetric():
    G = MolGANGenerator(8, N, E, T, 16, 2)
    e, x = G(torch.randn(3, 8))
    assert e.shape == (3, E, N, N) and x.shape == (3, N, T)
    assert torch.allclose(e, e.transpose(2, 3))


def test_one_round_on_100_molecules_trains_every_network():
    data = _data()
    assert len(data) == 100
    tr = Trainer(_cfg(**{"loss.reward_weight": 0.5}), dataset=data)
    assert set(tr.nets) == {"G", "D", "R"} and tr.game.d_side == ("D", "R")
    before = {k: [p.detach().clone() for p in net.parameters()] for k, net in tr.nets.items()}
    stats = tr.step()
    for k, net in tr.nets.items():
        assert any(not torch.equal(a, b) for a, b in zip(before[k], net.parameters())), k
    for key in ("d_loss", "gp", "reward_fit", "g_loss", "reward", "wasserstein"):
        assert key in stats and torch.isfinite(torch.tensor(stats[key])), key
    assert 0 < stats["reward_real"] <= 1  # QED of real molecules; fakes of an untrained G are mostly invalid


def test_plain_gan_has_no_reward_network_and_takes_packing_and_r1():
    tr = Trainer(_cfg(**{"model.pack": 4, "loss.name": "nonsaturating", "loss.r1_weight": 1.0}), dataset=_data())
    assert set(tr.nets) == {"G", "D"}
    stats = tr.step()
    assert "reward" not in stats and stats["r1"] > 0 and "gp" not in stats
    flat = one_hot_flat(*_data().batch(torch.arange(8)), VOCAB)
    assert tr.D(flat).shape == (2,)  # packs of 4 graphs: one logit each


def test_resume_is_bit_exact(tmp_path):
    data = _data()
    straight = Trainer(_cfg(**{"model.pack": 2}), dataset=data)
    for _ in range(3):
        straight.step()
    first = Trainer(_cfg(**{"model.pack": 2}), dataset=data)
    first.step()
    ckpt = first.save_checkpoint(tmp_path)
    resumed = Trainer(_cfg(**{"model.pack": 2}), dataset=data)
    resumed.load_checkpoint(ckpt)
    resumed.step()
    resumed.step()
    for name in ("G", "D"):
        for a, b in zip(straight.nets[name].parameters(), resumed.nets[name].parameters()):
            assert torch.equal(a, b)


def test_collapse_alert_fires_on_a_frozen_generator_and_not_on_real_data():
    data = _data()
    tr = Trainer(_cfg(), dataset=data)
    # planted collapse: G's output layers ignore z and put all mass on one molecule (ethane)
    adj, nodes = data.batch(torch.tensor([data.smiles.index("CC")]))
    with torch.no_grad():
        for layer, target, classes in ((tr.G.edges, adj[0], E), (tr.G.nodes, nodes[0], T)):
            layer.weight.zero_()
            one_hot = torch.nn.functional.one_hot(target, classes).float()  # (N, N, E) or (N, T)
            logits = one_hot.permute(2, 0, 1) if classes == E else one_hot  # G's layout: (E, N, N), (N, T)
            layer.bias.copy_(40.0 * logits.reshape(-1))
    real, collapsed = tr.game.collapse_batches(tr, 100, torch.Generator().manual_seed(0), torch.Generator().manual_seed(1))
    assert (collapsed == collapsed[:1]).all()  # every drawn graph is ethane
    monitor = Monitor("wasserstein", console=False)
    monitor.callback(n_images=100).check(tr, 1)  # the training callback's own path for molecule runs
    assert [a.name for a in monitor.alerts] == ["mode-collapse"] and monitor.alerts[0].severity == "error"
    other = data.batch(torch.arange(50, 100))
    healthy = Monitor("wasserstein", console=False).check_samples(real[:50], one_hot_flat(*other, VOCAB), step=1)
    assert not [a for a in healthy if a.name == "mode-collapse"]  # real molecules against real molecules


def test_sample_command_writes_one_line_per_graph(tmp_path, monkeypatch, capsys):
    path = tmp_path / "m.smi"
    path.write_text("\n".join(MOLECULES) + "\n")
    run = tmp_path / "run"
    settings = {**SETTINGS, "data.path": str(path), "train.steps": 2, "train.progress": "false"}
    args = ["train", "--preset", "qm9-molgan", "--out", str(run), "--no-report"]
    for key, value in settings.items():
        args += ["--set", f"{key}={value}"]
    assert main(args) == 0
    tr = Trainer.from_checkpoint(run / "checkpoints" / "step-0000002")
    out = tmp_path / "mols.smi"
    assert main(["sample", str(run), "-n", "50", "--out", str(out), "--seed", "3"]) == 0
    lines = out.read_text().splitlines()
    assert len(lines) == 50 and all(line == INVALID or " " not in line for line in lines)
    G = tr.nets["G"]
    adj, nodes = draw_graphs(G, 50, 8, torch.Generator().manual_seed(3))
    from ganforge.games.molgan import graphs_to_smiles

    expected = [s or INVALID for s in graphs_to_smiles(adj, nodes, VOCAB)]
    assert lines == expected  # the file is G's draws with the seed, INVALID where not a molecule
    valid_out = tmp_path / "valid.smi"
    assert main(["sample", str(run), "-n", "50", "--out", str(valid_out), "--seed", "3", "--valid-only"]) == 0
    assert valid_out.read_text().splitlines() == [s for s in expected if s != INVALID]
    fixed_out = tmp_path / "fixed.smi"  # valency correction: valid draws unchanged, others repaired
    assert main(["sample", str(run), "-n", "50", "--out", str(fixed_out), "--seed", "3", "--correct"]) == 0
    fixed = fixed_out.read_text().splitlines()
    assert all(f == e for f, e in zip(fixed, expected) if e != INVALID)
    assert sum(f != INVALID for f in fixed) > sum(e != INVALID for e in expected)
    assert "without it" in capsys.readouterr().out
    assert main(["sample", str(run), "-n", "5", "--out", str(tmp_path / "x.png")]) == 1
    assert "accepted: .smi, .txt" in capsys.readouterr().err

    # eval: validity is what the sample file says for the same seed; FCD is a line, marked when absent
    assert main(["eval", str(run), "--metrics", "molecules", "-n", "50", "--seed", "3"]) == 0
    import json

    lines = {m["metric"]: m for m in map(json.loads, (run / "metrics.jsonl").read_text().splitlines())}
    assert lines["validity"]["value"] == pytest.approx(sum(s != INVALID for s in expected) / 50)
    assert set(lines) == {"validity", "uniqueness", "novelty", "internal_diversity", "qed_w1", "logp_w1", "sa_w1", "fcd"}
    assert lines["validity"]["provenance"]["n_fake"] == 50 and lines["validity"]["provenance"]["checkpoint"] == "step-0000002"
    assert main(["eval", str(run), "--metrics", "fid"]) == 1
    assert "valid metrics: molecules" in capsys.readouterr().err


@pytest.mark.data
def test_qm9_preset_trains_and_draws_molecules(shared_data, tmp_path):
    from PIL import Image

    from ganforge.presets import load_preset

    cfg = load_preset("qm9-molgan").with_overrides({
        "train.progress": False, "train.batch_size": 8, "train.threads": 1,
        "data.data_dir": str(shared_data), "data.limit": 64})
    tr = Trainer(cfg)
    assert len(tr.data) == 64 and cfg.loss.name == "wgan-gp" and tr.G_ema is not None
    for _ in range(2):
        stats = tr.step()
    assert all(torch.isfinite(torch.tensor(v)) for v in stats.values())
    with Image.open(tr.game.save_samples(tr, tmp_path / "s.png")) as picture:
        assert picture.size == (6 * 200, 4 * 200)  # 24 drawn graphs, 6 per row


def test_collapse_check_counts_one_molecule_in_two_atom_orders_as_a_duplicate(monkeypatch):
    data = _data()
    tr = Trainer(_cfg(), dataset=data)
    propanol = data.batch(torch.tensor([data.smiles.index("CCCO")]))
    order = torch.tensor([3, 2, 1, 0, 4, 5, 6, 7, 8])  # the same molecule, atoms written backwards
    swapped = (propanol[0][:, order][:, :, order], propanol[1][:, order])
    assert not torch.equal(swapped[1], propanol[1])

    def frozen_draws(G, n, z_dim, generator, tau=1.0, batch=1000):  # half one order, half the other
        half = n // 2
        return (torch.cat([propanol[0].expand(half, -1, -1), swapped[0].expand(n - half, -1, -1)]),
                torch.cat([propanol[1].expand(half, -1), swapped[1].expand(n - half, -1)]))

    monkeypatch.setattr("ganforge.games.molgan.draw_graphs", frozen_draws)
    real, fake = tr.game.collapse_batches(tr, 40, torch.Generator().manual_seed(0), torch.Generator())
    assert (fake == fake[:1]).all()  # canonical re-encoding: one point
    monitor = Monitor("wasserstein", console=False)
    assert [a.name for a in monitor.check_samples(real, fake, step=1)] == ["mode-collapse"]


def test_collapse_check_keeps_a_drawn_nitro_group_that_rdkit_writes_charged(monkeypatch):
    # N(=O)=O passes RDKit's sanitisation as C[N+](=O)[O-]: valid, but N+ and O- are outside C,N,O,F
    tr = Trainer(_cfg(), dataset=_data())
    nodes = torch.tensor([1, 2, 3, 3, 0, 0, 0, 0, 0])
    adj = torch.zeros(9, 9, dtype=torch.int64)
    for i, j, order in [(0, 1, 1), (1, 2, 2), (1, 3, 2)]:
        adj[i, j] = adj[j, i] = order
    assert graph_to_smiles(adj, nodes, VOCAB) == "C[N+](=O)[O-]"
    ethanol = smiles_to_graph("CCO", VOCAB)

    def draws(G, n, z_dim, generator, tau=1.0, batch=1000):  # nitromethane and ethanol, alternating
        pick = torch.arange(n) % 2 == 0
        return (torch.where(pick[:, None, None], adj, ethanol[0]), torch.where(pick[:, None], nodes, ethanol[1]))

    monkeypatch.setattr("ganforge.games.molgan.draw_graphs", draws)
    real, fake = tr.game.collapse_batches(tr, 10, torch.Generator().manual_seed(0), torch.Generator())
    assert fake.shape == (10, VOCAB.flat_dim)
    assert torch.equal(fake[0], one_hot_flat(adj[None], nodes[None], VOCAB)[0])  # kept as drawn
    assert torch.equal(fake[1], one_hot_flat(ethanol[0][None], ethanol[1][None], VOCAB)[0])

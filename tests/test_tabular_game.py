"""The tabular game on the engine: a few rounds on a planted table, bit-exact resume, sampling."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

from ganforge.engine.trainer import Trainer
from ganforge.errors import ConfigError
from ganforge.games.tabular import OutputLayout, activate, cond_loss
from ganforge.tabular import fit, infer_metadata, sample
from ganforge.tabular.fit import tabular_config
from ganforge.tabular.transform import Span, TableTransformer, encode_table

SMALL = {"model.z_dim": 8, "model.g_width": 16, "model.d_width": 16, "model.pack": 5, "train.batch_size": 50,
         "train.progress": False}


def planted(n: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(2)
    colour = rng.choice(["red", "green", "blue"], n, p=[0.6, 0.3, 0.1])
    return pd.DataFrame({
        "colour": colour,
        "size": np.where(colour == "red", rng.normal(10, 1, n), rng.normal(30, 2, n)),
        "count": rng.integers(0, 5, n),
        "flag": np.where(rng.random(n) < 0.2, None, rng.choice(["yes", "no"], n)),
    })


def trainer_for(df, steps: int) -> Trainer:
    meta = infer_metadata(df)
    table = encode_table(df, TableTransformer.fit(df, meta))
    return Trainer(tabular_config({**SMALL, "train.steps": steps}), dataset=table)


def test_cond_loss_is_the_cross_entropy_of_the_asked_column():
    raw = torch.tensor([[2.0, 0.0, 5.0, 1.0, 0.0], [0.0, 1.0, 0.0, 0.0, 3.0]])
    spans = [Span(0, 2, "softmax"), Span(2, 3, "softmax")]
    col, cat = torch.tensor([0, 1]), torch.tensor([0, 2])  # row 0 asks column 0 = 0; row 1 column 1 = 2
    expected = (-torch.log_softmax(raw[0, :2], 0)[0] - torch.log_softmax(raw[1, 2:], 0)[2]) / 2
    assert cond_loss(raw, col, cat, OutputLayout(spans, spans)).item() == pytest.approx(expected.item())


def test_activate_is_tanh_and_a_gumbel_softmax_per_span():
    spans = [Span(0, 1, "tanh"), Span(1, 3, "softmax"), Span(4, 1, "tanh"), Span(5, 2, "softmax")]
    layout = OutputLayout(spans)
    raw = torch.randn(64, 7, generator=torch.Generator().manual_seed(0)) * 3
    raw.requires_grad_(True)
    out = activate(raw, layout, 0.2, torch.Generator().manual_seed(1))
    torch.testing.assert_close(out[:, [0, 4]], torch.tanh(raw[:, [0, 4]]))
    # each softmax span is the softmax of (raw + the Gumbel noise of the same draw) / tau
    u = torch.rand(64, 7, generator=torch.Generator().manual_seed(1)).clamp(1e-10, 1 - 1e-7)
    noisy = (raw + -torch.log(-torch.log(u))) / 0.2
    torch.testing.assert_close(out[:, 1:4], torch.softmax(noisy[:, 1:4], 1))
    torch.testing.assert_close(out[:, 5:7], torch.softmax(noisy[:, 5:7], 1))
    # gradients flow into every output, and only within its own span
    out[:, 2].sum().backward()
    assert raw.grad[:, [0, 4, 5, 6]].abs().sum() == 0 and raw.grad[:, 1:4].abs().sum() > 0


def test_rounds_report_every_term_and_train_g():
    tr = trainer_for(planted(), 3)
    before = [p.clone() for p in tr.G.parameters()]
    stats = [tr.step() for _ in range(3)]
    assert {"d_loss", "gp", "g_loss", "cond", "wasserstein"} <= set(stats[-1])
    assert all(np.isfinite(v) for s in stats for v in s.values())
    assert any(not torch.equal(a, b) for a, b in zip(before, tr.G.parameters()))
    # D judges packs of 5 rows with their conditional vectors
    assert tr.spec.input_shape == (3 + 3,) and tr.D.pack == 5


def test_resume_is_bit_exact(tmp_path):
    df = planted()
    straight = trainer_for(df, 6)
    for _ in range(6):
        straight.step()
    first = trainer_for(df, 6)
    for _ in range(3):
        first.step()
    ckpt = first.save_checkpoint(tmp_path / "checkpoints")
    resumed = Trainer.from_checkpoint(ckpt, dataset=first.data)
    for _ in range(3):
        resumed.step()
    for a, b in zip(straight.modules().values(), resumed.modules().values()):
        for (name, x), (_, y) in zip(a.state_dict().items(), b.state_dict().items()):
            assert torch.equal(x, y), name


@pytest.mark.parametrize("reuse, forwards", [(False, 2), (True, 1)])
def test_reuse_fakes_runs_g_once_per_round_and_resumes_exactly(tmp_path, reuse, forwards):
    df = planted()
    meta = infer_metadata(df)
    table = encode_table(df, TableTransformer.fit(df, meta))
    cfg = tabular_config({**SMALL, "train.steps": 4, "model.reuse_fakes": reuse, "optim.weight_decay": 1e-6})
    tr = Trainer(cfg, dataset=table)
    assert tr.opt_g.param_groups[0]["weight_decay"] == tr.opt_d.param_groups[0]["weight_decay"] == 1e-6
    assert tr.opt_g.defaults["fused"] and tr.opt_d.defaults["fused"]  # the tabular default
    calls = []
    hook = tr.G.register_forward_hook(lambda *a: calls.append(1))
    tr.step()
    hook.remove()
    assert len(calls) == forwards
    before = [p.clone() for p in tr.G.parameters()]
    tr.step()
    assert any(not torch.equal(a, b) for a, b in zip(before, tr.G.parameters()))  # the reused fakes train G
    ckpt = tr.save_checkpoint(tmp_path / "checkpoints")
    for _ in range(2):
        tr.step()
    resumed = Trainer.from_checkpoint(ckpt, dataset=table)  # restores the process RNG (D's dropout) too
    for _ in range(2):
        resumed.step()
    for a, b in zip(tr.modules().values(), resumed.modules().values()):
        for (name, x), (_, y) in zip(a.state_dict().items(), b.state_dict().items()):
            assert torch.equal(x, y), name


def test_fit_then_sample_keeps_columns_dtypes_and_values(tmp_path, capsys):
    df = planted()
    run = fit(df, tmp_path / "run", epochs=4, **SMALL)
    assert "colour: categorical" in capsys.readouterr().err
    assert {p.name for p in (run / "table").iterdir()} == {"metadata.json", "transformer.json", "transformer.safetensors"}
    assert json.loads((run / "config.json").read_text())["model"]["game"] == "tabular"
    s = sample(run, 400, seed=1)
    assert list(s.columns) == list(df.columns) and s.dtypes.to_dict() == df.dtypes.to_dict()
    assert set(s["colour"]) <= set(df["colour"]) and set(s["flag"].dropna()) <= {"yes", "no"}
    assert s["count"].between(0, 4).all() and s["size"].between(df["size"].min(), df["size"].max()).all()
    pd.testing.assert_frame_equal(s, sample(run, 400, seed=1))  # a seed fixes the draw
    blue = sample(run, 50, condition={"colour": "blue"}, seed=2)
    assert len(blue) == 50 and (blue["colour"] == "blue").all()
    assert (sample(run, 30, condition="flag=no")["flag"] == "no").all()
    with pytest.raises(ConfigError, match="has no value 'purple'; its values: red, green, blue"):
        sample(run, 5, condition="colour=purple")
    with pytest.raises(ConfigError, match="numeric"):
        sample(run, 5, condition="size=10")
    with pytest.raises(ConfigError, match="names no column 'shape'"):
        sample(run, 5, condition="shape=round")


def test_fit_resume_continues_the_run(tmp_path):
    df = planted()
    run = fit(df, tmp_path / "run", epochs=2, verbose=False, **SMALL)
    fit(df, run, epochs=4, resume=True, verbose=False)
    steps = [json.loads(line)["step"] for line in (run / "stats.jsonl").read_text().splitlines()]
    assert steps[-1] == 4 * (len(df) // 50)

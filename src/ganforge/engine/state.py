"""A trainer's complete state: what a checkpoint holds, so that resume continues bit-exactly.

Weights go in one safetensors file per network; everything else (optimizer moments, RNG states,
the data stream's position, the round counters, the networks' description) is captured by
:func:`training_state` and written by :mod:`ganforge.engine.checkpoint`.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from ganforge.engine import checkpoint as ckpt
from ganforge.engine.generator import load_weights
from ganforge.nets.spec import NetworkSpec
from ganforge.errors import CheckpointError, TrainingDiverged


def modules_of(tr) -> dict[str, nn.Module]:
    """The networks a checkpoint stores, by file stem: the game's, then their averages (``G_ema``)."""
    return {**tr.nets, **{f"{name}_ema": net for name, net in tr.ema_nets.items()}}


def training_state(tr) -> dict:
    """Everything besides the network weights needed to continue bit-exactly."""
    rng = {"torch": torch.get_rng_state(), "noise": tr.noise_gen.get_state(), "augment": tr.augment_gen.get_state()}
    if torch.cuda.is_available():
        rng["cuda"] = torch.cuda.get_rng_state_all()
    return {
        "step": tr.step_count,
        "d_updates": tr.d_updates,
        "g_updates": tr.g_updates,
        "config": tr.cfg.to_dict(),
        "networks": tr.spec.to_dict(),
        "optim_g": ckpt.optimizer_state(tr.opt_g),
        "optim_d": ckpt.optimizer_state(tr.opt_d) if tr.opt_d is not None else None,
        "rng": rng,
        "data": tr.stream.state_dict(),
        "game": tr.game.state_dict(),
        "augment": tr.augment.state_dict(),  # ADA's p and its accumulators
    }


def save(tr, root: Path) -> Path:
    """Write a checkpoint of the trainer's current round under ``root``; refuses non-finite weights."""
    for name, module in modules_of(tr).items():
        for p in module.parameters():
            if not torch.isfinite(p).all():
                raise TrainingDiverged(f"{name}'s weights are not finite at round {tr.step_count}; not saving. "
                                       f"Last good checkpoint: {tr.last_checkpoint or 'none'}")
    return ckpt.save_checkpoint(Path(root), tr.step_count, modules_of(tr), training_state(tr),
                                keep=tr.cfg.train.keep_checkpoints)


def restore(tr, path: Path) -> None:
    """Load weights and the full training state of checkpoint ``path`` into trainer ``tr``."""
    _, weights, state = ckpt.read_checkpoint(Path(path))
    saved_model = state.get("config", {}).get("model") if isinstance(state.get("config"), dict) else None
    if not isinstance(saved_model, dict):
        raise CheckpointError(f"checkpoint {path}: state.json holds no model configuration")
    current = tr.cfg.to_dict()["model"]
    # a setting added after the checkpoint was written holds its default there: the same networks
    saved_model = {k: saved_model.get(k, default) for k, default in type(tr.cfg)().to_dict()["model"].items()}
    if saved_model != current:
        diff = sorted(k for k in current if saved_model[k] != current[k])
        raise CheckpointError(f"checkpoint {path} is from a different architecture "
                              f"(model settings differ: {', '.join(diff)})")
    if "networks" in state and NetworkSpec.from_dict(state["networks"], str(path)).data_shape != tr.spec.data_shape:
        raise CheckpointError(f"checkpoint {path} was trained on data of shape "
                              f"{tuple(state['networks']['data_shape'])}, this data has {tr.spec.data_shape}")
    for name, module in modules_of(tr).items():
        if name not in weights:
            raise CheckpointError(f"checkpoint {path} has no {name} weights")
        load_weights(module, weights[name], name, path)
    try:
        ckpt.load_optimizer_state(tr.opt_g, state["optim_g"])
        if tr.opt_d is not None:
            ckpt.load_optimizer_state(tr.opt_d, state["optim_d"])
        torch.set_rng_state(state["rng"]["torch"])
        tr.noise_gen.set_state(state["rng"]["noise"])
        if "augment" in state["rng"]:  # checkpoints from before augmentation have none
            tr.augment_gen.set_state(state["rng"]["augment"])
        tr.augment.load_state_dict(state.get("augment", {}))
        if "cuda" in state["rng"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["rng"]["cuda"])
        tr.stream.load_state_dict(state["data"])
        tr.game.load_state_dict(state.get("game", {}))
        tr.step_count = int(state["step"])
    except (ValueError, KeyError, TypeError, RuntimeError) as e:
        raise CheckpointError(f"checkpoint {path}: the training state does not fit this trainer ({e})") from None
    # checkpoints from before the update counters were saved: a round is d_steps D updates + one G update
    tr.g_updates = int(state.get("g_updates", tr.step_count))
    tr.d_updates = int(state.get("d_updates", tr.step_count * tr.cfg.train.d_steps))
    tr.last_checkpoint = Path(path)

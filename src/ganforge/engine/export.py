"""Export a trained generator for use without ganforge: TorchScript (always) and ONNX (optional).

The exported module maps latent noise to samples: ``forward(z)``, or ``forward(z, labels)`` for a
class-conditional G; ``z`` is (n, z_dim) float32, ``labels`` (n,) int64, the output (n, ...) in
the data's range ([-1, 1] for images). A JSON file beside it says how to feed it:

    G = torch.jit.load("g.pt")                  # in any process, no ganforge import
    x = G(torch.randn(16, meta["z_dim"]))       # meta = json.load(open("g.pt.json"))
"""

from __future__ import annotations

import importlib.util
import warnings
from pathlib import Path

import torch
from torch import nn

from ganforge.engine.generator import Generator
from ganforge.errors import ConfigError
from ganforge.fileio import atomic_path, atomic_write_text, to_json

FORMATS = {".pt": "torchscript", ".onnx": "onnx"}


class _Unconditional(nn.Module):
    """forward(z) -> samples: the signature an exported unconditional G has."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z, None)


class _Conditional(nn.Module):
    """forward(z, labels) -> samples: the signature an exported conditional G has."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return self.net(z, labels)


def _exportable(G: Generator) -> tuple[nn.Module, tuple[torch.Tensor, ...], list[str]]:
    """(module in eval mode on the CPU, example inputs, input names) for tracing."""
    net = G.net.cpu().eval()
    z = torch.zeros(2, G.z_dim)
    if G.conditional:
        return _Conditional(net).eval(), (z, torch.zeros(2, dtype=torch.long)), ["z", "labels"]
    return _Unconditional(net).eval(), (z,), ["z"]


def metadata(G: Generator, fmt: str, source: str = "") -> dict:
    """What a user needs to feed the exported module (written as JSON beside it)."""
    return {
        "format": fmt,
        "inputs": ["z", "labels"] if G.conditional else ["z"],
        "z_dim": G.z_dim,
        "noise": G.noise,  # "gaussian": z ~ N(0, I); "uniform": z ~ U[-1, 1]
        "classes": G.n_classes,
        "class_prior": G.spec.class_prior if G.conditional else None,
        "output_shape": list(G.spec.data_shape),
        "output_range": None if G.spec.is_points else [-1.0, 1.0],
        "kind": "points" if G.spec.is_points else "images",
        "source": source,
    }


def metadata_path(out: Path) -> Path:
    """The JSON description beside an exported file: ``g.pt`` -> ``g.pt.json``."""
    return out.with_name(out.name + ".json")


def export_generator(G: Generator, out: str | Path, source: str = "") -> tuple[Path, Path]:
    """Write ``G`` to ``out`` (.pt: TorchScript; .onnx: ONNX) and its description to ``out``.json.

    Both files are written atomically. Returns (model path, JSON path).
    """
    out = Path(out)
    fmt = FORMATS.get(out.suffix.lower())
    if fmt is None:
        raise ConfigError(f"--out {out.name!r}: unknown export format; accepted: .pt (TorchScript), .onnx (ONNX)")
    if fmt == "onnx" and importlib.util.find_spec("onnx") is None:
        raise ConfigError("ONNX export needs the onnx package (pip install onnx); TorchScript (.pt) needs nothing")
    module, example, names = _exportable(G)
    with atomic_path(out) as tmp:
        if fmt == "torchscript":
            with torch.no_grad():
                traced = torch.jit.trace(module, example, check_trace=False)
            traced.save(str(tmp))
        else:
            axes = {name: {0: "batch"} for name in names} | {"samples": {0: "batch"}}
            # the TorchScript-based exporter needs only the onnx package (the newer one needs onnxscript)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                torch.onnx.export(module, example, str(tmp), input_names=names, output_names=["samples"],
                                  dynamic_axes=axes, dynamo=False)
    meta_path = metadata_path(out)
    atomic_write_text(meta_path, to_json(metadata(G, fmt, source), indent=2) + "\n")
    return out, meta_path


def export_classifier(path_or_run, out: str | Path, ema: bool = True) -> tuple[Path, Path]:
    """Write a semi-supervised run's D as a TorchScript classifier and its description (``out``.json).

    The module maps images (n, C, H, W) scaled to [-1, 1], the dataset's shape, to K class logits
    (n, K); the generated class of the (K+1)-class D is left out (its logit is the constant 0, see
    :mod:`ganforge.games.ssl`). ``ema``: D's moving average when the run kept one. Only .pt.
    """
    from ganforge.engine.generator import load_networks, resolve_checkpoint

    out = Path(out)
    if out.suffix.lower() != ".pt":
        raise ConfigError(f"--out {out.name!r}: a classifier is exported as TorchScript; accepted: a .pt file")
    checkpoint = resolve_checkpoint(path_or_run)
    cfg, spec, nets = load_networks(checkpoint)
    if cfg.model.game != "ssl":
        raise ConfigError(f"{path_or_run} is a model.game {cfg.model.game!r} run; --classifier exports the D of a "
                          f"semi-supervised run (model.game 'ssl', e.g. --preset mnist-ssl-100)")
    net = nets["D_ema"] if ema and "D_ema" in nets else nets["D"]
    example = torch.zeros(2, *spec.data_shape)  # (2, C, H, W)
    with atomic_path(out) as tmp, torch.no_grad():
        torch.jit.trace(_Unconditional(net.cpu().eval()), (example,), check_trace=False).save(str(tmp))
    meta = {
        "format": "torchscript", "kind": "classifier", "inputs": ["images"], "input_shape": list(spec.data_shape),
        "input_range": [-1, 1], "outputs": "class logits (n, K)", "classes": spec.n_classes,
        "dataset": cfg.data.name, "ema": net is nets.get("D_ema"),
        "source": f"{checkpoint.parent.parent.name}/{checkpoint.name}",
    }
    meta_path = metadata_path(out)
    atomic_write_text(meta_path, to_json(meta, indent=2) + "\n")
    return out, meta_path

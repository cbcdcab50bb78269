"""Sampling molecules from a trained molecule GAN run: one SMILES (or INVALID) per line.

``ganforge sample RUN -n 10000 --out mols.smi`` draws ``n`` graphs and writes one line per graph,
its canonical SMILES, or ``INVALID`` for a graph that is not one valid, connected molecule, so the
file's validity can be read from it; ``--valid-only`` leaves those lines out; ``--correct`` applies
MoFlow's valency correction to the drawn graphs first (the printed line gives both validities).
"""

from __future__ import annotations

from pathlib import Path

import torch

from ganforge.errors import ConfigError, RunDirError
from ganforge.fileio import atomic_write_text
from ganforge.molecules.metrics import INVALID

SMILES_SUFFIXES = (".smi", ".txt")
MAX_SAMPLES = 1_000_000  # graphs per call


def draw_run_graphs(path_or_run, n: int, seed: int = 0, ema: bool = True):
    """``n`` graphs drawn from a run's latest checkpoint: (adj (n, N, N), nodes (n, N), vocabulary)."""
    from ganforge.engine.generator import load_networks
    from ganforge.games.molgan import draw_graphs, vocabulary

    cfg, _, nets = load_networks(path_or_run)
    if cfg.model.game != "molgan":
        raise ConfigError(f"{path_or_run} is a model.game {cfg.model.game!r} run; SMILES come from molgan runs")
    G = nets.get("G_ema") if ema and "G_ema" in nets else nets["G"]
    adj, nodes = draw_graphs(G, n, cfg.model.z_dim, torch.Generator().manual_seed(seed))
    return adj, nodes, vocabulary(cfg)


def sample_smiles(path_or_run, n: int, seed: int = 0, ema: bool = True) -> list[str | None]:
    """``n`` SMILES (None where the graph is not a molecule) from a run's latest checkpoint."""
    from ganforge.games.molgan import graphs_to_smiles

    adj, nodes, vocab = draw_run_graphs(path_or_run, n, seed, ema)
    return graphs_to_smiles(adj, nodes, vocab)


def write_smiles(smiles: list[str | None], out: str | Path, valid_only: bool = False) -> int:
    """Write one line per entry (INVALID for None) atomically; returns the lines written."""
    lines = [s if s else INVALID for s in smiles if s or not valid_only]
    atomic_write_text(Path(out), "".join(line + "\n" for line in lines))
    return len(lines)


def run_sample(args) -> int:
    """The ``ganforge sample`` command for a molecule run (``--out`` a .smi or .txt file)."""
    if args.drs is not None or args.interpolate is not None or args.sheet or args.label is not None:
        raise ConfigError("a molecule run takes -n, --out, --seed, --no-ema, --valid-only, --correct and --overwrite only")
    out = Path(args.out)
    if out.suffix.lower() not in SMILES_SUFFIXES:
        raise ConfigError(f"--out {out.name!r}: a molecule run writes SMILES; accepted: {', '.join(SMILES_SUFFIXES)}")
    if out.exists() and not args.overwrite:
        raise RunDirError(f"{out} already exists; use --overwrite to replace it")
    if not 1 <= args.n <= MAX_SAMPLES:
        raise ConfigError(f"-n must be between 1 and {MAX_SAMPLES}, got {args.n}")
    from ganforge.games.molgan import graphs_to_smiles
    from ganforge.molecules.correct import correct_graphs

    adj, nodes, vocab = draw_run_graphs(args.run, args.n, args.seed, ema=not args.no_ema)
    drawn = graphs_to_smiles(adj, nodes, vocab)
    correct = getattr(args, "correct", False)
    smiles = graphs_to_smiles(*correct_graphs(adj, nodes, vocab), vocab) if correct else drawn
    written = write_smiles(smiles, out, getattr(args, "valid_only", False))
    valid = sum(s is not None for s in smiles)
    line = f"wrote {written} lines to {out}: {valid} of {len(smiles)} graphs ({100 * valid / len(smiles):.1f}%) are valid molecules"
    if correct:
        before = sum(s is not None for s in drawn)
        line += f" after valency correction ({before}, {100 * before / len(drawn):.1f}%, without it)"
    print(line)
    return 0

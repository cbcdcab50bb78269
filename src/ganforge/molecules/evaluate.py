"""``ganforge eval RUN --metrics molecules`` for a molecule GAN run: one metrics.jsonl line per score.

Each checkpoint's generator draws ``n`` graphs (10,000 by default) as ``ganforge sample`` does;
:func:`ganforge.molecules.metrics.molecule_metrics` scores them against the run's dataset: novelty
against every training molecule, property distances and FCD against ``n_real`` of them (10,000 by
default, a seeded choice). FCD's line carries ``value`` null and the reason in ``values`` when
``fcd_torch`` is not installed.
"""

from __future__ import annotations

import dataclasses
import random

from ganforge.errors import ConfigError

MOLECULE_METRICS = {"molecules": "validity, uniqueness, novelty, internal diversity, QED/logP/SA W1, FCD"}
# the lines written, one score of molecule_metrics each
SCORES = ("validity", "uniqueness", "novelty", "internal_diversity", "qed_w1", "logp_w1", "sa_w1", "fcd")


def evaluate_molecule_checkpoints(run_dir, cfg, paths, metrics=None, write: bool = True, data_dir=None,
                                  n: int | None = None, n_real: int | None = None, seed: int = 0,
                                  ema: bool = True, **_) -> list[dict]:
    """Score each checkpoint of ``paths`` (see the module docstring); returns the lines."""
    import rdkit

    from ganforge.data import load_dataset
    from ganforge.engine.generator import checkpoint_step
    from ganforge.metrics.record import append_metrics, metric_line, provenance
    from ganforge.molecules.metrics import molecule_metrics
    from ganforge.molecules.sample import sample_smiles

    unknown = [m for m in (metrics or []) if m not in MOLECULE_METRICS]
    if unknown:
        raise ConfigError(f"unknown metric {unknown[0]!r} for a molecule run; valid metrics: {', '.join(MOLECULE_METRICS)}")
    data_cfg = dataclasses.replace(cfg.data, data_dir=str(data_dir)) if data_dir else cfg.data
    data = load_dataset(data_cfg)
    n = n or 10000
    reference = random.Random(seed).sample(data.smiles, min(n_real or 10000, len(data.smiles)))
    training = set(data.smiles)
    lines = []
    for path in paths:
        smiles = sample_smiles(path, n, seed, ema=ema)
        scores = molecule_metrics(smiles, training, reference)
        prov = provenance(n_fake=n, n_real=len(reference), features=f"RDKit {rdkit.__version__}", features_sha256=None,
                          reference=f"{data.name} ({len(data)} training molecules)",
                          reference_sha256=data.source_hash or None, resize="none", seed=seed,
                          checkpoint=path.name, ema=ema)
        step = checkpoint_step(path)
        new = []
        for name in SCORES:
            # the validity line keeps every number (means, counts); FCD's says why it is absent
            values = scores if name == "validity" else {}
            if name == "fcd" and "fcd_absent" in scores:
                values = {"fcd_absent": scores["fcd_absent"]}
            new.append(metric_line(step, name, scores.get(name), values, prov))
        if write:
            append_metrics(run_dir, new)
        lines += new
    return lines

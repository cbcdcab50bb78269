"""Fitting a tabular GAN: a DataFrame in, a run directory out (the engine trains the game).

    run = fit(df, "runs/adult", target="income", epochs=300)

The run directory is the engine's (config.json, checkpoints/, stats.jsonl, loss.png, samples/)
plus ``table/``: ``metadata.json`` (each column's kind, as inferred or given) and the fitted
transformer (``transformer.json`` + ``transformer.safetensors``), so sampling needs nothing else.
"""

from __future__ import annotations

import sys
from dataclasses import fields
from pathlib import Path

import pandas as pd

from ganforge.config import Config
from ganforge.errors import ConfigError
from ganforge.tabular.columns import (
    MAX_CATEGORIES,
    Metadata,
    infer_metadata,
    load_metadata,
)
from ganforge.tabular.transform import TableTransformer, TransformSettings, encode_table

TABLE_DIR = "table"  # inside a run directory: metadata.json, transformer.json, transformer.safetensors
# chosen by measurement on Adult (docs/benchmarks.md, "The tabular GAN's defaults"): with G's
# moving average, 25 epochs scored higher than 10 and than 50 (CTGAN's default is 300)
DEFAULT_EPOCHS = 25

# CTGAN's settings (Xu et al. 2019 and the reference code): 128-d noise, two residual blocks of
# 256 in G, two layers of 256 with dropout in D, packs of 10, WGAN-GP, Adam(2e-4, 0.5, 0.9), batch 500;
# and two measured changes: samples come from an exponential moving average of G's weights
# (Yazici et al. 2019), and G's update reuses the D update's fakes (one G forward per round)
TABULAR_SETTINGS = {
    "data.name": "table",
    "model.game": "tabular", "model.arch": "ctgan", "model.z_dim": 128,
    "model.g_width": 256, "model.g_depth": 2, "model.d_width": 256, "model.d_depth": 2, "model.pack": 10,
    "model.reuse_fakes": True,
    "loss.name": "wgan-gp", "loss.gp_weight": 10.0,
    "optim.lr_g": 2e-4, "optim.lr_d": 2e-4, "optim.beta1": 0.5, "optim.beta2": 0.9, "optim.ema": 0.999,
    "optim.fused": True,  # one fused Adam kernel: 3x faster optimizer steps on this CPU, the same update
    "train.batch_size": 500, "train.d_steps": 1, "train.log_every": 50, "train.sample_every": 0,
    "train.checkpoint_every": 0, "train.threads": 1,
}
_TRANSFORM_KEYS = {f.name for f in fields(TransformSettings)} - {"seed"}


def tabular_config(overrides: dict | None = None) -> Config:
    """The default tabular configuration with ``{"section.key": value}`` overrides, checked."""
    cfg = Config(preset="", description="tabular GAN (CTGAN's game) on a table")
    return cfg.with_overrides({**TABULAR_SETTINGS, **(overrides or {})})


def steps_for(epochs: int, n_rows: int, batch_size: int) -> int:
    """Rounds in ``epochs`` passes over ``n_rows`` rows (CTGAN: max(1, n // batch) per epoch)."""
    return max(1, epochs * max(1, n_rows // batch_size))


def split_settings(settings: dict) -> tuple[dict, dict]:
    """(transformer settings, ``section.key`` configuration overrides) from keyword settings."""
    transform, config = {}, {}
    for key, value in settings.items():
        if key in _TRANSFORM_KEYS:
            transform[key] = value
        elif "." in key:
            config[key] = value
        else:
            raise ConfigError(f"unknown tabular setting {key!r}; transformer settings: "
                              f"{', '.join(sorted(_TRANSFORM_KEYS))}, or any section.key configuration setting")
    return transform, config


def resolve_metadata(df: pd.DataFrame, metadata, target: str | None, max_categories: int = MAX_CATEGORIES) -> Metadata:
    """Metadata for ``df``: inferred, or the user's (a Metadata, a dict or a JSON path) with the
    missing rates measured on ``df``; every column it names must exist."""
    if metadata is None:
        return infer_metadata(df, target=target, max_categories=max_categories)
    meta = metadata if isinstance(metadata, Metadata) else (
        Metadata.from_json(metadata) if isinstance(metadata, dict) else load_metadata(metadata))
    lacking = [c.name for c in meta.columns if c.name not in df.columns]
    if lacking:
        raise ConfigError(f"the metadata names column(s) the table lacks: {', '.join(lacking)}; "
                          f"columns: {', '.join(map(str, df.columns))}")
    if target is not None:
        if target not in df.columns:
            raise ConfigError(f"--target {target!r} names no column; columns: {', '.join(map(str, df.columns))}")
        if target not in meta.names:
            raise ConfigError(f"--target {target!r} is not among the metadata's columns")
        meta.target = target
    inferred = infer_metadata(df[meta.names], warn=False, max_categories=len(df) + 1)
    for c in meta.columns:  # the user says the kind; the table says how much is missing and the dtype
        found = inferred.column(c.name) if c.name in inferred.names else None
        c.missing_rate = found.missing_rate if found else 0.0
        c.dtype = c.dtype or str(df[c.name].dtype)
        if c.kind == "datetime" and c.datetime_format is None and found is not None:
            c.datetime_format = found.datetime_format
    return meta


def fit(df: pd.DataFrame, out: str | Path, target: str | None = None, metadata=None, epochs: int | None = None,
        seed: int = 0, overwrite: bool = False, resume: bool = False, verbose: bool = True,
        source: str | None = None, **settings) -> Path:
    """Train a tabular GAN on ``df`` into run directory ``out``; returns ``out``.

    ``metadata`` overrides kind inference (a :class:`Metadata`, a dict or a JSON file);
    ``epochs`` passes over the rows (default :data:`DEFAULT_EPOCHS`); ``settings`` are transformer
    settings (``continuous="quantile"``, ``max_modes``, ``fit_rows``, ``weight_threshold``) and
    configuration overrides by name, e.g. ``**{"train.batch_size": 1000}``. ``resume`` continues
    the run in ``out`` from its last checkpoint (the same table must be given), to ``epochs``.
    ``source`` is recorded as ``data.path`` (the CSV the table came from). What was inferred is
    printed when ``verbose``.
    """
    from ganforge.engine.rundir import (
        RunLock,
        create_run_dir,
        read_run_config,
        remove_run_leftovers,
        run_checkpoint,
        write_config,
    )
    from ganforge.engine.trainer import Trainer

    if epochs is not None and (isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1):
        raise ConfigError(f"epochs must be an integer >= 1, got {epochs!r}")
    out = Path(out)
    say = (lambda text: print(text, file=sys.stderr)) if verbose else (lambda text: None)
    transform_settings, overrides = split_settings(settings)
    if resume:
        if transform_settings or metadata is not None:
            raise ConfigError("a resumed run keeps its own transformer and metadata; give only epochs and settings")
        cfg = read_run_config(out)
        checkpoint = run_checkpoint(out)
        transformer = TableTransformer.load(out / TABLE_DIR)
        table = encode_table(_kept(df, transformer.metadata), transformer)
        if epochs is not None:
            overrides["train.steps"] = steps_for(epochs, len(table), cfg.train.batch_size)
        cfg = cfg.with_overrides(overrides) if overrides else cfg
        trainer = Trainer(cfg, run_dir=out, dataset=table)
        lock = RunLock(out).acquire()
        try:
            remove_run_leftovers(out)
            trainer.load_checkpoint(checkpoint)
            if trainer.step_count >= cfg.train.steps:
                say(f"run {out} is already at round {trainer.step_count} (>= {cfg.train.steps}); give more epochs")
                return out
            write_config(out, cfg)
            say(f"resuming {out} from round {trainer.step_count} to {cfg.train.steps}")
            trainer.run()
        finally:
            lock.release()
        return out

    meta = resolve_metadata(df, metadata, target)
    say(f"{len(df)} rows, {len(meta.columns)} columns kept:\n{meta.describe()}")
    transformer = TableTransformer.fit(df, meta, TransformSettings(seed=seed, **transform_settings))
    table = encode_table(_kept(df, meta), transformer)
    base = {"train.seed": seed, **({"data.path": str(source)} if source else {})}
    cfg = tabular_config({**base, **overrides})
    steps = steps_for(epochs or DEFAULT_EPOCHS, len(table), cfg.train.batch_size)
    if "train.steps" not in overrides:
        cfg = cfg.with_overrides({"train.steps": steps})
    if cfg.train.batch_size > len(table) and "train.batch_size" not in overrides:
        # a small table: one batch is the whole table, rounded down to whole packs
        batch = max(cfg.model.pack, len(table) // cfg.model.pack * cfg.model.pack)
        cfg = cfg.with_overrides({"train.batch_size": batch})
    # build everything before touching the disk, so a bad setting leaves no directory behind
    trainer = Trainer(cfg, run_dir=None, dataset=table)
    lock = RunLock(out)
    try:
        create_run_dir(out, cfg, overwrite=overwrite, lock=lock)
        transformer.save(out / TABLE_DIR)
        meta.to_json(out / TABLE_DIR / "metadata.json")
        say(f"encoded width {transformer.dim}, conditional vector {table.cond.dim}; training {cfg.train.steps} rounds "
            f"({cfg.train.steps // max(1, len(table) // cfg.train.batch_size)} epochs) on "
            f"{trainer.device_description()} into {out}")
        trainer.run_dir = out
        trainer.run()
    finally:
        lock.release()
    return out


def _kept(df: pd.DataFrame, meta: Metadata) -> pd.DataFrame:
    lacking = [n for n in meta.names if n not in df.columns]
    if lacking:
        raise ConfigError(f"the table lacks column(s) the run was fitted on: {', '.join(lacking)}")
    return df[meta.names]

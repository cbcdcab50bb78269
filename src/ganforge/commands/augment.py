"""``ganforge augment``: does a conditional GAN's synthetic data help a classifier with few labels?

    ganforge augment --preset mnist-cgan --labels-per-class 10 --seeds 5 --out aug.json

Trains a class-conditional GAN on a fixed, seeded labelled subset of the train split, then the same
classifier on real only, real + classical augmentation, real + synthetic and all three, and prints
each setting's test accuracy over the seeds with the spread (see :mod:`ganforge.augment`).
"""

from __future__ import annotations

from pathlib import Path

from ganforge.errors import RunDirError


def add_parser(sub) -> None:
    p = sub.add_parser(
        "augment", help="test accuracy with few labels: real, + classical augmentation, + GAN samples, all three",
        description="Choose LABELS-PER-CLASS labelled images of each class from the train split (a fixed, seeded "
                    "choice), train a class-conditional GAN on them, then a small classifier on: real only; real "
                    "+ classical augmentation (shifts, and mirrors where they fit); real + synthetic; all three. "
                    "Prints each setting's test-split accuracy, mean and standard deviation over --seeds.")
    p.add_argument("--preset", default="mnist-cgan",
                   help="the conditional GAN's starting configuration; its dataset is used (default mnist-cgan)")
    p.add_argument("--labels-per-class", type=int, default=10, help="labelled images per class (default 10)")
    p.add_argument("--label-seed", type=int, default=0, help="seed of the labelled subset's choice (default 0)")
    p.add_argument("--seeds", type=int, default=5, help="classifier seeds per setting, >= 2 (default 5)")
    p.add_argument("--gan-steps", type=int, default=2000, help="rounds of GAN training (default 2000)")
    p.add_argument("--synthetic-per-class", type=int, default=500, help="G's samples per class (default 500)")
    p.add_argument("--classifier-steps", type=int, default=500, help="Adam updates of each classifier (default 500)")
    p.add_argument("--n-test", type=int, default=0, help="score on the first N test images (default 0: all)")
    p.add_argument("--data-dir", help="where to look for datasets (same as --set data.data_dir=DIR)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help="override one setting of the GAN, e.g. --set train.batch_size=32 (repeatable)")
    p.add_argument("--out", help="write the table and every accuracy as JSON here")
    p.add_argument("--overwrite", action="store_true", help="replace --out if it exists")
    p.set_defaults(func=run)


def run(args) -> int:
    import dataclasses

    from ganforge.augment import augmentation_table, format_table
    from ganforge.data import load_dataset
    from ganforge.errors import ConfigError
    from ganforge.fileio import atomic_write_text, to_json
    from ganforge.metrics.evaluate import reference_dataset
    from ganforge.presets import load_preset

    out = Path(args.out) if args.out else None
    if out is not None and out.exists() and not args.overwrite:
        raise RunDirError(f"{out} already exists; use --overwrite to replace it")
    if args.n_test < 0:
        raise ConfigError(f"--n-test must be >= 0 (0: all test images), got {args.n_test}")
    overrides = list(args.overrides) + ([f"data.data_dir={args.data_dir}"] if args.data_dir else [])
    cfg = load_preset(args.preset).with_overrides(overrides)
    if cfg.model.game != "gan" or cfg.model.arch not in ("dcgan", "resnet"):
        raise ConfigError(f"--preset {args.preset!r} is not an image GAN (model.game {cfg.model.game!r}, arch "
                          f"{cfg.model.arch!r}); use a conditional image preset such as mnist-cgan")
    test = reference_dataset(cfg.data, "test")  # one line for data without a test split
    if args.n_test:
        from ganforge.data.base import ImageDataset

        test = ImageDataset(name=test.name, images=test.images[: args.n_test], labels=test.labels[: args.n_test],
                            classes=test.classes, source_hash=test.source_hash, info=test.info)
    train = load_dataset(dataclasses.replace(cfg.data, split="train", clusters=0))
    result = augmentation_table(cfg, train, test, args.labels_per_class, args.seeds, args.label_seed,
                                args.gan_steps, args.synthetic_per_class, args.classifier_steps)
    print(format_table(result))
    if out is not None:
        atomic_write_text(out, to_json(result, indent=2) + "\n")
        print(f"wrote {out}")
    return 0

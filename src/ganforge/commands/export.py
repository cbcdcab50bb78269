"""``ganforge export``: write a run's generator as TorchScript (or ONNX) for use without ganforge."""

from __future__ import annotations

from pathlib import Path

from ganforge.errors import RunDirError


def add_parser(sub) -> None:
    p = sub.add_parser("export", help="write a trained generator as TorchScript (.pt) or ONNX (.onnx)",
                       description="Write a run's generator (G_ema when it has one) as a file that loads "
                                   "with plain torch.jit.load (.pt) or any ONNX runtime (.onnx), and a JSON "
                                   "file beside it (OUT.json) with z_dim, classes, output shape and range.")
    p.add_argument("run", metavar="RUN", help="run directory (its latest checkpoint) or a checkpoint directory")
    p.add_argument("--out", required=True, help="output file: .pt (TorchScript) or .onnx (needs the onnx package)")
    p.add_argument("--no-ema", action="store_true", help="export G itself rather than its moving average")
    p.add_argument("--overwrite", action="store_true", help="replace the output files if they exist")
    p.add_argument("--classifier", action="store_true",
                   help="semi-supervised runs (model.game ssl): export D as a classifier, images in [-1, 1] -> K "
                        "class logits (D's moving average when kept; --no-ema: D itself), instead of G")
    p.set_defaults(func=run)


def run(args) -> int:
    from ganforge.engine.export import export_generator, metadata_path
    from ganforge.engine.generator import load_generator, resolve_checkpoint

    out = Path(args.out)
    for path in (out, metadata_path(out)):
        if path.exists() and not args.overwrite:
            raise RunDirError(f"{path} already exists; use --overwrite to replace it")
    checkpoint = resolve_checkpoint(args.run)
    if args.classifier:
        from ganforge.engine.export import export_classifier

        model, meta = export_classifier(checkpoint, out, ema=not args.no_ema)
        print(f"wrote {model} and {meta}")
        return 0
    G = load_generator(checkpoint, ema=not args.no_ema)
    model, meta = export_generator(G, out, source=f"{checkpoint.parent.parent.name}/{checkpoint.name}")
    print(f"wrote {model} and {meta}")
    return 0

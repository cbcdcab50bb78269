"""``ganforge translate``: run a trained pix2pix or CycleGAN translator on images, folders or archives."""

from __future__ import annotations


def add_parser(sub) -> None:
    p = sub.add_parser(
        "translate", help="translate images with a trained pix2pix or CycleGAN run",
        description="Translate INPUT (one image, a folder searched recursively, or a .tar/.tar.gz/.tgz/.zip "
                    "archive of PNG/JPEG images) with the translator of RUN (its latest checkpoint, or a "
                    "checkpoint directory). Images of any size: by default each is resized to the training "
                    "size, translated, and the result resized back to the input's size (bicubic, "
                    "antialiased); --tile translates overlapping tiles at the image's own scale and blends "
                    "them. For a folder or archive, OUTPUT is a folder and each result keeps its input's "
                    "relative path, as .png.")
    p.add_argument("run", metavar="RUN", help="run directory or checkpoint of a pix2pix or CycleGAN run")
    p.add_argument("input", metavar="INPUT", help="an image, a folder of images, or an archive of them")
    p.add_argument("--out", required=True, metavar="OUTPUT",
                   help="for one image: the result file (.png, .jpg or .jpeg); for a folder or archive: a folder")
    p.add_argument("--direction", choices=("AtoB", "BtoA"), default=None,
                   help="CycleGAN: which way to translate (default AtoB); pix2pix: only the direction it "
                        "was trained for")
    p.add_argument("--no-ema", action="store_true", help="use the translator itself rather than its moving average")
    p.add_argument("--overwrite", action="store_true", help="replace result files that already exist")
    p.add_argument("--tile", action="store_true",
                   help="translate overlapping training-size tiles at the image's own scale, blended with "
                        "linear ramps (for images larger than the training size)")
    p.add_argument("--seed", type=int, default=0,
                   help="torch seed of each translation (pix2pix keeps dropout at test time; default 0)")
    p.add_argument("--device", default="cpu", help="cpu (default), cuda, cuda:N, mps or auto")
    p.set_defaults(func=run)


def run(args) -> int:
    from ganforge.engine.device import select_device
    from ganforge.engine.generator import load_translator
    from ganforge.errors import ConfigError
    from ganforge.translate import find_inputs, plan_outputs, translate_path

    if not 0 <= args.seed < 2**63:
        raise ConfigError(f"--seed must be between 0 and 2**63 - 1, got {args.seed}")
    # the cheap checks on INPUT and OUTPUT first: a refused command loads nothing and writes nothing
    inputs = find_inputs(args.input)
    plan_outputs(inputs, args.out, args.overwrite)
    device = select_device(args.device)
    translator = load_translator(args.run, direction=args.direction, ema=not args.no_ema, device=device)
    summary = translate_path(translator, inputs, args.out, tile=args.tile, overwrite=args.overwrite,
                             seed=args.seed)
    how = "tiles" if args.tile else f"resized to {translator.resolution}x{translator.resolution} and back"
    summary.announce(f"translated {{n}} image(s) {translator.direction} ({how})", inputs, args.input, args.out)
    return 0

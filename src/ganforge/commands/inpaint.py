"""``ganforge inpaint``: fill the masked part of images with a trained inpainting model."""

from __future__ import annotations


def add_parser(sub) -> None:
    p = sub.add_parser(
        "inpaint", help="fill the holes of images with a trained inpainting run",
        description="Fill the white part of MASK in INPUT with the inpainting model of RUN (its latest "
                    "checkpoint, or a checkpoint directory). INPUT is one image, a folder searched "
                    "recursively, or a .tar/.tar.gz/.tgz/.zip archive of PNG/JPEG images; MASK is one mask "
                    "image for every input, or a folder of masks named like the inputs (a.jpg takes a.png). "
                    "A mask must have its image's size (it is not resized); white (gray >= 128) means fill. "
                    "Images of any size: each is resized to the training size, completed and resized back "
                    "(--tile: overlapping tiles at the image's own scale); the known pixels are then pasted "
                    "back from the input exactly (--no-paste keeps the model's output there). For a folder, "
                    "OUT is a folder and each result keeps its input's relative path, as .png.")
    p.add_argument("run", metavar="RUN", help="run directory or checkpoint of an inpaint run")
    p.add_argument("input", metavar="INPUT", help="an image, a folder of images, or an archive of them")
    p.add_argument("--mask", required=True, metavar="MASK",
                   help="a mask image (white = fill) for all inputs, or a folder of masks with matching names")
    p.add_argument("--out", required=True, metavar="OUT",
                   help="for one image: the result file (.png, .jpg or .jpeg); for a folder or archive: a folder")
    p.add_argument("--no-paste", action="store_true",
                   help="keep the model's (resized) output in the known area instead of the input's exact pixels")
    p.add_argument("--tile", action="store_true",
                   help="complete overlapping training-size tiles at the image's own scale, blended")
    p.add_argument("--no-ema", action="store_true", help="use G itself rather than its moving average")
    p.add_argument("--overwrite", action="store_true", help="replace result files that already exist")
    p.add_argument("--seed", type=int, default=0, help="torch seed of each completion (default 0)")
    p.add_argument("--device", default="cpu", help="cpu (default), cuda, cuda:N, mps or auto")
    p.set_defaults(func=run)


def run(args) -> int:
    from ganforge.engine.device import select_device
    from ganforge.errors import ConfigError
    from ganforge.inpaint import find_masks, inpaint_path, load_inpainter
    from ganforge.translate import find_inputs, plan_outputs

    if not 0 <= args.seed < 2**63:
        raise ConfigError(f"--seed must be between 0 and 2**63 - 1, got {args.seed}")
    # the cheap checks on INPUT, MASK and OUT first: a refused command loads nothing and writes nothing
    inputs = find_inputs(args.input)
    plan_outputs(inputs, args.out, args.overwrite)
    find_masks(inputs, args.mask)
    inpainter = load_inpainter(args.run, ema=not args.no_ema, device=select_device(args.device))
    summary = inpaint_path(inpainter, inputs, args.mask, args.out, tile=args.tile, paste=not args.no_paste,
                           overwrite=args.overwrite, seed=args.seed)
    how = "tiles" if args.tile else f"resized to {inpainter.resolution}x{inpainter.resolution} and back"
    kept = "known pixels kept exactly" if not args.no_paste else "known pixels from the model"
    summary.announce(f"inpainted {{n}} image(s) ({how}; {kept})", inputs, args.input, args.out)
    return 0

"""``ganforge upscale``: run a trained super-resolution model on images, folders or archives."""

from __future__ import annotations


def add_parser(sub) -> None:
    from ganforge.upscale import MAX_OUTPUT_PIXELS, TILE

    p = sub.add_parser(
        "upscale", help="upscale images with a trained super-resolution run (sr-psnr-x4, srgan-x4)",
        description="Upscale INPUT (one image, a folder searched recursively, or a .tar/.tar.gz/.tgz/.zip "
                    "archive of PNG/JPEG images) with the model of RUN (its latest checkpoint, or a checkpoint "
                    "directory). Any size: large images go through in overlapping tiles, blended, so memory "
                    "stays bounded. For a folder or archive, OUTPUT is a folder and each result keeps its "
                    "input's relative path and name, as .png. Nothing is written when a check fails.")
    p.add_argument("run", metavar="RUN", help="run directory or checkpoint of a super-resolution run")
    p.add_argument("input", metavar="INPUT", help="an image, a folder of images, or an archive of them")
    p.add_argument("--out", required=True, metavar="OUTPUT",
                   help="for one image: the result file (.png, .jpg or .jpeg); for a folder or archive: a folder")
    p.add_argument("--scale", type=int, default=None,
                   help="the factor to upscale by; must be the one the model was trained for (default: that one)")
    p.add_argument("--tile", type=int, default=TILE,
                   help=f"side of the input tiles large images are cut into (default {TILE})")
    p.add_argument("--max-pixels", type=int, default=MAX_OUTPUT_PIXELS,
                   help=f"refuse results larger than this many pixels (default {MAX_OUTPUT_PIXELS}, 8192x8192; "
                        f"about 28 bytes of memory each); 0 = no limit")
    p.add_argument("--no-ema", action="store_true", help="use G itself rather than its moving average")
    p.add_argument("--overwrite", action="store_true", help="replace result files that already exist")
    p.add_argument("--device", default="cpu", help="cpu (default), cuda, cuda:N, mps or auto")
    p.set_defaults(func=run)


def run(args) -> int:
    from ganforge.engine.device import select_device
    from ganforge.errors import ConfigError
    from ganforge.translate import find_inputs, plan_outputs
    from ganforge.upscale import check_scale, load_upscaler, upscale_path

    if args.scale is not None and args.scale < 1:
        raise ConfigError(f"--scale must be a positive integer, got {args.scale}")
    if args.max_pixels < 0:
        raise ConfigError(f"--max-pixels must be >= 0 (0 = no limit), got {args.max_pixels}")
    # the cheap checks on INPUT and OUTPUT first: a refused command loads nothing and writes nothing
    inputs = find_inputs(args.input)
    plan_outputs(inputs, args.out, args.overwrite)
    upscaler = load_upscaler(args.run, ema=not args.no_ema, device=select_device(args.device))
    check_scale(upscaler, args.scale)
    summary = upscale_path(upscaler, inputs, args.out, tile=args.tile, overwrite=args.overwrite,
                           max_pixels=args.max_pixels)
    summary.announce(f"upscaled {{n}} image(s) x{upscaler.scale}", inputs, args.input, args.out)
    return 0

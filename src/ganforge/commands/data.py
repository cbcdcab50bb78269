"""``ganforge data``: list, fetch and verify the named image datasets."""

from __future__ import annotations

import argparse
import sys

from ganforge.data import (
    MOLECULE_DATASETS,
    TABULAR_DATASETS,
    TRANSLATION_DATASETS,
    digits,
    paired,
    sources,
)
from ganforge.data.images import IMAGE_DATASETS, SPLITS
from ganforge.errors import DataError, unknown_name

# Datasets that are not files to download: what `fetch`/`verify` say about them.
_BUILT_IN = {
    "digits": "bundled with scikit-learn",
    "folder": "your own images, given as data.path",
    "smiles": "your own molecules, a SMILES file given as data.path",
}


def add_parser(subparsers) -> None:
    """Add ``ganforge data {list,fetch,verify}``."""
    parser = subparsers.add_parser(
        "data", help="list, download and verify the named datasets (images, tables)",
        description="Named image datasets are looked up in --data-dir, then $GANFORGE_DATA, then "
                    "the user cache ($GANFORGE_CACHE/data or ~/.cache/ganforge/data).",
    )
    sub = parser.add_subparsers(dest="data_command", metavar="ACTION", parser_class=type(parser))
    sub.required = True

    p = sub.add_parser("list", help="names, descriptions, and where each dataset was found")
    p.add_argument("--data-dir", help="look here first")
    p.set_defaults(func=run_list)

    p = sub.add_parser("fetch", help="download a dataset from its canonical source and verify it")
    p.add_argument("name", help=f"one of: {', '.join([*IMAGE_DATASETS, *TRANSLATION_DATASETS, *TABULAR_DATASETS])}")
    p.add_argument("--data-dir", help="download into this data dir (default: the user cache)")
    p.set_defaults(func=run_fetch)

    p = sub.add_parser("verify", help="check a dataset's files against their published checksums")
    p.add_argument("name", help=f"one of: {', '.join([*IMAGE_DATASETS, *TRANSLATION_DATASETS, *TABULAR_DATASETS])}")
    p.add_argument("--data-dir", help="look here first")
    p.set_defaults(func=run_verify)


def _check_name(name: str) -> None:
    known = {**IMAGE_DATASETS, **TRANSLATION_DATASETS, **TABULAR_DATASETS, **MOLECULE_DATASETS}
    if name not in known:
        raise DataError(str(unknown_name("dataset", name, known)))


def _where_translation(name: str, data_dir) -> str:
    """Where a translation dataset is found locally, in words."""
    if name != "facades":
        return "your own images, given as data.path"
    try:
        return str(paired.locate_facades(data_dir))
    except DataError:
        return "not found; run `ganforge data fetch facades`"


def _where(name: str, data_dir) -> str:
    """Where ``name`` is found locally, in words."""
    if name in _BUILT_IN:
        return _BUILT_IN[name]
    if name == "qm9":  # its own lookup: no checksum recorded (ganforge.data.molecules)
        from ganforge.data.molecules import qm9_files

        try:
            return ", ".join(str(p) for p in qm9_files(data_dir))
        except DataError:
            return "not found; run `ganforge data fetch qm9`"
    for split in SPLITS:
        found = sources.find(name, split, data_dir)
        if found is not None:
            only = "" if sources.find(name, _other(split), data_dir) else f", {split} split only"
            return f"{found.root} ({found.where}): {found.layout.describe}{only}"
    return f"not found; run `ganforge data fetch {sources.source_for(name).name}`"


def _other(split: str) -> str:
    return SPLITS[1 - SPLITS.index(split)]


def run_list(args: argparse.Namespace) -> int:
    """Print every image dataset with its description and where it was found."""
    order = ", ".join(f"{root} ({where})" for root, where in sources.search_dirs(args.data_dir))
    print(f"lookup order: {order}")
    width = max(map(len, {**IMAGE_DATASETS, **TRANSLATION_DATASETS, **TABULAR_DATASETS}))
    for name, description in IMAGE_DATASETS.items():
        print(f"{name:<{width}}  {description}")
        print(f"{'':<{width}}  found: {_where(name, args.data_dir)}")
    for name, description in TRANSLATION_DATASETS.items():
        print(f"{name:<{width}}  {description}")
        print(f"{'':<{width}}  found: {_where_translation(name, args.data_dir)}")
    for name, description in {**TABULAR_DATASETS, **MOLECULE_DATASETS}.items():
        print(f"{name:<{width}}  {description}")
        print(f"{'':<{width}}  found: {_where(name, args.data_dir)}")
    return 0


def run_fetch(args: argparse.Namespace) -> int:
    """Download ``args.name`` into ``args.data_dir`` (or the user cache) and verify it."""
    _check_name(args.name)
    if args.name in TRANSLATION_DATASETS:
        if args.name != "facades":
            raise DataError(f"dataset {args.name!r} is your own images (data.path); there is nothing to fetch")
        print(f"fetching facades into {args.data_dir or sources.user_data_dir()} (the pix2pix authors' archive; "
              f"no checksum is published for it, so the download is not verified)")
        print(f"facades: {paired.fetch_facades(args.data_dir, progress=sys.stderr.isatty())}")
        return 0
    if args.name in _BUILT_IN:
        if args.name in ("folder", "smiles"):
            raise DataError(f"dataset {args.name!r} is {_BUILT_IN[args.name]}; there is nothing to fetch")
        print(f"{args.name} is {_BUILT_IN[args.name]}; there is nothing to fetch")
        return 0
    if args.name == "qm9":
        from ganforge.data.molecules import fetch_qm9

        print(f"fetching qm9 into {args.data_dir or sources.user_data_dir()} (the figshare archive; no checksum "
              f"is recorded for it, so the download is not verified)")
        print(f"qm9: {', '.join(map(str, fetch_qm9(args.data_dir, progress=sys.stderr.isatty())))}")
        return 0
    source = sources.source_for(args.name)
    root = args.data_dir or str(sources.user_data_dir())
    if source.name != args.name:
        print(f"{args.name} is built from {source.name}")
    print(f"fetching {source.name} into {root} (from {source.homepage} and its mirrors)")
    folder = sources.fetch(source.name, args.data_dir, progress=sys.stderr.isatty())
    count = len(source.download_layout.files)
    print(f"{source.name}: {count} file(s) verified in {folder}")
    return 0


def run_verify(args: argparse.Namespace) -> int:
    """Check the files a load of ``args.name`` would use against their published checksums."""
    _check_name(args.name)
    if args.name in ("folder", "pairs", "unpaired"):
        raise DataError(f"dataset {args.name!r} is your own images; it has no published checksums to verify")
    if args.name == "facades":
        path = paired.locate_facades(args.data_dir)
        digest = sources.file_digests(path).sha256 if path.is_file() else "(a folder)"
        print(f"no published checksum  sha256 {digest}  {path}")
        return 0
    if args.name == "qm9":
        from ganforge.data.molecules import qm9_files

        for path in qm9_files(args.data_dir):
            print(f"no published checksum  sha256 {sources.file_digests(path).sha256}  {path}")
        return 0
    if args.name == "digits":
        path = digits.digits_file()
        print(f"no published checksum  sha256 {sources.file_digests(path).sha256}  {path}")
        return 0
    found = {split: sources.find(args.name, split, args.data_dir) for split in SPLITS}
    if not any(found.values()):
        sources.locate(args.name, "train", args.data_dir)  # raises the standard not-found error
    # Each file once, in lookup order, even when both splits share it (an archive).
    files = dict.fromkeys(pair for f in found.values() if f is not None for pair in f.files)
    bad = []
    for known, path in files:
        digests = sources.file_digests(path)
        problem = sources.checksum_problem(known, digests)
        if problem:
            bad.append(str(path))
            print(f"MISMATCH ({problem})  {path}")
        elif known.md5 or known.sha256:
            print(f"ok  md5 {digests.md5}  {path}")
        else:
            print(f"no published checksum  sha256 {digests.sha256}  {path}")
    for split, f in found.items():
        if f is None:
            print(f"({split} split not found)")
    if bad:
        name = sources.source_for(args.name).name
        raise DataError(
            f"{len(bad)} file(s) do not match their published checksums ({', '.join(bad)}); delete "
            f"them and run `ganforge data fetch {name}`"
        )
    return 0

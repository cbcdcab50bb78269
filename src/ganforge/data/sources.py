"""Where the named image datasets come from: canonical files, checksums, lookup and download.

Each named dataset is described by one :class:`DatasetSource`: the layouts it is accepted in (for
CIFAR-10: the binary archive, the python archive, their extracted folders, a JPEG archive), and
for each layout the files it needs, their published checksums and download URLs.

A named dataset is looked up in this order, first complete layout wins:

1. ``data_dir`` (``data.data_dir`` / ``--data-dir``),
2. ``$GANFORGE_DATA``,
3. the user cache, ``$GANFORGE_CACHE/data`` or ``~/.cache/ganforge/data``.

Inside any of them the layout is the same: ``mnist/train-images-idx3-ubyte.gz``,
``fashion-mnist/...``, ``cifar-10-binary.tar.gz``, ``cifar10-jpeg.tar.gz``, ...

:func:`fetch` downloads to a hidden temporary file next to the destination, checks the published
checksum, and only then renames it into place, so a failed or wrong download never leaves a file
that looks complete. A full disk stops the download with one line and removes the partial file;
partial files of a killed download are removed by the next download into that folder.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import sys
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from ganforge.errors import DataError, DiskFullError
from ganforge.fileio import atomic_path, is_disk_full, remove_stale_temps

# The opener used for downloads; a module attribute so tests can serve local bytes instead.
urlopen = urllib.request.urlopen

DOWNLOAD_TIMEOUT_S = 60  # per network read, not for the whole file
_CHUNK = 1 << 20


@dataclass(frozen=True)
class KnownFile:
    path: str  # relative to a data dir, with "/" separators
    md5: str | None = None  # as published by the distributor; None when none is published
    sha256: str | None = None  # of the canonical bytes, where a byte-identical copy was at hand
    urls: tuple[str, ...] = ()  # canonical download locations, tried in order
    split: str | None = None  # "train" or "test" when only that split needs the file


@dataclass(frozen=True)
class Layout:
    format: str  # how the files are decoded: "idx", "cifar-binary-archive", ...
    files: tuple[KnownFile, ...]  # every file the layout consists of
    describe: str  # short human description of the files, for messages
    lossy: bool = False  # True when the pixels are not the original ones (re-encoded JPEG)

    def needed(self, split: str) -> tuple[KnownFile, ...]:
        """The files this layout needs to provide ``split``."""
        return tuple(f for f in self.files if f.split in (None, split))

    @property
    def downloadable(self) -> bool:
        return all(f.urls for f in self.files)


@dataclass(frozen=True)
class DatasetSource:
    name: str  # dataset name as used in data.name
    layouts: tuple[Layout, ...]  # accepted layouts, most preferred first
    homepage: str  # where the dataset is described by its authors

    @property
    def download_layout(self) -> Layout:
        """The layout :func:`fetch` downloads (the first one with URLs for every file)."""
        return next(layout for layout in self.layouts if layout.downloadable)


_MNIST_MIRRORS = (
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)
_FASHION_MIRRORS = (
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
)
_CIFAR_BASE = "https://www.cs.toronto.edu/~kriz/"
_ADULT_BASE = "https://archive.ics.uci.edu/ml/machine-learning-databases/adult/"

# The four IDX files of MNIST and Fashion-MNIST: (file name, split, MD5 as published, sha256).
_MNIST_FILES = (
    ("train-images-idx3-ubyte.gz", "train", "f68b3c2dcbeaaa9fbdd348bbdeb94873",
     "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"),
    ("train-labels-idx1-ubyte.gz", "train", "d53e105ee54ea40749a09fcbcd1e9432",
     "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"),
    ("t10k-images-idx3-ubyte.gz", "test", "9fb629c4189551a2d022fa330f9573f3",
     "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"),
    ("t10k-labels-idx1-ubyte.gz", "test", "ec29112dd5afa0611ce80d1b7f02629c",
     "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"),
)
_FASHION_FILES = (
    ("train-images-idx3-ubyte.gz", "train", "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
     "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84"),
    ("train-labels-idx1-ubyte.gz", "train", "25c81989df183df01b3e8a0aad5dffbe",
     "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845"),
    ("t10k-images-idx3-ubyte.gz", "test", "bef4ecab320f06d8554ea6380940ec79",
     "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073"),
    ("t10k-labels-idx1-ubyte.gz", "test", "bb300cfdad3c16e7a12a480ee83cd310",
     "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5"),
)


def _idx_layout(folder: str, files, mirrors) -> Layout:
    known = tuple(
        KnownFile(f"{folder}/{name}", md5, sha, tuple(m + name for m in mirrors), split)
        for name, split, md5, sha in files
    )
    return Layout("idx", known, f"{folder}/{{train,t10k}}-{{images-idx3,labels-idx1}}-ubyte.gz")


def _cifar_dir_layout(fmt: str, folder: str, suffix: str) -> Layout:
    names = [(f"data_batch_{i}{suffix}", "train") for i in range(1, 6)] + [(f"test_batch{suffix}", "test")]
    files = tuple(KnownFile(f"{folder}/{name}", split=split) for name, split in names)
    return Layout(fmt, files, f"{folder}/ (data_batch_1..5{suffix}, test_batch{suffix})")


SOURCES: dict[str, DatasetSource] = {
    "mnist": DatasetSource(
        "mnist", (_idx_layout("mnist", _MNIST_FILES, _MNIST_MIRRORS),),
        "http://yann.lecun.com/exdb/mnist/",
    ),
    "fashion-mnist": DatasetSource(
        "fashion-mnist", (_idx_layout("fashion-mnist", _FASHION_FILES, _FASHION_MIRRORS),),
        "https://github.com/zalandoresearch/fashion-mnist",
    ),
    "cifar10": DatasetSource(
        "cifar10",
        (
            # Lossless canonical versions first; the JPEG copy is accepted for offline development.
            Layout("cifar-binary-archive", (KnownFile(
                "cifar-10-binary.tar.gz", md5="c32a1d4ab5d03f1284b67883e8d87530",
                urls=(_CIFAR_BASE + "cifar-10-binary.tar.gz",)),), "cifar-10-binary.tar.gz"),
            _cifar_dir_layout("cifar-binary-dir", "cifar-10-batches-bin", ".bin"),
            Layout("cifar-python-archive", (KnownFile(
                "cifar-10-python.tar.gz", md5="c58f30108f718f92721af3b95e74349a",
                urls=(_CIFAR_BASE + "cifar-10-python.tar.gz",)),), "cifar-10-python.tar.gz"),
            _cifar_dir_layout("cifar-python-dir", "cifar-10-batches-py", ""),
            Layout("cifar-jpeg-archive", (KnownFile("cifar10-jpeg.tar.gz"),),
                   "cifar10-jpeg.tar.gz (lossy JPEG copy)", lossy=True),
        ),
        "https://www.cs.toronto.edu/~kriz/cifar.html",
    ),
    # UCI Adult (a table, read by ganforge.tabular.adult): the two canonical files of the UCI repository.
    "adult": DatasetSource(
        "adult",
        (Layout("adult-csv", (
            KnownFile("adult/adult.data", "5d7c39d7b8804f071cdd1f2a7c460872",
                      "5b00264637dbfec36bdeaab5676b0b309ff9eb788d63554ca0a249491c86603d",
                      (_ADULT_BASE + "adult.data",), "train"),
            KnownFile("adult/adult.test", "35238206dfdf7f1fe215bbb874adecdc",
                      "a2a9044bc167a35b2361efbabec64e89d69ce82d9790d2980119aac5fd7e9c05",
                      (_ADULT_BASE + "adult.test",), "test"),
        ), "adult/adult.data and adult/adult.test (UCI CSV files)"),),
        "https://archive.ics.uci.edu/dataset/2/adult",
    ),
}

# Datasets built from another one's files.
ALIASES: dict[str, str] = {"stacked-mnist": "mnist"}


def source_for(name: str) -> DatasetSource:
    """The :class:`DatasetSource` providing the files of dataset ``name``."""
    key = ALIASES.get(name, name)
    if key not in SOURCES:
        valid = sorted(set(SOURCES) | set(ALIASES))
        raise DataError(f"no downloadable source for dataset {name!r}; datasets with sources: {', '.join(valid)}")
    return SOURCES[key]


# --------------------------------------------------------------------------------------- lookup


def cache_root() -> Path:
    """The user cache: ``$GANFORGE_CACHE`` or ``~/.cache/ganforge``."""
    env = os.environ.get("GANFORGE_CACHE", "")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "ganforge"


def user_data_dir() -> Path:
    """Where downloaded datasets go by default: ``<cache root>/data``."""
    return cache_root() / "data"


def search_dirs(data_dir: str | os.PathLike | None = None) -> list[tuple[Path, str]]:
    """The data dirs named datasets are looked up in, in order, each with where it came from."""
    dirs = []
    if data_dir:
        dirs.append((Path(data_dir).expanduser(), "data_dir"))
    env = os.environ.get("GANFORGE_DATA", "")
    if env:
        dirs.append((Path(env).expanduser(), "$GANFORGE_DATA"))
    dirs.append((user_data_dir(), "user cache"))
    return dirs


@dataclass
class Located:
    source: DatasetSource  # the dataset's source description
    layout: Layout  # which accepted layout was found
    root: Path  # the data dir it was found in
    where: str  # which lookup entry that data dir is ("data_dir", "$GANFORGE_DATA", "user cache")
    files: list[tuple[KnownFile, Path]]  # the files needed for the requested split, with their paths


def find(name: str, split: str = "train", data_dir=None) -> Located | None:
    """The first complete layout of ``name`` in the lookup order, or None. No checksums here."""
    source = source_for(name)
    for root, where in search_dirs(data_dir):
        for layout in source.layouts:
            needed = layout.needed(split)
            paths = [root / f.path for f in needed]
            if needed and all(p.exists() for p in paths):
                return Located(source, layout, root, where, list(zip(needed, paths)))
    return None


def locate(name: str, split: str = "train", data_dir=None) -> Located:
    """Like :func:`find`, but a missing dataset raises a one-line :class:`DataError` saying which
    files are needed, where they were looked for and how to get them."""
    found = find(name, split, data_dir)
    if found is not None:
        return found
    source = source_for(name)
    looked = []
    for root, where in search_dirs(data_dir):
        partial = [
            f.path for layout in source.layouts for f in layout.needed(split) if (root / f.path).exists()
        ]
        note = f"; has only {', '.join(partial)}" if partial else ""
        looked.append(f"{root} ({where}{note})")
    wanted = " or ".join(
        " and ".join(f.path for f in layout.needed(split)) if len(layout.needed(split)) <= 2 else layout.describe
        for layout in source.layouts
    )
    raise DataError(
        f"{name} ({split}) not found: it needs {wanted}; looked in {', '.join(looked)}; "
        f"get it with `ganforge data fetch {source.name} --data-dir DIR` (or without --data-dir "
        f"for the user cache)"
    )


# ------------------------------------------------------------------------------------ checksums


@dataclass(frozen=True)
class Digests:
    md5: str
    sha256: str
    size: int


def file_digests(path: Path) -> Digests:
    """MD5 and sha256 of a file, computed in one pass."""
    md5, sha = hashlib.md5(), hashlib.sha256()
    size = 0
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            md5.update(chunk)
            sha.update(chunk)
            size += len(chunk)
    return Digests(md5.hexdigest(), sha.hexdigest(), size)


def checksum_problem(known: KnownFile, digests: Digests) -> str | None:
    """Why ``digests`` do not match the published checksums of ``known``, or None when they do."""
    if known.md5 and digests.md5 != known.md5:
        return f"MD5 {digests.md5}, expected {known.md5}"
    if known.sha256 and digests.sha256 != known.sha256:
        return f"sha256 {digests.sha256}, expected {known.sha256}"
    return None


def verify_located(located: Located) -> list[tuple[str, Digests]]:
    """Check every file of ``located`` against its published checksums.

    Returns ``(relative path, digests)`` per file; a mismatch raises a one-line DataError.
    """
    out = []
    for known, path in located.files:
        digests = file_digests(path)
        problem = checksum_problem(known, digests)
        if problem:
            raise DataError(
                f"{path} is not the canonical file ({problem}); delete it and run "
                f"`ganforge data fetch {located.source.name}`"
            )
        out.append((known.path, digests))
    return out


def manifest_hash(entries: list[tuple[str, str]]) -> str:
    """One sha256 standing for a set of files, from ``(relative path, sha256 of its bytes)``.

    A single file's hash is the file's own sha256 (what ``sha256sum`` prints). Several files hash
    to the sha256 of their ``sha256sum``-style manifest, lines sorted by path, so renaming a file
    (which can change its class) changes the hash too.
    """
    if len(entries) == 1:
        return entries[0][1]
    lines = "".join(f"{sha}  {rel}\n" for rel, sha in sorted(entries))
    return hashlib.sha256(lines.encode()).hexdigest()


# ------------------------------------------------------------------------------------- download


def download_file(known: KnownFile, dest: Path, *, progress: bool = False) -> Path:
    """Download ``known`` to ``dest``, trying its URLs in order; return ``dest``.

    An existing ``dest`` that matches the checksums is kept as is. The bytes go to a hidden
    temporary file in the same folder and are renamed onto ``dest`` only after the checksum
    matched, so ``dest`` is either absent, the old file, or the complete verified file.
    """
    dest = Path(dest)
    if dest.exists() and checksum_problem(known, file_digests(dest)) is None:
        return dest
    if not known.urls:
        raise DataError(f"{known.path} has no download URL; copy it into {dest.parent} by hand")
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        if is_disk_full(e):
            raise DiskFullError(f"disk full while creating {dest.parent} for {known.path}; free some space") from None
        raise DataError(f"cannot create {dest.parent}: {e.strerror or e}") from None
    # partial downloads of killed processes; earlier versions named them .NAME.<8 random characters>.part
    remove_stale_temps(dest.parent, legacy=(f".{dest.name}.*.part",))
    errors = []
    for url in known.urls:
        try:
            _download_verified(url, known, dest, progress)
            return dest
        # URLError, HTTPError and timeouts are OSErrors; a connection cut mid-body is HTTPException
        except (OSError, ValueError, http.client.HTTPException) as e:
            if is_disk_full(e):  # another mirror would not help
                raise DiskFullError(f"disk full while downloading {known.path} into {dest.parent}; the partial "
                                    f"file was removed; free some space and fetch again") from None
            errors.append(f"{url}: {_one_line(e)}")
    raise DataError(
        f"could not download {known.path} ({'; '.join(errors)}); without a network, copy the "
        f"file into {dest.parent} by hand"
    )


def _download_verified(url: str, known: KnownFile, dest: Path, progress: bool) -> None:
    """Download ``url`` beside ``dest`` and rename it onto ``dest`` only when its checksums match."""
    with atomic_path(dest) as tmp:  # the partial file is removed on any failure
        md5, sha = hashlib.md5(), hashlib.sha256()
        with open(tmp, "wb") as out, urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as resp:
            bar = _progress_bar(resp, dest.name) if progress else None
            while chunk := resp.read(_CHUNK):
                out.write(chunk)
                md5.update(chunk)
                sha.update(chunk)
                if bar is not None:
                    bar.update(len(chunk))
            if bar is not None:
                bar.close()
        got = Digests(md5.hexdigest(), sha.hexdigest(), tmp.stat().st_size)
        problem = checksum_problem(known, got)
        if problem:
            raise ValueError(f"downloaded file has {problem}")


def _progress_bar(resp, label: str):
    from tqdm import tqdm

    total = resp.headers.get("Content-Length") if getattr(resp, "headers", None) else None
    return tqdm(total=int(total) if total else None, unit="B", unit_scale=True, desc=label,
                file=sys.stderr, leave=False)


def _one_line(e: BaseException) -> str:
    text = str(getattr(e, "reason", None) or e) or type(e).__name__
    return " ".join(text.split())


def fetch(name: str, data_dir=None, *, progress: bool = False) -> Path:
    """Download dataset ``name`` from its canonical source into ``data_dir`` (default: the user
    cache data dir) and return the folder its files are in.

    Files already there with the right checksum are not downloaded again.
    """
    source = source_for(name)
    root = Path(data_dir).expanduser() if data_dir else user_data_dir()
    layout = source.download_layout
    for known in layout.files:
        download_file(known, root / known.path, progress=progress)
    return (root / layout.files[0].path).parent

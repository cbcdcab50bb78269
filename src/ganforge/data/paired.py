"""Paired and unpaired image sets for image-to-image translation (pix2pix, CycleGAN).

Where the images come from: a folder or a .tar/.tar.gz/.tgz/.zip archive, read with the readers of
:mod:`ganforge.data.folders` (hidden files skipped, archives read in memory, unreadable images
skipped with an :class:`~ganforge.data.folders.UnreadableImageWarning`). Two layouts hold pairs:

* **side by side**: each file holds both images, left half A, right half B, so it must be exactly
  twice as wide as tall (the pix2pix datasets: ``facades/train/1.jpg`` is 512x256, the photo on
  the left and the label map on the right);
* **two folders** ``A/`` and ``B/``: a pair is two files with the same name (extension aside),
  ``A/x.jpg`` with ``B/x.png``.

Splits are sub-folders ``train/``, ``val/``, ``test/`` above either layout (``train/A/``,
``train/B/``), or below the domain folders (``A/train/``, ``B/train/``), or CycleGAN's
``trainA/``, ``trainB/``, ``testA/``, ``testB/``; without any, everything is the "train" split.
Wrapper folders (``facades.tar.gz`` holding ``facades/...``) are peeled off first.

``direction`` says which side is the input: "AtoB" (A -> B) or "BtoA". The pix2pix facades task
is label map -> photo, that is "BtoA" on the archive's left-photo, right-labels layout.

Images come back as uint8 tensors (N, C, H, W), resized to ``resolution`` x ``resolution`` (centre
crop to a square, then Lanczos, as :func:`ganforge.data.images.crop_resize`) when it is not 0, in
natural name order (``2.jpg`` before ``10.jpg``). :func:`random_jitter` is pix2pix's training
augmentation; :class:`UnpairedStream` draws CycleGAN's two independently shuffled sets.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from ganforge.data import folders, sources
from ganforge.data.images import prepare_images
from ganforge.errors import DataError

Tensor = torch.Tensor

DIRECTIONS = ("AtoB", "BtoA")
SPLIT_NAMES = ("train", "val", "test")
DOMAINS = ("A", "B")
JITTER_RATIO = 286 / 256  # pix2pix resizes 256 -> 286 and crops back to 256 (Isola et al. 2017, sec. 6.2)

# The pix2pix authors' archive: train/ (400), val/ (100), test/ (106) side-by-side 512x256 JPEGs,
# photo left, label map right. No checksum is published for it, so a download is not verified.
FACADES_URLS = (
    "https://efrosgans.eecs.berkeley.edu/pix2pix/datasets/facades.tar.gz",
    "https://people.eecs.berkeley.edu/~tinghuiz/projects/pix2pix/datasets/facades.tar.gz",
)
FACADES_SOURCE = sources.DatasetSource(
    "facades",
    (
        sources.Layout("paired-archive", (sources.KnownFile("facades.tar.gz", urls=FACADES_URLS),),
                       "facades.tar.gz (pix2pix side-by-side archive)"),
        sources.Layout("paired-folder", (sources.KnownFile("facades"),), "facades/ (the archive extracted)"),
    ),
    "https://phillipi.github.io/pix2pix/",
)


@dataclass
class PairedImages:
    """Aligned pairs: ``a[i]`` and ``b[i]`` show the same scene in the two domains."""

    a: Tensor  # (N, C_a, H, W) uint8: the left halves, or the images of folder A
    b: Tensor  # (N, C_b, H, W) uint8: the right halves, or the images of folder B
    names: list[str]  # one name per pair (path relative to the split, or to A/)
    direction: str = "AtoB"  # "AtoB": A is the input and B the target; "BtoA": the reverse
    source_hash: str = ""  # sha256 over the source files (provenance for metrics)
    info: dict = field(default_factory=dict)  # layout, split, origin, resize, skipped files

    def __len__(self) -> int:
        return self.a.shape[0]

    @property
    def inputs(self) -> Tensor:
        """The images G translates from, per ``direction``: (N, C_in, H, W) uint8."""
        return self.a if self.direction == "AtoB" else self.b

    @property
    def targets(self) -> Tensor:
        """The images G should produce, per ``direction``: (N, C_out, H, W) uint8."""
        return self.b if self.direction == "AtoB" else self.a

    def batch(self, index: Tensor) -> tuple[Tensor, Tensor]:
        """Inputs and targets at ``index`` as float in [-1, 1]: (B, C_in, H, W), (B, C_out, H, W)."""
        return to_float(self.inputs[index]), to_float(self.targets[index])


@dataclass
class UnpairedImages:
    """Two image sets with no correspondence (CycleGAN): sizes and names may differ."""

    a: Tensor  # (N_a, C_a, H, W) uint8
    b: Tensor  # (N_b, C_b, H, W) uint8
    names_a: list[str]
    names_b: list[str]
    source_hash: str = ""
    info: dict = field(default_factory=dict)


def to_float(images: Tensor) -> Tensor:
    """uint8 (B, C, H, W) -> float32 in [-1, 1]."""
    return images.float().div_(127.5).sub_(1.0)


# ------------------------------------------------------------------------------------- layouts


def _natural_key(name: str) -> list:
    """Sort key that orders digit runs by value: 2.jpg < 10.jpg."""
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name)]


def _special(name: str) -> bool:
    return name in SPLIT_NAMES or name in DOMAINS or any(name == s + d for s in SPLIT_NAMES for d in DOMAINS)


def _peel(relpaths: list[str]) -> str:
    """The wrapper prefix ``a/b/`` every path lies under, stopping at split or domain folders."""
    prefix = ""
    while True:
        rest = [p[len(prefix):] for p in relpaths]
        heads = {r.split("/", 1)[0] for r in rest}
        if len(heads) != 1 or any("/" not in r for r in rest) or _special(next(iter(heads))):
            return prefix
        prefix += heads.pop() + "/"


def _under(relpaths: list[str], prefix: str) -> list[str]:
    return [p for p in relpaths if p.startswith(prefix)]


def _tops(relpaths: list[str], prefix: str) -> set[str]:
    """First-level folder names below ``prefix`` that hold images."""
    return {p[len(prefix):].split("/", 1)[0] for p in _under(relpaths, prefix) if "/" in p[len(prefix):]}


def _split_prefix(relpaths: list[str], prefix: str, split: str, origin: str) -> str | None:
    """``prefix + split + '/'`` when split folders exist below ``prefix``, None when there are none."""
    found = [s for s in SPLIT_NAMES if s in _tops(relpaths, prefix)]
    if not found:
        return None
    if split not in found:
        raise DataError(f"{origin} has the splits {', '.join(found)}; got split {split!r}")
    return prefix + split + "/"


@dataclass
class _Layout:
    kind: str  # "side-by-side" or "folders"
    prefix: str  # the folder names are relative to: the split folder, or folder A
    prefix_b: str = ""  # folders: folder B
    files: list[str] = field(default_factory=list)  # side by side: one path per pair
    a: dict[str, str] = field(default_factory=dict)  # folders: name without extension -> path
    b: dict[str, str] = field(default_factory=dict)
    facts: dict = field(default_factory=dict)


def _domain_files(relpaths: list[str], prefix: str) -> dict[str, str]:
    """Images under ``prefix``: name relative to it without extension -> full relative path."""
    return {p[len(prefix):].rsplit(".", 1)[0]: p for p in _under(relpaths, prefix)}


def _layout(relpaths: list[str], split: str, origin: str) -> _Layout:
    """Find the split and the layout (side by side or A/B folders) of an image listing."""
    if not relpaths:
        raise DataError(f"no images in {origin}; accepted: {', '.join(folders.IMAGE_EXTENSIONS)} files in "
                        f"a folder or a {'/'.join(folders.ARCHIVE_SUFFIXES)} archive")
    root = _peel(relpaths)
    tops = _tops(relpaths, root)
    facts = {"root": root.rstrip("/") or "."}
    cyclegan = [s for s in SPLIT_NAMES if {s + "A", s + "B"} <= tops]
    prefix = _split_prefix(relpaths, root, split, origin)
    if prefix is None and cyclegan:  # trainA/ trainB/ testA/ testB/
        if split not in cyclegan:
            raise DataError(f"{origin} has the splits {', '.join(cyclegan)} ({'/'.join(s + 'A' for s in cyclegan)} "
                            f"and ...B folders); got split {split!r}")
        facts.update(split_folders=True, domain_folders=f"{split}A/, {split}B/")
        return _Layout("folders", root + split + "A/", root + split + "B/",
                       a=_domain_files(relpaths, root + split + "A/"),
                       b=_domain_files(relpaths, root + split + "B/"), facts=facts)
    if prefix is None and split != "train":
        raise DataError(f"{origin} has no train/, val/ or test/ folders, so it has only the 'train' split; "
                        f"got split {split!r}")
    base = prefix or root
    facts["split_folders"] = prefix is not None
    inner = _tops(relpaths, base)
    if "A" in inner or "B" in inner:
        if not {"A", "B"} <= inner:
            have, lack = ("A", "B") if "A" in inner else ("B", "A")
            raise DataError(f"{origin} has a {base}{have}/ folder of images but no {base}{lack}/ folder; paired "
                            f"folders need both A/ and B/ with matching file names")
        pa = _split_prefix(relpaths, base + "A/", split, f"{origin} ({base}A/)") if prefix is None else None
        pb = _split_prefix(relpaths, base + "B/", split, f"{origin} ({base}B/)") if prefix is None else None
        if (pa is None) != (pb is None):
            raise DataError(f"{origin}: only one of {base}A/ and {base}B/ has split sub-folders; give both or neither")
        if pa is not None:
            facts["split_folders"] = True
        facts["domain_folders"] = f"{pa or base + 'A/'}, {pb or base + 'B/'}"
        return _Layout("folders", pa or base + "A/", pb or base + "B/", a=_domain_files(relpaths, pa or base + "A/"),
                       b=_domain_files(relpaths, pb or base + "B/"), facts=facts)
    return _Layout("side-by-side", base, files=_under(relpaths, base), facts=facts)


# ------------------------------------------------------------------------------------- decoding


def _decode_all(readers: dict, paths: list[str], origin: str, skipped: list[str]) -> dict[str, np.ndarray]:
    """Decode ``paths``; unreadable ones are warned about, listed in ``skipped`` and left out."""
    out = {}
    for rel in paths:
        try:
            out[rel] = folders.decode_image(readers[rel]())
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as e:
            warnings.warn(f"skipping unreadable image {origin}/{rel}: {e}", folders.UnreadableImageWarning,
                          stacklevel=3)
            skipped.append(rel)
    return out


def _check_channels(images: list[np.ndarray], names: list[str], what: str, origin: str) -> None:
    """All images of one domain must have one channel count when none is requested."""
    counts = [im.shape[2] for im in images]
    first = counts[0]
    for name, c in zip(names, counts):
        if c != first:
            raise DataError(
                f"{origin}: {name} has {c} channel(s) but {names[0]} has {first} (both {what}); set "
                f"channels to 1 (grayscale) or 3 (RGB) to convert them all")


def _split_halves(image: np.ndarray, name: str, origin: str) -> tuple[np.ndarray, np.ndarray]:
    """(H, 2H, C) side-by-side image -> left (H, H, C), right (H, H, C)."""
    h, w = image.shape[:2]
    if w != 2 * h:
        raise DataError(f"{origin}: paired file {name} is {w}x{h} (width x height); side-by-side pairs must be "
                        f"exactly twice as wide as tall (e.g. 512x256: A on the left, B on the right)")
    return image[:, :h], image[:, h:]


def _to_tensor(images: list[np.ndarray], resolution: int, channels: int, what: str) -> tuple[Tensor, dict]:
    if all(im.shape[:2] == (resolution, resolution) for im in images):
        resolution = 0  # already that size: nothing to resize (and no resize noted)
    try:
        array, notes = prepare_images(images, resolution, channels)
    except DataError as e:
        raise DataError(f"{what}: {e}") from None
    return torch.from_numpy(array), notes


def _source_hash(path: Path, readers: dict) -> str:
    if path.is_file():
        return sources.file_digests(path).sha256
    return sources.manifest_hash([(rel, sources.file_digests(path / rel).sha256) for rel in readers])


def _check_options(split: str, direction: str | None, resolution: int, channels: int, limit: int) -> None:
    if split not in SPLIT_NAMES:
        raise DataError(f"split must be one of {', '.join(SPLIT_NAMES)}; got {split!r}")
    if direction is not None and direction not in DIRECTIONS:
        raise DataError(f"direction must be AtoB or BtoA (which side is the input); got {direction!r}")
    if resolution < 0:
        raise DataError(f"resolution must be 0 (native size) or a positive size; got {resolution}")
    if channels not in (0, 1, 3):
        raise DataError(f"channels must be 0 (native), 1 (grayscale) or 3 (RGB); got {channels}")
    if limit < 0:
        raise DataError(f"limit must be 0 (all images) or a positive count; got {limit}")


def _matched(layout: _Layout, origin: str) -> list[str]:
    """Names present in both A and B, naturally sorted; none in common is an error."""
    common = sorted(set(layout.a) & set(layout.b), key=_natural_key)
    if not common:
        def show(d):
            return ", ".join(sorted(d, key=_natural_key)[:3]) + (", ..." if len(d) > 3 else "")
        raise DataError(f"{origin}: folders A and B have no file names in common (A: {show(layout.a)}; "
                        f"B: {show(layout.b)}); pairs are matched by name, extension aside")
    unmatched = len(layout.a) + len(layout.b) - 2 * len(common)
    if unmatched:
        warnings.warn(f"{origin}: {unmatched} image(s) in A or B have no partner of the same name and are left out",
                      UserWarning, stacklevel=3)
    return common


def _open(path: str | Path, split: str):
    """(path, its name for messages, the image readers under it, the layout of ``split``)."""
    path = Path(path).expanduser()
    readers = folders.scan(path)
    return path, str(path), readers, _layout(list(readers), split, str(path))


def load_paired(path: str | Path, split: str = "train", direction: str = "AtoB", resolution: int = 0,
                channels: int = 0, limit: int = 0) -> PairedImages:
    """Load aligned pairs from a folder or archive (see the module's layouts).

    ``resolution`` 0 keeps the native size (every image must then have the same size);
    ``channels`` 0 keeps the native channel count (every image of a domain must then have the same);
    ``limit`` > 0 keeps the first pairs in name order. Problems raise a one-line DataError.
    """
    _check_options(split, direction, resolution, channels, limit)
    path, origin, readers, layout = _open(path, split)
    skipped: list[str] = []
    a_list, b_list, names = [], [], []
    if layout.kind == "side-by-side":
        for rel in sorted(layout.files, key=_natural_key):
            if limit and len(names) >= limit:
                break
            decoded = _decode_all(readers, [rel], origin, skipped)
            if rel in decoded:
                left, right = _split_halves(decoded[rel], rel, origin)
                a_list.append(left)
                b_list.append(right)
                names.append(rel[len(layout.prefix):])
    else:
        for key in _matched(layout, origin):
            if limit and len(names) >= limit:
                break
            decoded = _decode_all(readers, [layout.a[key], layout.b[key]], origin, skipped)
            if len(decoded) == 2:
                a_list.append(decoded[layout.a[key]])
                b_list.append(decoded[layout.b[key]])
                names.append(layout.a[key][len(layout.prefix):])
    if not names:
        raise DataError(f"none of the image files of the {split} split in {origin} could be decoded")
    if channels == 0:
        _check_channels(a_list, names, "A images", origin)
        _check_channels(b_list, names, "B images", origin)
    a, notes_a = _to_tensor(a_list, resolution, channels, f"{origin} (A)")
    b, notes_b = _to_tensor(b_list, resolution, channels, f"{origin} (B)")
    if a.shape[2:] != b.shape[2:]:
        raise DataError(f"{origin}: A images are {a.shape[3]}x{a.shape[2]} but B images {b.shape[3]}x{b.shape[2]}; "
                        f"set a resolution to bring both to one size")
    info = {"layout": layout.kind, "split": split, "origin": origin, **layout.facts, "order": "natural name order",
            "resize": notes_a["resize"], "channels_a": notes_a["channels"], "channels_b": notes_b["channels"],
            "skipped": skipped}
    return PairedImages(a, b, names, direction, _source_hash(path, readers), info)


def load_unpaired(path: str | Path, split: str = "train", resolution: int = 0, channels: int = 0,
                  limit: int = 0) -> UnpairedImages:
    """Load two image sets for unpaired translation: the A and B folders (any names, any counts), or
    the left and right halves of side-by-side files. ``limit`` applies to each set."""
    _check_options(split, None, resolution, channels, limit)
    path, origin, readers, layout = _open(path, split)
    skipped: list[str] = []
    sets = {}
    if layout.kind == "side-by-side":
        files = sorted(layout.files, key=_natural_key)[:limit or None]
        decoded = _decode_all(readers, files, origin, skipped)
        halves = [_split_halves(decoded[rel], rel, origin) for rel in files if rel in decoded]
        kept = [rel[len(layout.prefix):] for rel in files if rel in decoded]
        sets["A"] = ([h[0] for h in halves], kept)
        sets["B"] = ([h[1] for h in halves], kept)
    else:
        for domain, files, prefix in (("A", layout.a, layout.prefix), ("B", layout.b, layout.prefix_b)):
            if not files:
                raise DataError(f"{origin}: folder {domain} of the {split} split holds no images")
            ordered = sorted(files.values(), key=_natural_key)[:limit or None]
            decoded = _decode_all(readers, ordered, origin, skipped)
            sets[domain] = ([decoded[r] for r in ordered if r in decoded],
                            [r[len(prefix):] for r in ordered if r in decoded])
    tensors, notes = {}, {}
    for domain, (images, names) in sets.items():
        if not images:
            raise DataError(f"none of the {domain} images of the {split} split in {origin} could be decoded")
        if channels == 0:
            _check_channels(images, names, f"{domain} images", origin)
        tensors[domain], notes[domain] = _to_tensor(images, resolution, channels, f"{origin} ({domain})")
    info = {"layout": layout.kind, "split": split, "origin": origin, **layout.facts, "order": "natural name order",
            "resize": notes["A"]["resize"], "channels_a": notes["A"]["channels"],
            "channels_b": notes["B"]["channels"], "skipped": skipped}
    return UnpairedImages(tensors["A"], tensors["B"], sets["A"][1], sets["B"][1], _source_hash(path, readers), info)


# --------------------------------------------------------------------------------------- facades


def locate_facades(data_dir: str | Path | None = None) -> Path:
    """``facades.tar.gz`` or an extracted ``facades/`` in ``data_dir``, ``$GANFORGE_DATA`` or the
    user cache (first found wins), or a one-line DataError saying where to get it."""
    looked = []
    for root, where in sources.search_dirs(data_dir):
        for layout in FACADES_SOURCE.layouts:
            candidate = root / layout.files[0].path
            if candidate.exists():
                return candidate
        looked.append(f"{root} ({where})")
    raise DataError(
        f"facades not found: it needs facades.tar.gz (or the extracted facades/ folder); looked in "
        f"{', '.join(looked)}; download {FACADES_URLS[0]} into one of them, or call "
        f"ganforge.data.paired.fetch_facades()")


def fetch_facades(data_dir: str | Path | None = None, *, progress: bool = False) -> Path:
    """Download the pix2pix facades archive into ``data_dir`` (default: the user cache data dir).

    The file appears only once it is complete; an existing file is kept. No checksum is published
    for this archive, so its contents are not verified.
    """
    root = Path(data_dir).expanduser() if data_dir else sources.user_data_dir()
    known = FACADES_SOURCE.download_layout.files[0]
    return sources.download_file(known, root / known.path, progress=progress)


def load_facades(split: str = "train", direction: str = "BtoA", resolution: int = 256, limit: int = 0,
                 data_dir: str | Path | None = None, path: str | Path | None = None) -> PairedImages:
    """The CMP Facades pairs as pix2pix uses them: 400 train (and 100 val, 106 test) pairs of a photo
    (A, left) and its label map (B, right), 256x256 each. The default direction "BtoA" translates
    label maps into photos, the paper's task. ``path`` names a local copy directly; otherwise the
    copy is looked up as :func:`locate_facades` does."""
    found = Path(path).expanduser() if path else locate_facades(data_dir)
    data = load_paired(found, split, direction, resolution, 0, limit)
    data.info["dataset"] = "facades"
    return data


# ------------------------------------------------------------------------------------ training


def random_jitter(a: Tensor, b: Tensor, generator: torch.Generator,
                  load_size: tuple[int, int] | None = None) -> tuple[Tensor, Tensor]:
    """pix2pix's jitter (Isola et al. 2017, sec. 6.2): upscale to ``load_size`` (default 286/256 of
    the size), crop a random window of the original size, mirror with probability 1/2.

    ``a`` (N, C_a, H, W) and ``b`` (N, C_b, H, W), uint8 or float in [-1, 1]; each pair gets its
    own crop and flip, the same for a[i] and b[i]. Resizing is bicubic; float results are clamped
    to [-1, 1] and uint8 ones rounded (bicubic overshoots at edges). Returns tensors shaped, typed
    and placed as the inputs; the draws come from ``generator`` (a CPU generator) alone.
    """
    if a.shape[0] != b.shape[0] or a.shape[2:] != b.shape[2:]:
        raise ValueError(f"random_jitter needs a and b of one batch and size; got {tuple(a.shape)} and "
                         f"{tuple(b.shape)}")
    n, ca, h, w = a.shape
    lh, lw = load_size or (round(h * JITTER_RATIO), round(w * JITTER_RATIO))
    if lh < h or lw < w:
        raise ValueError(f"random_jitter load_size {lh}x{lw} is smaller than the images ({h}x{w})")
    tops = torch.randint(lh - h + 1, (n,), generator=generator)  # (N,)
    lefts = torch.randint(lw - w + 1, (n,), generator=generator)  # (N,)
    flips = torch.rand(n, generator=generator) < 0.5  # (N,)
    x = torch.cat([a, b], dim=1).float()  # (N, C_a + C_b, H, W): one resize for both sides
    x = F.interpolate(x, size=(lh, lw), mode="bicubic", align_corners=False)  # (N, C, lh, lw)
    crops = torch.stack([x[i, :, t:t + h, l:l + w] for i, (t, l) in enumerate(zip(tops.tolist(), lefts.tolist()))])
    crops = torch.where(flips.to(x.device)[:, None, None, None], crops.flip(-1), crops)  # (N, C, H, W)
    if a.dtype == torch.uint8:
        crops = crops.round_().clamp_(0, 255).to(torch.uint8)
    else:
        crops = crops.clamp_(-1.0, 1.0).to(a.dtype)
    return crops[:, :ca], crops[:, ca:]


class UnpairedStream:
    """CycleGAN's batches: A and B each in shuffled passes of their own, independent of each other.

    Each pass's order comes from (seed, domain, pass number) alone, so ``state_dict()`` (four
    integers) is the whole position and a resumed stream continues exactly.
    """

    def __init__(self, data: UnpairedImages, seed: int):
        self.data, self.seed = data, seed
        self.epochs, self.positions = [0, 0], [0, 0]
        self._orders = [self._permutation(d, 0) for d in range(2)]

    def _size(self, domain: int) -> int:
        return (self.data.a, self.data.b)[domain].shape[0]

    def _permutation(self, domain: int, epoch: int) -> Tensor:
        g = torch.Generator().manual_seed(((self.seed * 1_000_003 + epoch) * 2 + domain) % 2**63)
        return torch.randperm(self._size(domain), generator=g)

    def _take(self, domain: int, n: int) -> Tensor:
        parts = []
        while n > 0:
            if self.positions[domain] >= len(self._orders[domain]):
                self.epochs[domain] += 1
                self.positions[domain] = 0
                self._orders[domain] = self._permutation(domain, self.epochs[domain])
            take = self._orders[domain][self.positions[domain]:self.positions[domain] + n]
            parts.append(take)
            self.positions[domain] += len(take)
            n -= len(take)
        return torch.cat(parts)

    def next(self, n: int) -> tuple[Tensor, Tensor]:
        """The next ``n`` images of A and of B as float in [-1, 1]: (n, C_a, H, W), (n, C_b, H, W)."""
        return to_float(self.data.a[self._take(0, n)]), to_float(self.data.b[self._take(1, n)])

    def state_dict(self) -> dict:
        return {"epoch_a": self.epochs[0], "position_a": self.positions[0],
                "epoch_b": self.epochs[1], "position_b": self.positions[1]}

    def load_state_dict(self, state: dict) -> None:
        self.epochs = [int(state["epoch_a"]), int(state["epoch_b"])]
        self.positions = [int(state["position_a"]), int(state["position_b"])]
        self._orders = [self._permutation(d, self.epochs[d]) for d in range(2)]

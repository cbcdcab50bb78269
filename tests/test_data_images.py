"""Image datasets: IDX, folders and archives, CIFAR-10 formats, transforms, decode cache."""

from __future__ import annotations

import gzip
import io
import os
import pickle
import struct
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ganforge.config import DataConfig
from ganforge.data import cache, cifar, digits, folders, idx, images, sources, stacked
from ganforge.data.images import IMAGE_DATASETS, load_image_dataset
from ganforge.errors import DataError


@pytest.fixture(autouse=True)
def isolated_env(tmp_path, monkeypatch):
    """Decode cache and user data dir under tmp_path; no $GANFORGE_DATA unless a test sets it."""
    monkeypatch.setenv("GANFORGE_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("GANFORGE_DATA", raising=False)


def _png(path: Path, color, size=(6, 4), mode="RGB") -> None:
    """Write a solid-colour image of ``size`` (W, H)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, color).save(path)


# ------------------------------------------------------------------------------------------ IDX


@pytest.mark.parametrize("suffix", [".gz", ""])
@pytest.mark.parametrize("array", [
    np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4),
    np.array([-5, 0, 70000], dtype=np.int32),
    np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3),
])
def test_idx_round_trip(tmp_path, array, suffix):
    path = tmp_path / f"a.idx{suffix}"
    idx.write_idx(path, array)
    back = idx.read_idx(path)
    assert back.dtype == array.dtype.newbyteorder("=") and back.shape == array.shape
    np.testing.assert_array_equal(back, array)
    assert (path.read_bytes()[:2] == b"\x1f\x8b") == (suffix == ".gz")


def test_idx_header_is_the_mnist_one(tmp_path):
    path = tmp_path / "x.gz"
    idx.write_idx(path, np.zeros((3, 28, 28), np.uint8))
    raw = gzip.decompress(path.read_bytes())
    assert raw[:16] == bytes([0, 0, 8, 3]) + struct.pack(">III", 3, 28, 28)  # magic 2051
    assert len(raw) == 16 + 3 * 28 * 28


def test_truncated_gzip_names_the_file(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte.gz"
    idx.write_idx(path, np.random.default_rng(0).integers(0, 255, (50, 28, 28), dtype=np.uint8))
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(DataError, match="train-images-idx3-ubyte.gz is a truncated or corrupt gzip"):
        idx.read_idx(path)


@pytest.mark.parametrize("raw, message", [
    (bytes([0, 0, 8, 1]) + struct.pack(">I", 10) + bytes(7), "truncated: 15 bytes, expected 18"),
    (bytes([0, 0, 8, 1]) + struct.pack(">I", 2) + bytes(5), r"corrupt \(trailing bytes\)"),
    (bytes([0, 0, 8, 3]) + struct.pack(">I", 2), "header needs 16 bytes"),
    (b"\x89PNG....", "not an IDX file"),
    (bytes([0, 0, 0x42, 1]) + bytes(8), "not an IDX file"),
])
def test_corrupt_idx_raises(tmp_path, raw, message):
    path = tmp_path / "bad.idx.gz"
    path.write_bytes(gzip.compress(raw))
    with pytest.raises(DataError, match=message) as err:
        idx.read_idx(path)
    assert "bad.idx.gz" in str(err.value)


def test_idx_pair_checks_counts_and_labels(tmp_path):
    idx.write_idx(tmp_path / "i.gz", np.zeros((4, 5, 5), np.uint8))
    idx.write_idx(tmp_path / "l.gz", np.array([0, 1, 2], np.uint8))
    with pytest.raises(DataError, match="4 images but .* 3 labels"):
        idx.read_idx_pair(tmp_path / "i.gz", tmp_path / "l.gz")
    idx.write_idx(tmp_path / "l.gz", np.array([0, 1, 2, 10], np.uint8))
    with pytest.raises(DataError, match="label 10"):
        idx.read_idx_pair(tmp_path / "i.gz", tmp_path / "l.gz")


def test_mnist_with_wrong_checksum_is_refused(tmp_path):
    for name, arr in [("train-images-idx3-ubyte.gz", np.zeros((2, 28, 28), np.uint8)),
                      ("train-labels-idx1-ubyte.gz", np.array([1, 2], np.uint8))]:
        (tmp_path / "mnist").mkdir(exist_ok=True)
        idx.write_idx(tmp_path / "mnist" / name, arr)
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte.gz is not the canonical file \(MD5 .*, "
                                        r"expected f68b3c2dcbeaaa9fbdd348bbdeb94873\).*ganforge data fetch mnist"):
        load_image_dataset(DataConfig(name="mnist", data_dir=str(tmp_path)))


# ------------------------------------------------------------------------------- image folders


def _class_folder(root: Path) -> None:
    for i in range(3):
        _png(root / "cats" / f"c{i}.png", (200, 10 * i, 0))
    for i in range(2):
        _png(root / "dogs" / f"d{i}.jpg", (0, 0, 255))
    (root / "notes.txt").write_text("not an image")
    _png(root / ".hidden" / "x.png", (1, 1, 1))


def test_folder_with_class_subfolders(tmp_path):
    _class_folder(tmp_path / "pets")
    ds = load_image_dataset(DataConfig(name="folder", path=str(tmp_path / "pets")))
    assert ds.classes == ["cats", "dogs"]
    assert ds.images.shape == (5, 3, 4, 6) and ds.images.dtype == torch.uint8
    assert ds.labels.tolist() == [0, 1, 0, 1, 0]  # interleaved class by class
    assert ds.images[0, :, 0, 0].tolist() == [200, 0, 0]
    assert ds.images[2, :, 0, 0].tolist() == [200, 10, 0]
    assert abs(ds.images[1, 2].float().mean().item() - 255) < 3  # JPEG blue stays blue
    assert len(ds.source_hash) == 64 and ds.info["format"] == "folder"


def test_folder_limit_keeps_classes_balanced(tmp_path):
    _class_folder(tmp_path / "pets")
    ds = load_image_dataset(DataConfig(name="folder", path=str(tmp_path / "pets"), limit=2))
    assert ds.labels.tolist() == [0, 1]


def test_folder_without_subfolders_is_unlabelled(tmp_path):
    for i in range(3):
        _png(tmp_path / "flat" / f"{i}.png", i, mode="L")
    ds = load_image_dataset(DataConfig(name="folder", path=str(tmp_path / "flat")))
    assert ds.labels is None and ds.classes is None
    assert ds.images.shape == (3, 1, 4, 6)  # grayscale files stay one channel
    assert ds.images[:, 0, 0, 0].tolist() == [0, 1, 2]


def _archive_members() -> dict[str, bytes]:
    out = {}
    for split, n in [("train", 2), ("test", 1)]:
        for cls, color in [("a", (255, 0, 0)), ("b", (0, 255, 0))]:
            for i in range(n):
                buf = io.BytesIO()
                Image.new("RGB", (8, 8), color).save(buf, format="PNG")
                out[f"wrapper/{split}/{cls}/{i}.png"] = buf.getvalue()
    return out


@pytest.mark.parametrize("suffix", [".tar.gz", ".zip", ".tar"])
def test_archive_with_wrapper_and_split_folders(tmp_path, suffix):
    path = tmp_path / f"pets{suffix}"
    members = _archive_members()
    if suffix == ".zip":
        with zipfile.ZipFile(path, "w") as zf:
            for name, data in members.items():
                zf.writestr(name, data)
            zf.writestr("__MACOSX/wrapper/._junk.png", b"resource fork")
    else:
        with tarfile.open(path, "w:gz" if suffix.endswith("gz") else "w") as tf:
            for name, data in members.items():
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tf.addfile(info, io.BytesIO(data))
    train = load_image_dataset(DataConfig(name="folder", path=str(path)))
    test = load_image_dataset(DataConfig(name="folder", path=str(path), split="test"))
    assert train.images.shape == (4, 3, 8, 8) and test.images.shape == (2, 3, 8, 8)
    assert train.classes == test.classes == ["a", "b"]
    assert test.labels.tolist() == [0, 1]
    assert test.images[0, :, 0, 0].tolist() == [255, 0, 0] and test.images[1, :, 0, 0].tolist() == [0, 255, 0]
    assert train.source_hash == sources.file_digests(path).sha256 == test.source_hash
    assert train.info["split_folders"] is True


def test_test_split_needs_split_folders(tmp_path):
    _class_folder(tmp_path / "pets")
    with pytest.raises(DataError, match="only the 'train' split"):
        load_image_dataset(DataConfig(name="folder", path=str(tmp_path / "pets"), split="test"))


def test_unreadable_image_is_skipped_with_a_warning(tmp_path):
    _class_folder(tmp_path / "pets")
    (tmp_path / "pets" / "cats" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    good = tmp_path / "pets" / "dogs" / "cut.jpg"
    _png(good, (0, 0, 255), size=(64, 64))
    good.write_bytes(good.read_bytes()[:200])  # truncated JPEG
    with pytest.warns(folders.UnreadableImageWarning) as record:
        ds = load_image_dataset(DataConfig(name="folder", path=str(tmp_path / "pets"), resolution=4))
    messages = " ".join(str(w.message) for w in record)
    assert "cats/broken.png" in messages and "dogs/cut.jpg" in messages
    assert len(ds) == 5 and sorted(ds.info["skipped"]) == ["cats/broken.png", "dogs/cut.jpg"]
    with pytest.warns(folders.UnreadableImageWarning, match="2 unreadable image"):  # still said from the cache
        again = load_image_dataset(DataConfig(name="folder", path=str(tmp_path / "pets"), resolution=4))
    assert torch.equal(again.images, ds.images)


def test_exif_orientation_is_applied(tmp_path):
    img = Image.new("RGB", (16, 8), (255, 0, 0))
    img.paste((0, 0, 255), (0, 0, 4, 4))  # blue top-left corner
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways: display rotated 90 degrees clockwise
    (tmp_path / "photos").mkdir()
    img.save(tmp_path / "photos" / "p.jpg", exif=exif, quality=100, subsampling=0)
    ds = load_image_dataset(DataConfig(name="folder", path=str(tmp_path / "photos")))
    assert ds.images.shape == (1, 3, 16, 8)  # (C, H, W) of the upright picture
    assert ds.images[0, 2, 1, 6] > 200 and ds.images[0, 2, 1, 1] < 50  # blue corner now top-right


def test_empty_folder_error_names_folder_and_extensions(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "readme.txt").write_text("no images here")
    with pytest.raises(DataError, match=r"no images in .*empty; accepted extensions: \.png, \.jpg, \.jpeg"):
        load_image_dataset(DataConfig(name="folder", path=str(tmp_path / "empty")))


def test_folder_path_errors(tmp_path):
    with pytest.raises(DataError, match="needs data.path"):
        load_image_dataset(DataConfig(name="folder"))
    with pytest.raises(DataError, match="does not exist"):
        load_image_dataset(DataConfig(name="folder", path=str(tmp_path / "nope")))
    (tmp_path / "x.csv").write_text("1,2")
    with pytest.raises(DataError, match="neither a folder nor an archive"):
        load_image_dataset(DataConfig(name="folder", path=str(tmp_path / "x.csv")))
    (tmp_path / "bad.zip").write_bytes(b"PK not a zip")
    with pytest.raises(DataError, match="cannot read archive .*bad.zip"):
        load_image_dataset(DataConfig(name="folder", path=str(tmp_path / "bad.zip")))


# ---------------------------------------------------------------------------------- transforms


def test_resize_centre_crops_then_resizes_and_converts_channels(tmp_path):
    # 40 wide, 20 high: blue side bands, a red centre square of 20x20
    img = Image.new("RGB", (40, 20), (0, 0, 255))
    img.paste((255, 0, 0), (10, 0, 30, 20))
    (tmp_path / "one").mkdir()
    img.save(tmp_path / "one" / "x.png")
    ds = load_image_dataset(DataConfig(name="folder", path=str(tmp_path / "one"), resolution=10))
    assert ds.images.shape == (1, 3, 10, 10)
    assert ds.images[0, 0].min() == 255 and ds.images[0, 2].max() == 0  # only the red centre is left
    assert "crop" in ds.info["resize"] and "LANCZOS" in ds.info["resize"]
    gray = load_image_dataset(DataConfig(name="folder", path=str(tmp_path / "one"), resolution=10, channels=1))
    assert gray.images.shape == (1, 1, 10, 10)
    assert gray.images[0, 0, 0, 0].item() == Image.new("RGB", (1, 1), (255, 0, 0)).convert("L").getpixel((0, 0))


def test_channels_and_resolution_on_arrays():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (5, 3, 9, 7), dtype=np.uint8)
    gray, notes = images.prepare_images(x, 0, 1)
    expected = np.stack([np.asarray(Image.fromarray(im.transpose(1, 2, 0)).convert("L")) for im in x])[:, None]
    assert np.abs(gray.astype(int) - expected).max() <= 1  # PIL's luma, up to rounding
    assert notes["resize"] == "none" and "luma" in notes["channels"]
    rgb, _ = images.prepare_images(gray, 4, 3)
    assert rgb.shape == (5, 3, 4, 4) and (rgb[:, 0] == rgb[:, 2]).all()
    assert images.crop_resize(x, 9)[:, :, :, :].shape == (5, 3, 9, 9)


def test_mixed_sizes_need_a_resolution(tmp_path):
    _png(tmp_path / "m" / "a.png", (1, 2, 3), size=(4, 4))
    _png(tmp_path / "m" / "b.png", (1, 2, 3), size=(8, 6))
    with pytest.raises(DataError, match="different sizes .*set data.resolution"):
        load_image_dataset(DataConfig(name="folder", path=str(tmp_path / "m")))
    ds = load_image_dataset(DataConfig(name="folder", path=str(tmp_path / "m"), resolution=5))
    assert ds.images.shape == (2, 3, 5, 5)


@pytest.mark.parametrize("field, value, message", [
    ("name", "imagenet", "unknown image dataset 'imagenet'; valid image datasets: cifar10, digits, "
                         "fashion-mnist, folder, mnist, stacked-mnist"),
    ("split", "val", "data.split must be one of train, test"),
    ("channels", 2, "data.channels must be 0"),
    ("resolution", -1, "data.resolution must be"),
    ("limit", -3, "data.limit must be"),
])
def test_bad_options(field, value, message):
    cfg = DataConfig(name="digits")
    setattr(cfg, field, value)
    with pytest.raises(DataError) as err:
        load_image_dataset(cfg)
    assert message in str(err.value) and "\n" not in str(err.value)


# ------------------------------------------------------------------------------------- CIFAR-10


def _py2_pickled_batch(data: np.ndarray, labels: list[int]) -> bytes:
    """A batch pickled as Python 2's cPickle wrote the canonical CIFAR-10 files: protocol 2, str
    keys, the pixels as one BINSTRING, numpy globals under numpy.core.multiarray."""
    def string(b: bytes) -> bytes:
        return (b"U" + bytes([len(b)]) + b) if len(b) < 256 else (b"T" + struct.pack("<I", len(b)) + b)

    def integer(v: int) -> bytes:
        return b"J" + struct.pack("<i", v)

    out = b"\x80\x02}(" + string(b"data")
    out += b"cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\n" + integer(0) + b"\x85" + string(b"b") + b"\x87R"
    out += b"(" + integer(1) + integer(data.shape[0]) + integer(data.shape[1]) + b"\x86"
    out += b"cnumpy\ndtype\n" + string(b"u1") + integer(0) + integer(1) + b"\x87R"
    out += b"(" + integer(3) + string(b"|") + b"NNN" + integer(-1) + integer(-1) + integer(0) + b"tb"
    out += b"\x89" + string(data.tobytes()) + b"tb"
    out += string(b"labels") + b"](" + b"".join(integer(v) for v in labels) + b"e"
    return out + b"u."


def _cifar_arrays(n: int, seed: int):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 3072), dtype=np.uint8), rng.integers(0, 10, n).tolist()


def test_restricted_unpickler_reads_python2_cifar_batch():
    data, labels = _cifar_arrays(3, 0)
    x, y = cifar.parse_python_batch(_py2_pickled_batch(data, labels), "data_batch_1")
    assert x.shape == (3, 3, 32, 32) and y.tolist() == labels
    np.testing.assert_array_equal(x.reshape(3, -1), data)


class _Exploit:
    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_restricted_unpickler_refuses_code(tmp_path):
    marker = tmp_path / "pwned"
    evil = pickle.dumps({"data": _Exploit(marker), "labels": [1]})
    with pytest.raises(DataError, match=r"refusing to load evil_batch: it references (posix|os|nt)\.system"):
        cifar.parse_python_batch(evil, "evil_batch")
    assert not marker.exists()
    with pytest.raises(DataError, match="builtins.eval"):
        cifar.restricted_loads(b"cbuiltins\neval\n(S'1+1'\ntR.", "x")


def test_python_batch_must_hold_uint8_pixels():
    with pytest.raises(DataError, match="not a CIFAR-10 batch"):
        cifar.parse_python_batch(pickle.dumps({"data": np.zeros((2, 5), np.float64), "labels": [0, 1]}), "b")
    with pytest.raises(DataError, match="truncated or corrupt"):
        cifar.parse_python_batch(pickle.dumps({"data": 1})[:-4], "b")


def _write_cifar_dirs(root: Path) -> dict[str, tuple[np.ndarray, list[int]]]:
    """Tiny batches (2 images each) in both extracted layouts; returns the arrays per batch."""
    batches = {}
    for i, name in enumerate([f"data_batch_{k}" for k in range(1, 6)] + ["test_batch"]):
        data, labels = _cifar_arrays(2, i)
        batches[name] = (data, labels)
        (root / "cifar-10-batches-py").mkdir(parents=True, exist_ok=True)
        (root / "cifar-10-batches-bin").mkdir(parents=True, exist_ok=True)
        (root / "cifar-10-batches-py" / name).write_bytes(pickle.dumps({"data": data, "labels": labels}, protocol=4))
        records = np.concatenate([np.array(labels, np.uint8)[:, None], data], axis=1)  # (N, 1 + 3072)
        (root / "cifar-10-batches-bin" / f"{name}.bin").write_bytes(records.tobytes())
    return batches


@pytest.mark.parametrize("keep", ["cifar-10-batches-bin", "cifar-10-batches-py"])
def test_cifar_extracted_layouts(tmp_path, keep):
    batches = _write_cifar_dirs(tmp_path)
    other = {"cifar-10-batches-bin": "cifar-10-batches-py", "cifar-10-batches-py": "cifar-10-batches-bin"}[keep]
    for f in (tmp_path / other).iterdir():
        f.unlink()
    train = load_image_dataset(DataConfig(name="cifar10", data_dir=str(tmp_path)))
    test = load_image_dataset(DataConfig(name="cifar10", data_dir=str(tmp_path), split="test", channels=1))
    assert train.images.shape == (10, 3, 32, 32) and test.images.shape == (2, 1, 32, 32)
    assert train.classes[:3] == ["airplane", "automobile", "bird"] and len(train.classes) == 10
    data, labels = batches["data_batch_2"]
    np.testing.assert_array_equal(train.images[2:4].reshape(2, -1).numpy(), data)  # R plane, G, B
    assert train.labels[2:4].tolist() == labels
    formats = {"cifar-10-batches-bin": "cifar-binary-dir", "cifar-10-batches-py": "cifar-python-dir"}
    assert train.info["format"] == formats[keep]


def test_cifar_binary_batch_checks_size():
    with pytest.raises(DataError, match="not a whole number of 3073-byte"):
        cifar.parse_binary_batch(bytes(3073 * 2 - 1), "data_batch_1.bin")


# --------------------------------------------------------------------------- digits, stacked


def test_digits_matches_scikit_learn():
    ds = load_image_dataset(DataConfig(name="digits"))
    assert ds.images.shape == (1797, 1, 8, 8) and ds.images.dtype == torch.uint8
    assert ds.n_classes == 10 and ds.labels.unique().tolist() == list(range(10))
    assert ds.images.max().item() == 255 and ds.images.min().item() == 0
    from sklearn.datasets import load_digits

    ref = load_digits()
    np.testing.assert_array_equal(ds.labels.numpy(), ref.target)
    np.testing.assert_array_equal(ds.images[:, 0].numpy(), np.rint(ref.images * 255 / 16).astype(np.uint8))
    with pytest.raises(DataError, match="only the 'train' split"):
        load_image_dataset(DataConfig(name="digits", split="test"))


def test_stack_digits_labels_and_determinism():
    base = np.arange(10, dtype=np.uint8)[:, None, None, None] * np.ones((1, 1, 2, 2), np.uint8)  # image d is all d
    labels = np.arange(10, dtype=np.int64)
    x, y = stacked.stack_digits(base, labels)
    assert x.shape == (10, 3, 2, 2)
    d = x[:, :, 0, 0].astype(np.int64)  # (10, 3): the digit in R, G, B
    np.testing.assert_array_equal(y, d[:, 0] * 100 + d[:, 1] * 10 + d[:, 2])
    x2, y2 = stacked.stack_digits(base, labels, count=4)
    np.testing.assert_array_equal(x2, x[:4])  # limit is a prefix of the full draw
    _, y3 = stacked.stack_digits(base, labels, seed=1)
    assert not np.array_equal(y, y3)


def test_every_dataset_has_a_description():
    assert set(IMAGE_DATASETS) == {"mnist", "fashion-mnist", "cifar10", "digits", "stacked-mnist", "folder"}
    assert all(isinstance(d, str) and d and "\n" not in d for d in IMAGE_DATASETS.values())


# -------------------------------------------------------------------------------- decode cache


def test_second_load_hits_the_cache(tmp_path, monkeypatch):
    first = load_image_dataset(DataConfig(name="digits", limit=100, resolution=16))
    path = Path(first.info["decode_cache"])
    assert path.parent == tmp_path / "cache" / "decoded"
    assert path.name == f"digits-train-r16-c0-l100-{first.source_hash[:16]}.safetensors"

    def no_decoding(*args, **kwargs):
        raise AssertionError("decoded again instead of reading the cache")

    monkeypatch.setattr(digits, "read_digits", no_decoding)
    second = load_image_dataset(DataConfig(name="digits", limit=100, resolution=16))
    assert torch.equal(first.images, second.images) and torch.equal(first.labels, second.labels)
    assert second.classes == first.classes and second.info["resize"] == first.info["resize"]
    with pytest.raises(AssertionError, match="decoded again"):  # a different request is not a hit
        load_image_dataset(DataConfig(name="digits", limit=99, resolution=16))


def test_use_cache_false_writes_nothing(tmp_path):
    load_image_dataset(DataConfig(name="digits", limit=10), use_cache=False)
    assert not (tmp_path / "cache" / "decoded").exists()


@pytest.mark.parametrize("damage", ["flip", "truncate", "garbage"])
def test_corrupt_cache_is_rebuilt(tmp_path, monkeypatch, damage):
    cfg = DataConfig(name="folder", path=str(tmp_path / "pets"))
    _class_folder(tmp_path / "pets")
    first = load_image_dataset(cfg)
    path = Path(first.info["decode_cache"])
    raw = bytearray(path.read_bytes())
    if damage == "flip":
        raw[-10] ^= 0xFF  # inside the pixel data: only the CRC notices
    elif damage == "truncate":
        raw = raw[: len(raw) // 2]
    else:
        raw = bytearray(b"not safetensors at all")
    path.write_bytes(bytes(raw))
    calls = []
    real = folders.read_image_folder
    monkeypatch.setattr(folders, "read_image_folder", lambda *a, **k: calls.append(1) or real(*a, **k))
    with pytest.warns(cache.CacheWarning, match="corrupt decode cache"):
        again = load_image_dataset(cfg)
    assert calls == [1] and torch.equal(again.images, first.images)
    third = load_image_dataset(cfg)  # rebuilt file is trusted again, without decoding
    assert calls == [1] and torch.equal(third.images, first.images)


def test_changed_source_changes_the_cache_key(tmp_path):
    _class_folder(tmp_path / "pets")
    cfg = DataConfig(name="folder", path=str(tmp_path / "pets"))
    first = load_image_dataset(cfg)
    _png(tmp_path / "pets" / "cats" / "c0.png", (1, 2, 3))
    second = load_image_dataset(cfg)
    assert second.source_hash != first.source_hash
    assert second.images[0, :, 0, 0].tolist() == [1, 2, 3]


# ----------------------------------------------------------------------------------- real data


@pytest.mark.data
def test_mnist_train_real(shared_data):
    ds = load_image_dataset(DataConfig(name="mnist", data_dir=str(shared_data)))
    assert ds.images.shape == (60000, 1, 28, 28) and ds.images.dtype == torch.uint8
    assert ds.labels.unique().tolist() == list(range(10)) and ds.labels[:5].tolist() == [5, 0, 4, 1, 9]
    assert ds.info["verified"] == "md5+sha256"
    names = ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"]
    expected = sources.manifest_hash(
        [(f"mnist/{n}", sources.file_digests(shared_data / "mnist" / n).sha256) for n in names]
    )
    assert ds.source_hash == expected


@pytest.mark.data
def test_fashion_mnist_test_real(shared_data):
    ds = load_image_dataset(DataConfig(name="fashion-mnist", split="test", data_dir=str(shared_data)))
    assert ds.images.shape == (10000, 1, 28, 28)
    assert ds.classes[9] == "Ankle boot" and ds.labels[0].item() == 9
    assert torch.bincount(ds.labels).tolist() == [1000] * 10


@pytest.mark.data
def test_cifar10_jpeg_real(shared_data):
    ds = load_image_dataset(DataConfig(name="cifar10", split="test", limit=20, data_dir=str(shared_data)))
    assert ds.images.shape == (20, 3, 32, 32)
    assert ds.labels.tolist() == list(range(10)) * 2 and ds.classes == cifar.CIFAR10_CLASSES
    assert ds.info["format"] == "cifar-jpeg-archive" and "lossy" in ds.info
    assert 30 < ds.images.float().mean().item() < 220  # real photos, not blank


@pytest.mark.data
def test_stacked_mnist_real(shared_data):
    ds = load_image_dataset(DataConfig(name="stacked-mnist", split="test", data_dir=str(shared_data)))
    assert ds.images.shape == (10000, 3, 28, 28) and ds.n_classes == 1000
    assert 0 <= ds.labels.min().item() and ds.labels.max().item() < 1000
    assert len(ds.labels.unique()) > 990  # 10000 draws of 1000 equally likely triples cover nearly all
    mnist = load_image_dataset(DataConfig(name="mnist", split="test", data_dir=str(shared_data)))
    # every channel is an MNIST test image
    red = ds.images[:50, 0].reshape(50, -1)
    pool = mnist.images[:, 0].reshape(len(mnist), -1)
    assert all((pool == r).all(dim=1).any() for r in red)


def _reconstruct_pickle(shape, state=None) -> bytes:
    """A hand-written protocol-2 pickle: numpy's _reconstruct(ndarray, shape, 'b') then, when given,
    BUILD with ``state`` (numpy's own pickles call it with shape (0,) and carry the data in state)."""
    from numpy._core.multiarray import _reconstruct

    class Forged:
        def __reduce__(self):
            return (_reconstruct, (np.ndarray, shape, "b")) + ((state,) if state is not None else ())

    return pickle.dumps({"data": Forged(), "labels": [0]}, protocol=3 if state is not None else 2)


@pytest.mark.parametrize("raw, why", [
    (_reconstruct_pickle((2_500_000_000,)), "an array of 2500000000 bytes, more than the whole file holds"),
    (_reconstruct_pickle((50_000, 50_000, 50_000)), "more than the whole file holds"),  # would overflow int64
    (_reconstruct_pickle((0,), (1, (10 ** 10,), np.dtype("u1"), False, b"")), "10000000000 bytes"),
    (_reconstruct_pickle((0,), (1, (10 ** 6,), np.dtype("O"), False, [1, 2])), "an array of Python objects"),
    (_reconstruct_pickle((0,), (1, (4,), np.dtype("u1"), False, b"12")), "data does not match its shape"),
    (_reconstruct_pickle((-1,)), "negative shape"),
])
def test_restricted_unpickler_refuses_arrays_the_file_cannot_hold(raw, why):
    import time
    import tracemalloc

    start = time.perf_counter()
    tracemalloc.start()  # numpy reports its array allocations to tracemalloc
    try:
        with pytest.raises(DataError, match=f"refusing to load bomb: it (declares|has) .*{why}"):
            cifar.parse_python_batch(raw, "bomb")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1_000_000 and time.perf_counter() - start < 1  # refused before allocating anything


def test_restricted_unpickler_returns_plain_arrays():
    data = np.arange(3 * 3072, dtype=np.uint8).reshape(3, 3072)
    out = cifar.restricted_loads(pickle.dumps({"data": data, "nested": [data[:1]]}, protocol=4), "b")
    assert type(out["data"]) is np.ndarray and type(out["nested"][0]) is np.ndarray
    np.testing.assert_array_equal(out["data"], data)

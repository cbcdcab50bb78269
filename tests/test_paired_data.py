"""Paired and unpaired translation data: the layouts, splits, directions, jitter, the unpaired
stream, the facades dataset (on the shared copy) and one-line errors for bad input."""

import io
import tarfile
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from ganforge.data import folders, paired, sources
from ganforge.data.paired import (
    UnpairedStream,
    load_facades,
    load_paired,
    load_unpaired,
    locate_facades,
    random_jitter,
)
from ganforge.errors import DataError


@pytest.fixture(autouse=True)
def isolated_env(tmp_path, monkeypatch):
    """User data dir under tmp_path; no $GANFORGE_DATA unless a test sets it."""
    monkeypatch.setenv("GANFORGE_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("GANFORGE_DATA", raising=False)


def pattern(seed: int, h: int = 8, w: int = 8, c: int = 3) -> np.ndarray:
    """A reproducible (h, w, c) uint8 image."""
    return np.random.default_rng(seed).integers(0, 256, (h, w, c), dtype=np.uint8)


def save(path: Path, array: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array[:, :, 0] if array.shape[2] == 1 else array).save(path)  # PNG: lossless


def side_by_side(root: Path, split: str, n: int, seed0: int = 0, h: int = 8) -> list[tuple[np.ndarray, np.ndarray]]:
    """n side-by-side files root/split/1.png .. n.png; returns their (left, right) halves."""
    pairs = []
    for i in range(1, n + 1):
        left, right = pattern(seed0 + 2 * i, h, h), pattern(seed0 + 2 * i + 1, h, h)
        save(root / split / f"{i}.png", np.concatenate([left, right], axis=1))
        pairs.append((left, right))
    return pairs


def chw(array: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(array.transpose(2, 0, 1).copy())


# ------------------------------------------------------------------------------------- layouts


def test_side_by_side_folder_with_splits(tmp_path):
    train = side_by_side(tmp_path / "ds", "train", 11)
    test = side_by_side(tmp_path / "ds", "test", 2, seed0=100)
    data = load_paired(tmp_path / "ds")
    assert data.a.shape == (11, 3, 8, 8) and data.a.dtype == torch.uint8 and data.b.shape == (11, 3, 8, 8)
    assert data.names == [f"{i}.png" for i in range(1, 12)]  # natural order: 2 before 10
    for i, (left, right) in enumerate(train):
        assert torch.equal(data.a[i], chw(left)) and torch.equal(data.b[i], chw(right))
    assert data.info["layout"] == "side-by-side" and data.info["split_folders"] is True
    t = load_paired(tmp_path / "ds", split="test")
    assert len(t) == 2 and torch.equal(t.a[1], chw(test[1][0]))


def test_direction_picks_the_input(tmp_path):
    pairs = side_by_side(tmp_path, "train", 2)
    ab = load_paired(tmp_path, direction="AtoB")
    ba = load_paired(tmp_path, direction="BtoA")
    assert torch.equal(ab.inputs, ba.targets) and torch.equal(ab.targets, ba.inputs)
    x, y = ba.batch(torch.tensor([1]))
    assert x.dtype == torch.float32 and x.min() >= -1 and x.max() <= 1
    assert torch.allclose(x[0], chw(pairs[1][1]).float() / 127.5 - 1)  # B (right) is BtoA's input
    assert torch.allclose(y[0], chw(pairs[1][0]).float() / 127.5 - 1)


@pytest.mark.parametrize("kind", ["tar.gz", "zip"])
def test_archives_with_a_wrapper_folder_read_like_the_folder(tmp_path, kind):
    side_by_side(tmp_path / "src" / "facades", "train", 3)
    side_by_side(tmp_path / "src" / "facades", "val", 1, seed0=50)
    archive = tmp_path / f"facades.{kind}"
    files = sorted(p for p in (tmp_path / "src").rglob("*.png"))
    if kind == "zip":
        with zipfile.ZipFile(archive, "w") as zf:
            for p in files:
                zf.write(p, p.relative_to(tmp_path / "src").as_posix())
    else:
        with tarfile.open(archive, "w:gz") as tf:
            for p in files:
                tf.add(p, p.relative_to(tmp_path / "src").as_posix())
    from_archive = load_paired(archive, split="val")
    from_folder = load_paired(tmp_path / "src", split="val")
    assert torch.equal(from_archive.a, from_folder.a) and from_archive.names == ["1.png"]
    assert from_archive.info["root"] == "facades"
    assert from_archive.source_hash == sources.file_digests(archive).sha256


def test_no_split_folders_means_train_only(tmp_path):
    save(tmp_path / "x.png", np.concatenate([pattern(1), pattern(2)], axis=1))
    assert len(load_paired(tmp_path)) == 1
    with pytest.raises(DataError, match="has no train/, val/ or test/ folders, so it has only the 'train' split"):
        load_paired(tmp_path, split="test")


def test_missing_split_lists_the_ones_there(tmp_path):
    side_by_side(tmp_path, "train", 1)
    side_by_side(tmp_path, "test", 1)
    with pytest.raises(DataError, match="has the splits train, test; got split 'val'"):
        load_paired(tmp_path, split="val")


@pytest.mark.parametrize("layout", ["A/x", "train/A/x", "A/train/x"])
def test_two_folders_pair_by_name(tmp_path, layout):
    def where(domain, name):
        return tmp_path / layout.replace("A", domain).replace("x", name)

    for name, seed in (("10", 1), ("2", 3), ("7", 5)):
        save(where("A", name + ".png"), pattern(seed))
        save(where("B", name + ".jpg") if name == "7" else where("B", name + ".png"), pattern(seed + 1, c=1))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # every name has its partner: no warning
        data = load_paired(tmp_path)
    assert data.names == ["2.png", "7.png", "10.png"]
    assert data.a.shape == (3, 3, 8, 8) and data.b.shape == (3, 1, 8, 8)  # channels per domain
    assert torch.equal(data.a[2], chw(pattern(1))) and torch.equal(data.b[0], chw(pattern(4, c=1)))
    assert data.info["layout"] == "folders"


def test_unmatched_names_are_left_out_with_a_warning(tmp_path):
    for name in ("a", "b", "c"):
        save(tmp_path / "A" / f"{name}.png", pattern(ord(name)))
    for name in ("b", "c", "d"):
        save(tmp_path / "B" / f"{name}.png", pattern(ord(name) + 50))
    with pytest.warns(UserWarning, match="2 image\\(s\\) in A or B have no partner"):
        data = load_paired(tmp_path)
    assert data.names == ["b.png", "c.png"]


def test_resolution_resizes_both_sides(tmp_path):
    side_by_side(tmp_path, "train", 2, h=16)
    data = load_paired(tmp_path, resolution=8)
    assert data.a.shape == (2, 3, 8, 8) and data.b.shape == (2, 3, 8, 8)
    assert "LANCZOS to 8x8" in data.info["resize"]
    assert load_paired(tmp_path, resolution=16).info["resize"] == "none"  # already that size


def test_channels_option_converts(tmp_path):
    save(tmp_path / "1.png", np.concatenate([pattern(1), pattern(2)], axis=1))
    save(tmp_path / "2.png", np.concatenate([pattern(3, c=1), pattern(4, c=1)], axis=1))
    data = load_paired(tmp_path, channels=3)
    assert data.a.shape == (2, 3, 8, 8)
    assert torch.equal(data.a[1, 0], data.a[1, 2])  # the grayscale one repeated
    assert load_paired(tmp_path, channels=1).a.shape == (2, 1, 8, 8)


def test_limit_keeps_the_first_pairs(tmp_path):
    side_by_side(tmp_path, "train", 12)
    assert load_paired(tmp_path, limit=3).names == ["1.png", "2.png", "3.png"]


def test_unreadable_pair_is_skipped_with_a_warning(tmp_path):
    side_by_side(tmp_path, "train", 2)
    (tmp_path / "train" / "3.png").write_bytes(b"not a png")
    with pytest.warns(folders.UnreadableImageWarning, match="3.png"):
        data = load_paired(tmp_path)
    assert data.names == ["1.png", "2.png"] and data.info["skipped"] == ["train/3.png"]


# -------------------------------------------------------------------------------------- errors


def one_line_error(fn, *args, **kwargs) -> str:
    with pytest.raises(DataError) as err:
        fn(*args, **kwargs)
    message = str(err.value)
    assert "\n" not in message
    return message


def test_error_not_twice_as_wide(tmp_path):
    save(tmp_path / "train" / "1.png", pattern(1, 8, 16))
    save(tmp_path / "train" / "2.png", pattern(1, 8, 12))
    message = one_line_error(load_paired, tmp_path)
    assert "paired file train/2.png is 12x8 (width x height)" in message and "twice as wide as tall" in message


def test_error_no_matching_names(tmp_path):
    save(tmp_path / "A" / "cat.png", pattern(1))
    save(tmp_path / "B" / "dog.png", pattern(2))
    message = one_line_error(load_paired, tmp_path)
    assert "folders A and B have no file names in common (A: cat; B: dog)" in message


def test_error_empty_folder(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("no images here")
    message = one_line_error(load_paired, tmp_path / "empty")
    assert message.startswith(f"no images in {tmp_path / 'empty'}; accepted: .png, .jpg, .jpeg")


def test_error_only_one_domain_folder(tmp_path):
    save(tmp_path / "A" / "1.png", pattern(1))
    message = one_line_error(load_paired, tmp_path)
    assert "has a A/ folder of images but no B/ folder" in message


def test_error_other_channel_count(tmp_path):
    save(tmp_path / "1.png", np.concatenate([pattern(1), pattern(2)], axis=1))
    save(tmp_path / "2.png", np.concatenate([pattern(3, c=1), pattern(4, c=1)], axis=1))
    message = one_line_error(load_paired, tmp_path)
    assert "2.png has 1 channel(s) but 1.png has 3 (both A images)" in message
    assert "set channels to 1 (grayscale) or 3 (RGB)" in message


def test_error_mixed_sizes_without_resolution(tmp_path):
    side_by_side(tmp_path, "train", 1, h=8)
    save(tmp_path / "train" / "2.png", np.concatenate([pattern(5, 6, 6), pattern(6, 6, 6)], axis=1))
    message = one_line_error(load_paired, tmp_path)
    assert "different sizes" in message and "resolution" in message


@pytest.mark.parametrize("kwargs,match", [
    ({"direction": "AB"}, "direction must be AtoB or BtoA"),
    ({"split": "dev"}, "split must be one of train, val, test"),
    ({"channels": 2}, "channels must be 0 \\(native\\), 1 \\(grayscale\\) or 3 \\(RGB\\)"),
])
def test_error_bad_options(tmp_path, kwargs, match):
    with pytest.raises(DataError, match=match):
        load_paired(tmp_path, **kwargs)


def test_error_missing_path(tmp_path):
    assert "does not exist" in one_line_error(load_paired, tmp_path / "nowhere")


# -------------------------------------------------------------------------------------- jitter


def test_jitter_is_a_crop_of_the_upscaled_pair_with_the_same_window_and_flip():
    torch.manual_seed(0)
    a = torch.rand(16, 3, 32, 32) * 2 - 1
    b = -a[:, :1]  # B is a function of A: any misalignment between the sides would show
    ja, jb = random_jitter(a, b, torch.Generator().manual_seed(5))
    assert ja.shape == a.shape and jb.shape == b.shape
    assert torch.equal(jb, (-ja[:, :1]).clamp(-1, 1))  # same window and flip on both sides
    big = F.interpolate(a, size=(36, 36), mode="bicubic", align_corners=False).clamp(-1, 1)  # 32 * 286/256
    flips = 0
    for i in range(16):
        windows = {(t, l): big[i, :, t:t + 32, l:l + 32] for t in range(5) for l in range(5)}
        matches = [(t, l, f) for (t, l), win in windows.items() for f in (False, True)
                   if torch.allclose(ja[i], win.flip(-1) if f else win)]
        assert len(matches) == 1
        flips += matches[0][2]
    assert 3 <= flips <= 13  # mirrored about half the time


def test_jitter_is_deterministic_and_keeps_uint8():
    a = torch.randint(0, 256, (4, 3, 16, 16), dtype=torch.uint8)
    b = torch.randint(0, 256, (4, 1, 16, 16), dtype=torch.uint8)
    first = random_jitter(a, b, torch.Generator().manual_seed(9))
    second = random_jitter(a, b, torch.Generator().manual_seed(9))
    assert all(torch.equal(x, y) for x, y in zip(first, second)) and first[0].dtype == torch.uint8
    other = random_jitter(a, b, torch.Generator().manual_seed(10))
    assert not torch.equal(first[0], other[0])


def test_jitter_without_upscaling_only_mirrors():
    a = torch.arange(2 * 1 * 4 * 4, dtype=torch.float32).view(2, 1, 4, 4) / 32 - 0.5
    ja, _ = random_jitter(a, a.clone(), torch.Generator().manual_seed(0), load_size=(4, 4))
    for i in range(2):
        assert torch.allclose(ja[i], a[i]) or torch.allclose(ja[i], a[i].flip(-1))


def test_jitter_refuses_mismatched_pairs():
    with pytest.raises(ValueError, match="one batch and size"):
        random_jitter(torch.zeros(2, 3, 8, 8), torch.zeros(3, 3, 8, 8), torch.Generator())


# ------------------------------------------------------------------------------------ unpaired


def test_unpaired_cyclegan_folders(tmp_path):
    for i in range(5):
        save(tmp_path / "horse2zebra" / "trainA" / f"h{i}.png", pattern(i))
    for i in range(3):
        save(tmp_path / "horse2zebra" / "trainB" / f"z{i}.png", pattern(10 + i))
    save(tmp_path / "horse2zebra" / "testA" / "h9.png", pattern(99))
    save(tmp_path / "horse2zebra" / "testB" / "z9.png", pattern(98))
    data = load_unpaired(tmp_path)
    assert data.a.shape == (5, 3, 8, 8) and data.b.shape == (3, 3, 8, 8)
    assert data.names_a == [f"h{i}.png" for i in range(5)] and data.names_b == ["z0.png", "z1.png", "z2.png"]
    test = load_unpaired(tmp_path, split="test")
    assert torch.equal(test.a[0], chw(pattern(99)))
    with pytest.raises(DataError, match="the splits train, test \\(trainA/testA and ...B folders\\); got split 'val'"):
        load_unpaired(tmp_path, split="val")


def test_unpaired_from_side_by_side_files(tmp_path):
    pairs = side_by_side(tmp_path, "train", 3)
    data = load_unpaired(tmp_path, limit=2)
    assert data.a.shape == (2, 3, 8, 8) and torch.equal(data.b[1], chw(pairs[1][1]))


def test_unpaired_stream_shuffles_each_set_independently_and_resumes():
    a = torch.arange(5, dtype=torch.uint8).view(5, 1, 1, 1).expand(5, 1, 2, 2).clone()
    b = (torch.arange(3, dtype=torch.uint8) + 100).view(3, 1, 1, 1).expand(3, 1, 2, 2).clone()
    data = paired.UnpairedImages(a, b, [str(i) for i in range(5)], [str(i) for i in range(3)])

    def ids(x):  # back from [-1, 1] to the tag
        return ((x[:, 0, 0, 0] + 1) * 127.5).round().long().tolist()

    stream = UnpairedStream(data, seed=4)
    seen_a, seen_b = [], []
    for _ in range(3):  # 6 draws: A wraps into its 2nd pass, B completes 2 passes
        xa, xb = stream.next(2)
        seen_a += ids(xa)
        seen_b += ids(xb)
    assert sorted(seen_a[:5]) == list(range(5))  # every A once per pass
    assert sorted(seen_b[:3]) == [100, 101, 102] and sorted(seen_b[3:]) == [100, 101, 102]
    state = stream.state_dict()
    assert state == {"epoch_a": 1, "position_a": 1, "epoch_b": 1, "position_b": 3}
    expected = [stream.next(3) for _ in range(4)]
    resumed = UnpairedStream(data, seed=4)
    resumed.load_state_dict(state)
    got = [resumed.next(3) for _ in range(4)]
    assert all(torch.equal(x[0], y[0]) and torch.equal(x[1], y[1]) for x, y in zip(expected, got))
    assert ids(UnpairedStream(data, seed=5).next(5)[0]) != seen_a[:5]  # the seed sets the order


# ------------------------------------------------------------------------------------- facades


def test_locate_facades_says_where_it_looked(tmp_path):
    message = one_line_error(locate_facades, tmp_path / "mine")
    assert "facades not found: it needs facades.tar.gz" in message
    assert str(tmp_path / "mine") in message and "user cache" in message
    assert paired.FACADES_URLS[0] in message


def test_locate_facades_finds_a_local_copy_in_the_lookup_order(tmp_path, monkeypatch):
    (tmp_path / "env").mkdir()
    (tmp_path / "env" / "facades.tar.gz").write_bytes(b"x")
    (tmp_path / "mine" / "facades").mkdir(parents=True)
    monkeypatch.setenv("GANFORGE_DATA", str(tmp_path / "env"))
    assert locate_facades() == tmp_path / "env" / "facades.tar.gz"
    assert locate_facades(tmp_path / "mine") == tmp_path / "mine" / "facades"  # data_dir first


def test_fetch_facades_downloads_from_the_authors_site(tmp_path, monkeypatch):
    calls = []

    def opener(url, timeout=None):
        calls.append(url)
        return io.BytesIO(b"archive bytes")

    monkeypatch.setattr(sources, "urlopen", opener)
    path = paired.fetch_facades(tmp_path / "dl")
    assert path == tmp_path / "dl" / "facades.tar.gz" and path.read_bytes() == b"archive bytes"
    assert calls == ["https://efrosgans.eecs.berkeley.edu/pix2pix/datasets/facades.tar.gz"]


@pytest.mark.data
def test_facades_shared_copy(shared_data):
    test = load_facades("test", data_dir=shared_data)
    assert test.a.shape == (106, 3, 256, 256) and test.b.shape == (106, 3, 256, 256)
    assert test.names[:3] == ["1.jpg", "2.jpg", "3.jpg"] and test.direction == "BtoA"
    assert torch.equal(test.inputs, test.b) and torch.equal(test.targets, test.a)  # label map -> photo
    # label maps (right) are flat CMP class colours, mostly blue; photos (left) are not
    assert test.b[:, 2].float().mean() > test.b[:, 0].float().mean() + 50
    assert abs(test.a[:, 2].float().mean() - test.a[:, 0].float().mean()) < 40
    sums = dict(line.split()[::-1] for line in (shared_data / "SHA256SUMS").read_text().splitlines())
    assert test.source_hash == sums["./facades.tar.gz"]
    train = load_facades("train", resolution=128, limit=4, data_dir=shared_data)
    assert train.a.shape == (4, 3, 128, 128) and train.names == ["1.jpg", "2.jpg", "3.jpg", "4.jpg"]


@pytest.mark.data
def test_facades_train_split_count(shared_data):
    with tarfile.open(shared_data / "facades.tar.gz") as tf:
        names = [n for n in tf.getnames() if n.endswith(".jpg")]
    assert sum(n.startswith("train/") for n in names) == 400
    data = load_unpaired(shared_data / "facades.tar.gz", resolution=64, limit=3)
    assert data.a.shape == (3, 3, 64, 64) and data.names_b == ["1.jpg", "2.jpg", "3.jpg"]

"""`ganforge translate`: a trained translator on images, folders and archives of any size, and every
bad input as one line with nothing written."""

import itertools
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from ganforge.cli import main
from ganforge.config import Config
from ganforge.engine import Trainer
from ganforge.engine.generator import Translator, load_translator
from ganforge.engine.rundir import create_run_dir
from ganforge.translate import ramp, tile_starts, translate_any_size, translate_image

TINY = {"data.name": "pairs", "data.resolution": 16, "model.g_channels": 4, "model.d_channels": 4,
        "model.d_layers": 2, "train.batch_size": 2, "train.steps": 3, "train.progress": False,
        "train.device": "cpu"}
CYCLEGAN = {"model.game": "cyclegan", "model.arch": "resnet", "loss.name": "lsgan", "model.norm": "instance"}


def write_pairs(root: Path, n_train: int = 4, n_test: int = 3, seed: int = 0) -> Path:
    """train/ and test/ folders of 32x16 side-by-side PNGs: A on the left, its negative B on the right."""
    rng = np.random.default_rng(seed)
    for split, n in (("train", n_train), ("test", n_test)):
        (root / split).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            a = rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)
            Image.fromarray(np.concatenate([a, 255 - a], 1)).save(root / split / f"{i}.png")
    return root


def train_tiny(run_dir: Path, data: Path, **overrides) -> Path:
    """A 3-round translator run on ``data`` (pix2pix U-Net unless overridden)."""
    cfg = Config().with_overrides({"model.game": "pix2pix", "model.arch": "unet", **TINY, "data.path": str(data),
                                   **overrides})
    Trainer(cfg, run_dir=create_run_dir(run_dir, cfg)).run()
    return run_dir


def ganforge(*args):
    """The real command in a subprocess: (exit code, stdout, stderr)."""
    p = subprocess.run([sys.executable, "-m", "ganforge", *map(str, args)], capture_output=True, text=True,
                       timeout=300, check=False)
    return p.returncode, p.stdout, p.stderr


def cli(capsys, *args):
    """The same command in this process (fast): (exit code, stdout, stderr)."""
    capsys.readouterr()
    code = main([*map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def image(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("translate")
    data = write_pairs(root / "pairs")
    return {"pix2pix": train_tiny(root / "p2p", data), "cyclegan": train_tiny(root / "cyc", data, **CYCLEGAN),
            "root": root}


@pytest.fixture()
def photos(tmp_path):
    """A folder with nested names, of odd sizes, RGB and grayscale, plus a hidden file to ignore."""
    rng = np.random.default_rng(3)
    (tmp_path / "in" / "street" / "night").mkdir(parents=True)
    Image.fromarray(rng.integers(0, 256, (23, 37, 3), dtype=np.uint8)).save(tmp_path / "in" / "a.png")
    Image.fromarray(rng.integers(0, 256, (30, 20, 3), dtype=np.uint8)).save(tmp_path / "in" / "street" / "b.jpg")
    Image.fromarray(rng.integers(0, 256, (17, 19), dtype=np.uint8)).save(tmp_path / "in" / "street" / "night" / "c.png")
    (tmp_path / "in" / ".hidden.png").write_bytes(b"not an image")
    return tmp_path / "in"


# ----------------------------------------------------------------------------- any size


class _Identity(nn.Module):
    """A 1x1 convolution that copies its input: what tiling and resizing must give back."""

    def __init__(self, channels=3):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 1)
        with torch.no_grad():
            self.conv.weight.copy_(torch.eye(channels)[:, :, None, None])
            self.conv.bias.zero_()

    def forward(self, x):
        return self.conv(x)


class _TileMean(nn.Module):
    """Outputs each tile's mean everywhere in the tile: without blending, tiles would show as steps."""

    def __init__(self):
        super().__init__()
        self.unused = nn.Parameter(torch.zeros(()))

    def forward(self, x):
        return x.mean((2, 3), keepdim=True).expand_as(x)


def test_tiles_cover_with_the_overlap_asked_for():
    for length, tile, overlap in ((16, 16, 4), (17, 16, 4), (37, 16, 4), (300, 64, 16), (1000, 256, 64)):
        starts = tile_starts(length, tile, overlap)
        assert starts[0] == 0 and starts[-1] + tile == length
        assert all(b - a <= tile - overlap for a, b in itertools.pairwise(starts))  # neighbours overlap enough
    assert tile_starts(10, 16, 4) == [0]
    w = ramp(16, 4)
    assert w.min() > 0 and w.max() == 1 and torch.equal(w, w.flip(0))
    assert torch.allclose(w[:4], torch.tensor([0.125, 0.375, 0.625, 0.875]))  # linear from the edge
    assert (w[4:12] == 1).all()


@pytest.mark.parametrize("h,w", [(37, 53), (16, 16), (10, 12), (16, 40)])
def test_tiling_an_identity_gives_the_input_back(h, w):
    T = Translator(_Identity(), 3, 3, 16, "AtoB", "pix2pix")
    x = torch.rand(2, 3, h, w) * 2 - 1
    assert torch.allclose(translate_any_size(T, x, tile=True), x, atol=1e-6)


def test_resizing_keeps_the_size_and_a_flat_image_flat():
    T = Translator(_Identity(), 3, 3, 16, "AtoB", "pix2pix")
    x = torch.full((1, 3, 23, 37), 0.25)
    y = translate_any_size(T, x)
    assert y.shape == (1, 3, 23, 37) and torch.allclose(y, x, atol=1e-6)


def test_tiles_are_blended_with_ramps_not_stitched():
    T = Translator(_TileMean(), 1, 1, 16, "AtoB", "pix2pix")
    x = torch.linspace(-1, 1, 64).expand(1, 1, 16, 64).contiguous()  # a horizontal ramp
    y = translate_any_size(T, x, tile=True)[0, 0, 0]  # (64,): one row
    starts = tile_starts(64, 16, 4)
    means = [float(x[0, 0, 0, s:s + 16].mean()) for s in starts]
    step = min(b - a for a, b in itertools.pairwise(means))
    diffs = y[1:] - y[:-1]
    assert (diffs >= -1e-6).all()  # monotone, like the input
    # a linear cross-fade over the 4 overlapping pixels climbs step / 4 per pixel; stitching (or a
    # plain average of the overlap) would jump by step or step / 2
    assert diffs.max() < 0.3 * step
    assert abs(float(y[0]) - means[0]) < 1e-6 and abs(float(y[-1]) - means[-1]) < 1e-6  # borders: one tile


# ----------------------------------------------------------------------------- end to end


def test_one_image_of_odd_size_keeps_its_size_and_matches_the_python_api(runs, photos, tmp_path):
    out = tmp_path / "a-out.png"
    code, stdout, err = ganforge("translate", runs["pix2pix"], photos / "a.png", "--out", out)
    assert code == 0, err
    assert "translated 1 image(s) AtoB" in stdout
    result = image(out)
    assert result.shape == (23, 37, 3)
    T = load_translator(runs["pix2pix"])
    assert isinstance(T, nn.Module) and T.resolution == 16 and (T.in_channels, T.out_channels) == (3, 3)
    expected = np.asarray(translate_image(T, image(photos / "a.png")))
    assert np.array_equal(result, expected)  # the CLI is the API, seed 0 for pix2pix's dropout
    # another seed draws other dropout masks: the seed is really used
    assert not np.array_equal(np.asarray(translate_image(T, image(photos / "a.png"), seed=1)), expected)


def test_a_folder_keeps_nested_names_and_an_archive_gives_the_same(runs, photos, tmp_path, capsys):
    code, _, err = ganforge("translate", runs["pix2pix"], photos, "--out", tmp_path / "out")
    assert code == 0, err
    made = sorted(p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*") if p.is_file())
    assert made == ["a.png", "street/b.png", "street/night/c.png"]  # .jpg became .png; the hidden file ignored
    assert image(tmp_path / "out" / "street" / "b.png").shape == (30, 20, 3)
    assert image(tmp_path / "out" / "street" / "night" / "c.png").shape == (17, 19, 3)  # gray in, RGB out

    zpath = tmp_path / "in.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        for p in photos.rglob("*"):
            if p.is_file():
                zf.write(p, p.relative_to(photos).as_posix())
    tpath = tmp_path / "in.tar.gz"
    with tarfile.open(tpath, "w:gz") as tf:
        tf.add(photos, arcname=".")
    for archive in (zpath, tpath):
        out = tmp_path / archive.name.replace(".", "-")
        code, _, err = cli(capsys, "translate", runs["pix2pix"], archive, "--out", out)
        assert code == 0, err
        for rel in made:
            assert np.array_equal(image(out / rel), image(tmp_path / "out" / rel)), (archive.name, rel)


def test_grayscale_input_is_the_gray_repeated_to_rgb(runs):
    T = load_translator(runs["pix2pix"])
    gray = np.random.default_rng(5).integers(0, 256, (21, 26), dtype=np.uint8)
    out = translate_image(T, Image.fromarray(gray))
    assert out.mode == "RGB" and out.size == (26, 21)
    assert np.array_equal(np.asarray(out), np.asarray(translate_image(T, np.repeat(gray[:, :, None], 3, 2))))


def test_tile_keeps_the_size_and_differs_from_resizing(runs, tmp_path, capsys):
    big = np.random.default_rng(6).integers(0, 256, (40, 70, 3), dtype=np.uint8)
    Image.fromarray(big).save(tmp_path / "big.png")
    code, _, err = ganforge("translate", runs["cyclegan"], tmp_path / "big.png", "--out", tmp_path / "t.png",
                            "--tile", "--direction", "BtoA")
    assert code == 0, err
    tiled = image(tmp_path / "t.png")
    assert tiled.shape == (40, 70, 3)
    T = load_translator(runs["cyclegan"], "BtoA")
    assert np.array_equal(tiled, np.asarray(translate_image(T, big, tile=True)))
    assert not np.array_equal(tiled, np.asarray(translate_image(T, big)))
    # a JPEG result when the extension says so
    code, _, err = cli(capsys, "translate", runs["cyclegan"], tmp_path / "big.png", "--out", tmp_path / "t.jpg")
    assert code == 0, err
    with Image.open(tmp_path / "t.jpg") as im:
        assert im.format == "JPEG" and im.size == (70, 40)


def test_overwrite_is_needed_and_respected(runs, photos, tmp_path, capsys):
    out = tmp_path / "x.png"
    out.write_bytes(b"keep me")
    code, _, err = ganforge("translate", runs["pix2pix"], photos / "a.png", "--out", out)
    assert code == 1 and len(err.strip().splitlines()) == 1 and "--overwrite" in err
    assert out.read_bytes() == b"keep me"
    code, _, err = cli(capsys, "translate", runs["pix2pix"], photos / "a.png", "--out", out, "--overwrite")
    assert code == 0, err
    assert image(out).shape == (23, 37, 3)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp-")]  # no temporary left


# ----------------------------------------------------------------------------- bad input


@pytest.fixture(scope="module")
def gan_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("gan") / "ring"
    cfg = Config().with_overrides({"data.name": "ring8", "train.steps": 2, "train.progress": False,
                                   "model.g_width": 8, "model.d_width": 8, "train.batch_size": 8})
    Trainer(cfg, run_dir=create_run_dir(run, cfg)).run()
    return run


def _one_line_refusal(result, match):
    code, stdout, err = result
    assert code != 0, stdout
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ganforge: error:"), err
    assert match in lines[0], lines[0]


def test_each_bad_input_is_one_line_and_writes_nothing(runs, gan_run, photos, tmp_path, capsys):
    p2p = runs["pix2pix"]
    target = tmp_path / "never.png"
    (tmp_path / "empty").mkdir()
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "street").mkdir()
    (tmp_path / "taken" / "street" / "b.png").write_bytes(b"old")
    cases = [
        ((gan_run, photos / "a.png", "--out", target), "is not a translator"),
        ((p2p, photos / "a.png", "--out", target, "--direction", "BtoA"), "trained AtoB only"),
        ((p2p, tmp_path / "missing.png", "--out", target), "does not exist"),
        ((p2p, tmp_path / "broken.png", "--out", target), "cannot read image"),
        ((p2p, tmp_path / "notes.txt", "--out", target), "not an image file"),
        ((p2p, tmp_path / "empty", "--out", tmp_path / "o"), "no images in"),
        ((p2p, photos, "--out", photos / "a.png"), "is a file"),
        ((p2p, photos, "--out", tmp_path / "taken"), "already exists"),
        ((p2p, photos / "a.png", "--out", tmp_path / "x.gif"), "unsupported image format"),
        ((tmp_path / "empty", photos / "a.png", "--out", target), "not a ganforge run"),
    ]
    # the real command in a subprocess for two of them (exit status, nothing but the one line on
    # stderr); the same entry point in this process for every one
    for args, match in cases[:1] + cases[7:8]:
        _one_line_refusal(ganforge("translate", *args), match)
    for args, match in cases:
        _one_line_refusal(cli(capsys, "translate", *args), match)
    assert not target.exists() and not (tmp_path / "o").exists() and not (tmp_path / "x.gif").exists()
    assert (tmp_path / "taken" / "street" / "b.png").read_bytes() == b"old"
    assert not (tmp_path / "taken" / "a.png").exists()  # refused before the first write


def test_an_unreadable_image_in_a_folder_is_skipped_and_named(runs, photos, tmp_path, capsys):
    (photos / "street" / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    with pytest.warns(UserWarning, match="bad.png"):
        code, _, err = cli(capsys, "translate", runs["pix2pix"], photos, "--out", tmp_path / "out")
    assert code == 1 and "1 image(s)" in err and "street/bad.png" in err
    assert (tmp_path / "out" / "a.png").is_file() and not (tmp_path / "out" / "street" / "bad.png").exists()

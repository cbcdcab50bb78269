"""`ganforge inpaint` end to end on a tiny trained run: one image, folders with matching masks, known
pixels kept exactly, and every bad input as one line with nothing written."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ganforge.cli import main
from ganforge.config import Config
from ganforge.data.base import ImageDataset
from ganforge.engine import Trainer
from ganforge.engine.rundir import create_run_dir
from ganforge.inpaint import inpaint_image, load_inpainter

TINY = {"model.game": "inpaint", "model.arch": "unet", "model.g_channels": 4, "model.d_channels": 4,
        "model.d_layers": 1, "model.dropout": False, "data.mask": "center", "train.batch_size": 4,
        "train.steps": 2, "train.progress": False, "train.device": "cpu", "train.threads": 1,
        "train.sample_every": 0, "train.checkpoint_every": 0}


def train_tiny(run_dir: Path, channels: int, **overrides) -> Path:
    cfg = Config().with_overrides({**TINY, **overrides})
    g = torch.Generator().manual_seed(0)
    data = ImageDataset("tiny", torch.randint(0, 256, (8, channels, 16, 16), generator=g, dtype=torch.uint8))
    Trainer(cfg, run_dir=create_run_dir(run_dir, cfg), dataset=data).run()
    return run_dir


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("inpaint")
    return {"rgb": train_tiny(root / "rgb", 3), "gray": train_tiny(root / "gray", 1), "root": root}


def cli(capsys, *args):
    capsys.readouterr()
    code = main([*map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def pixels(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im)


def photo(path: Path, w: int, h: int, seed: int = 0, mode: str = "RGB") -> Path:
    rng = np.random.default_rng(seed)
    shape = (h, w, 3) if mode == "RGB" else (h, w)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8)).save(path)
    return path


def mask(path: Path, w: int, h: int, box=None) -> Path:
    """A black mask with a white box (left, top, right, bottom); default the middle third."""
    m = np.zeros((h, w), np.uint8)
    left, top, right, bottom = box or (w // 3, h // 3, 2 * w // 3, 2 * h // 3)
    m[top:bottom, left:right] = 255
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(m).save(path)
    return path


def test_one_image_keeps_known_pixels_exactly_and_fills_the_hole(runs, tmp_path, capsys):
    src = photo(tmp_path / "in.png", 40, 30)
    m = mask(tmp_path / "m.png", 40, 30)
    code, out, err = cli(capsys, "inpaint", runs["rgb"], src, "--mask", m, "--out", tmp_path / "out.png")
    assert code == 0 and "inpainted 1 image(s)" in out and err == ""
    result, original, hole = pixels(tmp_path / "out.png"), pixels(src), pixels(m) >= 128
    assert result.shape == original.shape
    assert np.array_equal(result[~hole], original[~hole])  # every known pixel, bit for bit
    assert (result[hole] != original[hole]).mean() > 0.9  # the hole is the model's


def test_no_paste_keeps_the_models_output_outside_the_hole(runs, tmp_path, capsys):
    src = photo(tmp_path / "in.png", 40, 30)
    m = mask(tmp_path / "m.png", 40, 30)
    code, _, _ = cli(capsys, "inpaint", runs["rgb"], src, "--mask", m, "--out", tmp_path / "raw.png", "--no-paste")
    assert code == 0
    hole = pixels(m) >= 128
    assert (pixels(tmp_path / "raw.png")[~hole] != pixels(src)[~hole]).mean() > 0.5


def test_folder_with_matching_masks_keeps_names_and_tiles(runs, tmp_path, capsys):
    photo(tmp_path / "in/a.jpg", 16, 16)
    photo(tmp_path / "in/sub/b.png", 48, 20, seed=1)
    mask(tmp_path / "masks/a.png", 16, 16, (0, 0, 8, 8))
    mask(tmp_path / "masks/sub/b.png", 48, 20)
    for extra in ((), ("--tile",)):
        out = tmp_path / ("tiles" if extra else "resized")
        code, text, _ = cli(capsys, "inpaint", runs["rgb"], tmp_path / "in", "--mask", tmp_path / "masks",
                            "--out", out, *extra)
        assert code == 0 and "inpainted 2 image(s)" in text
        assert pixels(out / "a.png").shape == (16, 16, 3) and pixels(out / "sub/b.png").shape == (20, 48, 3)
        known = pixels(tmp_path / "masks/sub/b.png") < 128
        assert np.array_equal(pixels(out / "sub/b.png")[known], pixels(tmp_path / "in/sub/b.png")[known])


def test_one_mask_for_a_folder_and_rgb_into_a_gray_model(runs, tmp_path, capsys):
    photo(tmp_path / "in/x.png", 16, 16)
    photo(tmp_path / "in/y.png", 16, 16, seed=2)
    m = mask(tmp_path / "m.png", 16, 16)
    code, _, _ = cli(capsys, "inpaint", runs["gray"], tmp_path / "in", "--mask", m, "--out", tmp_path / "out")
    assert code == 0
    y = pixels(tmp_path / "out/y.png")
    assert y.ndim == 2  # the model's one channel
    gray = np.asarray(Image.open(tmp_path / "in/y.png").convert("L"))
    known = pixels(m) < 128
    assert np.abs(y[known].astype(int) - gray[known].astype(int)).max() <= 1  # luma, rounded alike


def test_sixteen_bit_input_and_palette_mask_are_read(runs, tmp_path, capsys):
    deep = (np.random.default_rng(0).integers(0, 65536, (16, 16))).astype(np.uint16)
    Image.fromarray(deep).save(tmp_path / "deep.png")  # mode I;16
    pal = Image.new("P", (16, 16), 0)
    pal.putpalette([0, 0, 0, 255, 255, 255] + [0] * 762)
    pal.paste(1, (4, 4, 12, 12))  # palette index 1 (white) = fill
    pal.save(tmp_path / "pal.png")
    code, _, err = cli(capsys, "inpaint", runs["gray"], tmp_path / "deep.png", "--mask", tmp_path / "pal.png",
                       "--out", tmp_path / "out.png")
    assert code == 0, err
    result = pixels(tmp_path / "out.png")
    top = (deep >> 8).astype(np.uint8)
    hole = np.zeros((16, 16), bool)
    hole[4:12, 4:12] = True
    assert np.array_equal(result[~hole], top[~hole])


def _refused(capsys, args, match, out: Path):
    code, stdout, err = cli(capsys, "inpaint", *args, "--out", out)
    assert code == 1 and stdout == "" and match in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not out.exists()


def test_bad_masks_are_one_line_and_nothing_is_written(runs, tmp_path, capsys):
    src = photo(tmp_path / "in.png", 40, 30)
    out = tmp_path / "out.png"
    _refused(capsys, (runs["rgb"], src, "--mask", mask(tmp_path / "small.png", 20, 15)),
             "is 20x15 but its image is 40x30", out)
    empty = tmp_path / "empty.png"
    Image.fromarray(np.zeros((30, 40), np.uint8)).save(empty)
    _refused(capsys, (runs["rgb"], src, "--mask", empty), "has no white pixel: nothing to fill", out)
    _refused(capsys, (runs["rgb"], src, "--mask", tmp_path / "missing.png"), "does not exist", out)
    photo(tmp_path / "folder/a.png", 16, 16)
    photo(tmp_path / "folder/b.png", 16, 16)
    mask(tmp_path / "masks/a.png", 16, 16)
    _refused(capsys, (runs["rgb"], tmp_path / "folder", "--mask", tmp_path / "masks"), "no mask for b.png",
             tmp_path / "outdir")


def test_other_bad_inputs(runs, tmp_path, capsys):
    src = photo(tmp_path / "in.png", 16, 16)
    m = mask(tmp_path / "m.png", 16, 16)
    target = tmp_path / "done.png"
    target.write_bytes(b"keep me")
    code, _, err = cli(capsys, "inpaint", runs["rgb"], src, "--mask", m, "--out", target)
    assert code == 1 and "already exists" in err and target.read_bytes() == b"keep me"
    gan = tmp_path / "gan"
    cfg = Config().with_overrides({"data.name": "ring8", "train.steps": 1, "train.progress": False,
                                   "train.sample_every": 0, "train.checkpoint_every": 0})
    Trainer(cfg, run_dir=create_run_dir(gan, cfg)).run()
    _refused(capsys, (gan, src, "--mask", m), "is not an inpainting model", tmp_path / "x.png")
    for command in (("sample", runs["gray"], "-n", "2", "--out", tmp_path / "s.png"), ("eval", runs["gray"])):
        code, _, err = cli(capsys, *command)  # no latent noise to sample from: one line, not a traceback
        assert code == 1 and "use `ganforge inpaint`" in err and len(err.strip().splitlines()) == 1


def test_an_input_smaller_than_the_model_gives_a_warning(runs, tmp_path):
    P = load_inpainter(runs["rgb"])
    tiny = np.random.default_rng(0).integers(0, 256, (6, 6, 3), dtype=np.uint8)
    hole = np.zeros((6, 6), bool)
    hole[2:4, 2:4] = True
    with pytest.warns(UserWarning, match="smaller than the model's 16x16"):
        out = np.asarray(inpaint_image(P, tiny, hole))
    assert out.shape == (6, 6, 3) and np.array_equal(out[~hole], tiny[~hole])


def test_the_real_command_runs_in_a_subprocess(runs, tmp_path):
    src = photo(tmp_path / "in.png", 16, 16)
    m = mask(tmp_path / "m.png", 16, 16)
    p = subprocess.run([sys.executable, "-m", "ganforge", "inpaint", str(runs["rgb"]), str(src), "--mask", str(m),
                        "--out", str(tmp_path / "o.png")], capture_output=True, text=True, timeout=300, check=False)
    assert p.returncode == 0 and (tmp_path / "o.png").is_file()
    p = subprocess.run([sys.executable, "-m", "ganforge", "inpaint", str(runs["rgb"]), str(src), "--mask",
                        str(tmp_path / "nope.png"), "--out", str(tmp_path / "p.png")], capture_output=True, text=True,
                       timeout=300, check=False)
    assert p.returncode == 1 and p.stderr.count("\n") == 1 and "does not exist" in p.stderr

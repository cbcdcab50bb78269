"""`ganforge upscale`: a trained SR model on images and folders of any size, tiles that agree with
the whole image, and every bad input as one line (or a clear warning) with nothing overwritten."""

import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ganforge.cli import main
from ganforge.config import Config
from ganforge.engine import Trainer
from ganforge.engine.rundir import create_run_dir
from ganforge.nets.srresnet import SRResNet
from ganforge.translate import tile_starts
from ganforge.upscale import Upscaler, load_upscaler, upscale_image, upscale_tensor

TINY = {"model.game": "super-resolution", "model.arch": "srresnet", "data.name": "sr-folder", "data.scale": 4,
        "data.resolution": 16, "model.g_channels": 4, "model.g_blocks": 1, "loss.gan_weight": 0.0,
        "train.batch_size": 4, "train.steps": 3, "train.sample_every": 0, "train.checkpoint_every": 0,
        "train.progress": False, "train.device": "cpu", "optim.lr_g": 0.01}


def photo(h, w, seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (max(1, h // 4), max(1, w // 4), 3), dtype=np.uint8)
    return np.asarray(Image.fromarray(small).resize((w, h), Image.Resampling.BILINEAR))


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("sr")
    (root / "photos").mkdir()
    for i in range(3):
        Image.fromarray(photo(32, 32, i)).save(root / "photos" / f"{i}.png")
    cfg = Config().with_overrides({**TINY, "data.path": str(root / "photos")})
    tr = Trainer(cfg, run_dir=create_run_dir(root / "run", cfg))
    for _ in range(3):
        tr.step()
    tr.save_checkpoint()  # the checkpoint alone: what upscale reads
    return root / "run"


def cli(capsys, *args):
    capsys.readouterr()
    code = main([*map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def read(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im)


def test_one_image_is_upscaled_by_the_models_scale(run, tmp_path, capsys):
    Image.fromarray(photo(30, 44)).save(tmp_path / "in.png")
    code, out, _ = cli(capsys, "upscale", run, tmp_path / "in.png", "--out", tmp_path / "out.png", "--scale", 4)
    assert code == 0 and "upscaled 1 image(s) x4" in out
    result = read(tmp_path / "out.png")
    assert result.shape == (120, 176, 3)
    assert np.array_equal(result, np.asarray(upscale_image(load_upscaler(run), photo(30, 44))))


def test_a_folder_keeps_names_and_sub_folders_as_png(run, tmp_path, capsys):
    (tmp_path / "in" / "sub").mkdir(parents=True)
    Image.fromarray(photo(20, 20)).save(tmp_path / "in" / "a.jpg")
    Image.fromarray(photo(24, 16, 1)).save(tmp_path / "in" / "sub" / "b.png")
    code, _, _ = cli(capsys, "upscale", run, tmp_path / "in", "--out", tmp_path / "out")
    assert code == 0
    assert sorted(p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*.png")) == \
        ["a.png", "sub/b.png"]
    assert read(tmp_path / "out" / "sub" / "b.png").shape == (96, 64, 3)


def test_tiled_upscaling_equals_the_whole_image_away_from_tile_borders():
    torch.manual_seed(0)
    net = SRResNet(3, 2, width=4, blocks=1).eval()
    torch.nn.init.normal_(net.tail.weight, std=0.2)  # the residual branch matters, not just bicubic
    U = Upscaler(net, 3, 2, 16)
    x = torch.rand(1, 3, 70, 90) * 2 - 1
    whole = upscale_tensor(U, x, tile=200)  # one pass
    tiled = upscale_tensor(U, x, tile=40)  # 2 x 3 tiles
    assert tiled.shape == whole.shape == (1, 3, 140, 180)
    margin = U.receptive_field // 2 + 1  # input pixels near an interior tile edge see its padding
    keep = torch.ones(140, 180, dtype=torch.bool)
    overlap = min(20, U.receptive_field)
    for axis, length in ((0, 70), (1, 90)):
        for start in tile_starts(length, 40, overlap):
            for edge in (start, start + 40):
                if 0 < edge < length:
                    lo, hi = 2 * max(0, edge - margin), 2 * min(length, edge + margin)
                    if axis == 0:
                        keep[lo:hi] = False
                    else:
                        keep[:, lo:hi] = False
    assert keep.float().mean() > 0.1
    assert torch.allclose(tiled[..., keep], whole[..., keep], atol=1e-5)
    assert not torch.allclose(tiled, whole, atol=1e-5)  # the tile borders do differ: the mask matters


def test_a_scale_the_model_was_not_trained_for_is_one_line(run, tmp_path, capsys):
    Image.fromarray(photo(20, 20)).save(tmp_path / "in.png")
    code, _, err = cli(capsys, "upscale", run, tmp_path / "in.png", "--out", tmp_path / "out.png", "--scale", 2)
    assert code != 0 and len(err.strip().splitlines()) == 1 and "upscales x4 only" in err and "--scale 2" in err
    assert not (tmp_path / "out.png").exists()


def test_existing_results_are_not_overwritten_without_the_flag(run, tmp_path, capsys):
    Image.fromarray(photo(20, 20)).save(tmp_path / "in.png")
    (tmp_path / "out.png").write_bytes(b"keep me")
    code, _, err = cli(capsys, "upscale", run, tmp_path / "in.png", "--out", tmp_path / "out.png")
    assert code != 0 and "already exists" in err and (tmp_path / "out.png").read_bytes() == b"keep me"
    assert cli(capsys, "upscale", run, tmp_path / "in.png", "--out", tmp_path / "out.png", "--overwrite")[0] == 0
    assert read(tmp_path / "out.png").shape == (80, 80, 3)


def png_header_only(path: Path, width: int, height: int) -> None:
    """A PNG that declares width x height RGB pixels and holds none: cheap to write and to probe."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b""))


def test_a_20000_pixel_image_is_refused_from_its_header_before_anything_is_written(run, tmp_path, capsys):
    (tmp_path / "in").mkdir()
    Image.fromarray(photo(20, 20)).save(tmp_path / "in" / "a_small.png")
    png_header_only(tmp_path / "in" / "huge.png", 20000, 20000)
    code, _, err = cli(capsys, "upscale", run, tmp_path / "in", "--out", tmp_path / "out")
    assert code != 0 and len(err.strip().splitlines()) == 1
    assert "huge.png: 20000x20000 upscaled x4 would be 80000x80000" in err and "--max-pixels" in err
    assert not (tmp_path / "out").exists()  # the small image was not written either


def test_16_bit_and_palette_pngs_are_read_with_a_warning_where_bits_are_lost(run, tmp_path, capsys):
    gray16 = (np.arange(24 * 24, dtype=np.uint16).reshape(24, 24) * 100)
    Image.fromarray(gray16).save(tmp_path / "g16.png")
    assert Image.open(tmp_path / "g16.png").mode.startswith("I")
    with pytest.warns(UserWarning, match="16-bit image; it is reduced to 8 bits"):
        code, _, _ = cli(capsys, "upscale", run, tmp_path / "g16.png", "--out", tmp_path / "g16_x4.png")
    assert code == 0 and read(tmp_path / "g16_x4.png").shape == (96, 96, 3)
    rgb = Image.fromarray(photo(24, 24)).quantize(16)  # a palette image
    rgb.save(tmp_path / "p.png")
    rgb.convert("RGB").save(tmp_path / "rgb.png")
    assert cli(capsys, "upscale", run, tmp_path / "p.png", "--out", tmp_path / "p_x4.png")[0] == 0
    assert cli(capsys, "upscale", run, tmp_path / "rgb.png", "--out", tmp_path / "rgb_x4.png")[0] == 0
    assert np.array_equal(read(tmp_path / "p_x4.png"), read(tmp_path / "rgb_x4.png"))


def test_an_input_smaller_than_the_receptive_field_warns(run, tmp_path, capsys):
    Image.fromarray(photo(6, 6)).save(tmp_path / "tiny.png")
    with pytest.warns(UserWarning, match="smaller than the model's receptive field"):
        assert cli(capsys, "upscale", run, tmp_path / "tiny.png", "--out", tmp_path / "t.png")[0] == 0
    assert read(tmp_path / "t.png").shape == (24, 24, 3)


def test_not_a_run_and_bad_options_are_one_line(run, tmp_path, capsys):
    Image.fromarray(photo(20, 20)).save(tmp_path / "in.png")
    for args, message in (
        ((tmp_path, tmp_path / "in.png", "--out", tmp_path / "o.png"), "is not a ganforge run directory"),
        ((run, tmp_path / "in.png", "--out", tmp_path / "o.png", "--tile", "4"), "--tile must be at least 8"),
        ((run, tmp_path / "nothing.png", "--out", tmp_path / "o.png"), "nothing.png does not exist"),
        ((run, tmp_path / "in.png", "--out", tmp_path / "o.gif"), "unsupported image format"),
    ):
        code, _, err = cli(capsys, "upscale", *args)
        assert code != 0 and message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o.png").exists()

"""The CLI end to end on built-in data, and every bad input as a one-line error."""

import json
import subprocess
import sys

import numpy as np
import torch

from ganforge.cli import main

FAST = ["--set", "train.steps=6", "--set", "train.batch_size=16", "--set", "train.log_every=2",
        "--set", "train.sample_every=3", "--set", "train.checkpoint_every=3", "--set", "train.progress=false",
        "--set", "model.g_channels=4", "--set", "model.d_channels=4", "--set", "model.g_width=16",
        "--set", "model.d_width=16", "--no-report"]


def ganforge(*args):
    """Run the real command in a subprocess: (exit code, stdout, stderr)."""
    p = subprocess.run([sys.executable, "-m", "ganforge", *args], capture_output=True, text=True, timeout=300)
    return p.returncode, p.stdout, p.stderr


def test_train_resume_and_sample_on_builtin_digits(tmp_path):
    run = tmp_path / "digits"
    assert main(["train", "--preset", "digits", "--out", str(run), *FAST]) == 0
    for name in ("config.json", "stats.jsonl", "loss.png", "checkpoints/latest", "samples/step-0000006.png"):
        assert (run / name).exists(), name
    assert json.loads((run / "config.json").read_text())["preset"] == "digits"
    lines = [json.loads(x) for x in (run / "stats.jsonl").read_text().splitlines()]
    assert [x["step"] for x in lines] == [2, 4, 6]
    assert {"d_loss", "g_loss", "value", "d_real", "d_fake", "g_grad_norm", "d_grad_norm"} <= set(lines[0])

    assert main(["train", "--resume", str(run), "--steps", "9"]) == 0
    assert (run / "checkpoints" / "step-0000009").is_dir()

    assert main(["sample", str(run), "-n", "10", "--out", str(tmp_path / "s.npy")]) == 0
    samples = np.load(tmp_path / "s.npy")
    assert samples.shape == (10, 1, 8, 8) and samples.min() >= -1 and samples.max() <= 1
    assert main(["sample", str(run), "-n", "16", "--out", str(tmp_path / "s.png")]) == 0
    assert (tmp_path / "s.png").read_bytes()[:4] == b"\x89PNG"
    assert main(["sample", str(run), "-n", "3", "--out", str(tmp_path / "s.pt")]) == 0
    assert torch.load(tmp_path / "s.pt", weights_only=True).shape == (3, 1, 8, 8)


def test_conditional_sampling_by_class(tmp_path):
    run = tmp_path / "cgan"
    assert main(["train", "--preset", "digits", "--set", "model.conditional=true", "--out", str(run), *FAST]) == 0
    assert main(["sample", str(run), "-n", "4", "--class", "7", "--out", str(tmp_path / "sevens.npy")]) == 0
    code, _, err = ganforge("sample", str(run), "-n", "4", "--class", "12", "--out", str(tmp_path / "x.npy"))
    assert code == 1 and "class 12 is out of range" in err


def test_point_data_run_and_scatter(tmp_path):
    run = tmp_path / "ring"
    assert main(["train", "--preset", "ring8", "--out", str(run), *FAST]) == 0
    assert main(["sample", str(run), "-n", "100", "--out", str(tmp_path / "ring.png")]) == 0
    assert main(["sample", str(run), "-n", "100", "--out", str(tmp_path / "ring.npy")]) == 0
    assert np.load(tmp_path / "ring.npy").shape == (100, 2)
    code, out, _ = ganforge("sample", str(run), "-n", "50", "--drs", "0.5", "--drs-quantile", "0.9",
                            "--out", str(tmp_path / "drs.npy"))
    assert code == 0 and "rejection sampling kept" in out
    assert np.load(tmp_path / "drs.npy").shape == (50, 2)
    code, _, err = ganforge("sample", str(run), "--drs", "1", "--sheet", "--out", str(tmp_path / "x.npy"))
    assert code == 1 and "--drs" in err and len(err.strip().splitlines()) == 1


def test_presets_and_dry_run(capsys):
    assert main(["presets"]) == 0
    out = capsys.readouterr().out
    assert "grid25" in out and "fashion-wgan-gp" in out
    assert main(["train", "--preset", "grid25", "--set", "optim.lr_d=4e-4", "--dry-run"]) == 0
    cfg = json.loads(capsys.readouterr().out)
    assert cfg["optim"]["lr_d"] == 4e-4 and cfg["data"]["name"] == "grid25"


def assert_one_line_error(code, err, *fragments):
    assert code != 0
    lines = [x for x in err.strip().splitlines() if x]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    for f in fragments:
        assert f in lines[0], (f, lines[0])


def test_bad_inputs_are_one_line_errors(tmp_path):
    assert_one_line_error(*ganforge("train", "--preset", "grid26", "--dry-run")[::2], "unknown preset 'grid26'", "grid25")
    assert_one_line_error(*ganforge("train", "--preset", "ring8", "--set", "optim.lr=1", "--dry-run")[::2],
                          "unknown setting optim.lr", "lr_d")
    assert_one_line_error(*ganforge("train", "--preset", "ring8", "--set", "train.steps=many", "--dry-run")[::2],
                          "train.steps expects int")
    assert_one_line_error(*ganforge("train", "--preset", "ring8", "--set", "loss.name=vanilla", "--out",
                                    str(tmp_path / "x"))[::2], "unknown loss 'vanilla'", "hinge")
    assert not (tmp_path / "x").exists(), "a bad setting must not leave a run directory behind"
    assert_one_line_error(*ganforge("train", "--preset", "ring8", "--set", "data.name=imagenet", "--out",
                                    str(tmp_path / "y"))[::2], "unknown dataset 'imagenet'", "mnist")
    assert_one_line_error(*ganforge("train", "--preset", "ring8", "--set", "model.arch=gpt", "--out",
                                    str(tmp_path / "z"))[::2], "unknown architecture 'gpt'", "dcgan")


def test_existing_run_directory_is_not_overwritten(tmp_path):
    run = tmp_path / "r"
    assert main(["train", "--preset", "ring8", "--out", str(run), *FAST]) == 0
    before = (run / "stats.jsonl").read_text()
    assert_one_line_error(*ganforge("train", "--preset", "ring8", "--out", str(run))[::2],
                          "already exists", "--resume", "--overwrite")
    assert (run / "stats.jsonl").read_text() == before
    other = tmp_path / "notes"
    other.mkdir()
    (other / "thesis.txt").write_text("precious")
    assert_one_line_error(*ganforge("train", "--preset", "ring8", "--out", str(other), "--overwrite")[::2],
                          "not a ganforge run")
    assert (other / "thesis.txt").read_text() == "precious"
    assert main(["train", "--preset", "ring8", "--out", str(run), "--overwrite", *FAST]) == 0


def test_corrupt_checkpoint_and_wrong_architecture_from_the_cli(tmp_path):
    run = tmp_path / "r"
    assert main(["train", "--preset", "ring8", "--out", str(run), *FAST]) == 0
    code, _, err = ganforge("train", "--resume", str(run), "--steps", "8", "--set", "model.g_width=32")
    assert_one_line_error(code, err, "different architecture", "g_width")
    latest = run / "checkpoints" / (run / "checkpoints" / "latest").read_text().strip()
    weights = latest / "D.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])
    assert_one_line_error(*ganforge("train", "--resume", str(run), "--steps", "8")[::2], "corrupt or truncated", "D.safetensors")
    assert_one_line_error(*ganforge("sample", str(tmp_path), "-n", "4", "--out", str(tmp_path / "a.png"))[::2],
                          "not a ganforge run directory")
    assert_one_line_error(*ganforge("sample", str(run), "--out", str(tmp_path / "a.gif"))[::2], "unsupported format", ".png")


def test_missing_dataset_names_the_files_and_the_fix(tmp_path, monkeypatch):
    monkeypatch.setenv("GANFORGE_CACHE", str(tmp_path / "cache"))
    env_free = {k: v for k, v in __import__("os").environ.items() if k != "GANFORGE_DATA"}
    p = subprocess.run([sys.executable, "-m", "ganforge", "train", "--preset", "mnist-dcgan", "--data-dir",
                        str(tmp_path / "empty"), "--out", str(tmp_path / "m")],
                       capture_output=True, text=True, env=env_free, timeout=120)
    assert_one_line_error(p.returncode, p.stderr, "train-images-idx3-ubyte.gz", "ganforge data fetch mnist")
    assert not (tmp_path / "m").exists()


def test_tensorboard_logging_or_a_clear_error(tmp_path):
    run = tmp_path / "tb"
    try:
        import tensorboard  # noqa: F401
    except ImportError:
        code, _, err = ganforge("train", "--preset", "ring8", "--out", str(run), "--set", "train.tensorboard=true", *FAST)
        assert_one_line_error(code, err, "train.tensorboard needs the tensorboard package")
        assert not run.exists()
        return
    assert main(["train", "--preset", "ring8", "--out", str(run), "--set", "train.tensorboard=true", *FAST]) == 0
    assert list((run / "tensorboard").glob("events.out.tfevents.*"))


def test_a_cli_run_ends_with_its_report_and_alerts(tmp_path):
    run = tmp_path / "ring"
    settings = [a for a in FAST if a != "--no-report"]
    assert main(["train", "--preset", "ring8", "--out", str(run), *settings]) == 0
    html = (run / "report.html").read_text()
    assert "data:image/png;base64," in html and "http://" not in html and "https://" not in html
    # six rounds are far too few to cover the ring: the monitor says so, and the report shows it
    alerts = [json.loads(line) for line in (run / "alerts.jsonl").read_text().splitlines()]
    assert any(a["name"] == "mode-collapse" and a["suggestion"] for a in alerts)
    assert "mode-collapse" in html


def test_seed_option_is_train_seed(capsys):
    assert main(["train", "--preset", "ring8", "--seed", "123", "--dry-run"]) == 0
    by_option = json.loads(capsys.readouterr().out)
    assert main(["train", "--preset", "ring8", "--set", "train.seed=123", "--dry-run"]) == 0
    assert by_option == json.loads(capsys.readouterr().out) and by_option["train"]["seed"] == 123
    assert main(["train", "--preset", "ring8", "--dry-run"]) == 0
    assert json.loads(capsys.readouterr().out)["train"]["seed"] != 123


def test_warnings_are_one_line_in_the_cli(monkeypatch):
    import warnings

    from ganforge.commands import presets

    shown = []

    def command(args):  # how Python will print a warning raised while the command runs
        shown.append(warnings.formatwarning("the decode cache could not be written\nbecause the disk is full",
                                            UserWarning, "/src/ganforge/data/cache.py", 120))
        return 0

    monkeypatch.setattr(presets, "run", command)  # the parser is built inside main(), after this
    before = warnings.formatwarning
    assert main(["presets"]) == 0
    assert shown == ["ganforge: warning: the decode cache could not be written because the disk is full\n"]
    assert warnings.formatwarning is before  # restored for whoever called main()

"""Train the MNIST classifier shipped in src/ganforge/metrics/weights/mnist_classifier.safetensors.

Usage:
    python scripts/train_mnist_classifier.py --data /path/to/mnist [--epochs 4] [--budget 1500]

``--data`` holds the four original IDX gzip files (train-images-idx3-ubyte.gz, ...). Training is
seeded and single-threaded by default, so the result is reproducible on one machine. The script
prints the test accuracy and stores it, with the seed and epochs, in the safetensors metadata.
"""

from __future__ import annotations

import argparse
import gzip
import math
import struct
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from ganforge.metrics.classifier import WEIGHTS_PATH, MnistClassifier  # noqa: E402


def read_idx(path: Path) -> np.ndarray:
    """An IDX file (optionally gzip) as a numpy array (the format of LeCun's MNIST files)."""
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    zero, dtype_code, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype_code != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte IDX file")
    shape = struct.unpack(">" + "I" * ndim, data[4 : 4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def load_split(folder: Path, split: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Images (N, 1, 28, 28) float in [-1, 1] and labels (N,) int64 of the 'train' or 't10k' split."""
    images = read_idx(folder / f"{split}-images-idx3-ubyte.gz")
    labels = read_idx(folder / f"{split}-labels-idx1-ubyte.gz")
    x = torch.from_numpy(images.copy()).float().div(127.5).sub(1.0).unsqueeze(1)
    return x, torch.from_numpy(labels.astype(np.int64))


def shift_augment(x: torch.Tensor, g: torch.Generator, max_shift: int = 2) -> torch.Tensor:
    """Random translations by up to ``max_shift`` pixels (pad with background -1, then crop)."""
    n = x.shape[0]
    padded = F.pad(x, (max_shift,) * 4, value=-1.0)  # (N, 1, 28+2s, 28+2s)
    dx = torch.randint(0, 2 * max_shift + 1, (n,), generator=g)
    dy = torch.randint(0, 2 * max_shift + 1, (n,), generator=g)
    rows = (dy[:, None] + torch.arange(28)[None, :])  # (N, 28)
    cols = (dx[:, None] + torch.arange(28)[None, :])  # (N, 28)
    return padded[torch.arange(n)[:, None, None], 0, rows[:, :, None], cols[:, None, :]].unsqueeze(1)


@torch.no_grad()
def accuracy(net: MnistClassifier, x: torch.Tensor, y: torch.Tensor) -> float:
    net.eval()
    pred = torch.cat([net(x[i : i + 1000]).argmax(1) for i in range(0, x.shape[0], 1000)])
    return float((pred == y).float().mean())


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="folder with the four MNIST IDX gzip files")
    ap.add_argument("--out", default=str(WEIGHTS_PATH), help="where to write the safetensors file")
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--budget", type=float, default=3600.0, help="stop after this many seconds")
    args = ap.parse_args(argv)

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    g = torch.Generator().manual_seed(args.seed)
    folder = Path(args.data)
    x_train, y_train = load_split(folder, "train")
    x_test, y_test = load_split(folder, "t10k")
    net = MnistClassifier()
    opt = torch.optim.Adam(net.parameters(), lr=args.lr)
    steps_per_epoch = math.ceil(x_train.shape[0] / args.batch)
    total = args.epochs * steps_per_epoch
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=total, pct_start=0.15)
    start, step, epochs_done = time.time(), 0, 0
    for epoch in range(args.epochs):
        net.train()
        order = torch.randperm(x_train.shape[0], generator=g)
        for i in range(0, x_train.shape[0], args.batch):
            idx = order[i : i + args.batch]
            xb = shift_augment(x_train[idx], g)
            loss = F.cross_entropy(net(xb), y_train[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            if step % 100 == 0:
                print(f"epoch {epoch + 1} step {step}/{total} loss {loss.item():.4f} {time.time() - start:.0f}s", flush=True)
            if time.time() - start > args.budget:
                break
        epochs_done = epoch + 1
        print(f"epoch {epochs_done}: test accuracy {accuracy(net, x_test, y_test):.4f}", flush=True)
        if time.time() - start > args.budget:
            print("time budget reached", flush=True)
            break
    acc = accuracy(net, x_test, y_test)
    from safetensors.torch import save_file

    state = {k: v.detach().contiguous() for k, v in net.state_dict().items()}
    meta = {
        "test_accuracy": f"{acc:.4f}",
        "epochs": str(epochs_done),
        "seed": str(args.seed),
        "steps": str(step),
        "trained_by": "scripts/train_mnist_classifier.py",
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    save_file(state, args.out, metadata=meta)
    print(f"test accuracy {acc:.4f}; wrote {args.out} in {time.time() - start:.0f}s")
    return 0 if acc >= 0.99 else 1


if __name__ == "__main__":
    sys.exit(main())

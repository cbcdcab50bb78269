"""Writing metric lines with provenance to ``metrics.jsonl``, and reading them back.

Every line is one metric at one step: ``{"step", "metric", "value", "values", "provenance", "time"}``.
``provenance`` records what a reader needs to trust or reproduce the number: sample counts, the
feature extractor and the sha256 of its weights file, the reference data and its hash, the image
resizing method, and the seed.

Lines are appended whole: a write that fails (a full disk) is cut back off, so the file never
holds a torn line that the next append would glue onto.
"""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

from ganforge.fileio import disk_full_as_error, finite_or_none, to_json


def provenance(
    *,
    n_fake: int,
    n_real: int | None,
    features: str,
    features_sha256: str | None,
    reference: str,
    reference_sha256: str | None,
    resize: str,
    seed: int | None,
    **extra,
) -> dict:
    """The provenance block of a metric line (every field is required, None where not applicable)."""
    return {
        "n_fake": int(n_fake),
        "n_real": None if n_real is None else int(n_real),
        "features": features,
        "features_sha256": features_sha256,
        "reference": reference,
        "reference_sha256": reference_sha256,
        "resize": resize,
        "seed": seed,
        **extra,
    }


def tensor_sha256(*tensors) -> str:
    """sha256 over the raw bytes of tensors/arrays (e.g. a mixture's centres and std)."""
    import torch

    h = hashlib.sha256()
    for t in tensors:
        t = torch.as_tensor(t).detach().cpu().contiguous()
        h.update(str(tuple(t.shape)).encode() + str(t.dtype).encode())
        h.update(t.numpy().tobytes())
    return h.hexdigest()


def metric_line(step: int, metric: str, value: float | None, values: dict | None, prov: dict) -> dict:
    """One ``metrics.jsonl`` record."""
    return finite_or_none({
        "step": int(step),
        "metric": metric,
        "value": None if value is None else float(value),
        "values": values or {},
        "provenance": prov,
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    })


def append_metrics(run_dir: str | Path, lines: list[dict]) -> None:
    """Append ``lines`` to ``run_dir/metrics.jsonl`` (strict JSON, one object per line)."""
    p = Path(run_dir) / "metrics.jsonl"
    text = "".join(to_json(line) + "\n" for line in lines)  # NaN and inf as null
    with disk_full_as_error("metrics.jsonl", p.parent):
        p.parent.mkdir(parents=True, exist_ok=True)
        with open(p, "ab", buffering=0) as f:  # unbuffered: a failed write is seen here, not at close
            start = f.seek(0, os.SEEK_END)
            data = memoryview(text.encode("utf-8"))
            try:
                while data:
                    data = data[f.write(data):]
            except OSError:
                f.truncate(start)  # no torn line for the next append to glue onto
                raise


def read_metrics(run_dir: str | Path) -> list[dict]:
    """Every record of ``run_dir/metrics.jsonl`` (empty when the file does not exist)."""
    from ganforge.viz import read_jsonl  # tolerates a torn last line from a killed process

    return read_jsonl(Path(run_dir) / "metrics.jsonl")

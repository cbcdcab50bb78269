"""Shared fixtures.

Real-data tests use ``shared_data``: the folder named by $GANFORGE_DATA. When it is absent they
skip with a reason, unless $GANFORGE_REQUIRE_DATA=1 (set by CI), in which case they fail.
Browser tests likewise skip without Chromium unless $GANFORGE_REQUIRE_BROWSER=1.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

torch.set_num_threads(1)  # deterministic and fair on a 2-core machine


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory, monkeypatch):
    """Decoded-dataset caches go to a per-session temporary folder, never the home directory."""
    if "GANFORGE_CACHE" not in os.environ:
        monkeypatch.setenv("GANFORGE_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))


def _required(var: str) -> bool:
    return os.environ.get(var, "") not in ("", "0", "false")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real-data folder ($GANFORGE_DATA), or skip/fail when it is not there."""
    root = os.environ.get("GANFORGE_DATA", "")
    if root and Path(root).is_dir():
        return Path(root)
    reason = "real data not available: set GANFORGE_DATA to a folder with mnist/, fashion-mnist/, ..."
    if _required("GANFORGE_REQUIRE_DATA"):
        pytest.fail(reason + " (GANFORGE_REQUIRE_DATA=1 makes this mandatory)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """Path of the system Chromium, or skip/fail when it is not installed."""
    path = os.environ.get("GANFORGE_CHROMIUM", "/usr/bin/chromium")
    if Path(path).exists():
        return path
    reason = f"Chromium not found at {path}: install Debian's chromium package"
    if _required("GANFORGE_REQUIRE_BROWSER"):
        pytest.fail(reason + " (GANFORGE_REQUIRE_BROWSER=1 makes this mandatory)")
    pytest.skip(reason)

"""Dataset sources: lookup order, checksums, downloads (never over the network), the CLI."""

from __future__ import annotations

import argparse
import hashlib
import io
import re
import urllib.error
from pathlib import Path

import pytest

from ganforge.commands import data as data_command
from ganforge.config import DataConfig
from ganforge.data import sources
from ganforge.data.images import load_image_dataset
from ganforge.errors import DataError


@pytest.fixture(autouse=True)
def isolated_env(tmp_path, monkeypatch):
    """User cache under tmp_path; no $GANFORGE_DATA unless a test sets it."""
    monkeypatch.setenv("GANFORGE_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("GANFORGE_DATA", raising=False)


@pytest.fixture
def no_network(monkeypatch):
    """Any download attempt fails the test."""
    def refuse(url, timeout=None):
        raise AssertionError(f"tried to download {url}")

    monkeypatch.setattr(sources, "urlopen", refuse)


def _fake_mnist(root: Path, splits=("train", "test")) -> None:
    for known in sources.SOURCES["mnist"].layouts[0].files:
        if known.split in splits:
            (root / known.path).parent.mkdir(parents=True, exist_ok=True)
            (root / known.path).write_bytes(b"not the canonical bytes")


def _known(payload: bytes, *urls: str) -> sources.KnownFile:
    return sources.KnownFile("sub/file.bin", md5=hashlib.md5(payload).hexdigest(),
                             sha256=hashlib.sha256(payload).hexdigest(), urls=urls)


# ------------------------------------------------------------------------------------- lookup


def test_lookup_order_data_dir_then_env_then_cache(tmp_path, monkeypatch):
    explicit, env, cached = tmp_path / "explicit", tmp_path / "env", tmp_path / "cache" / "data"
    for root in (explicit, env, cached):
        _fake_mnist(root)
    monkeypatch.setenv("GANFORGE_DATA", str(env))
    found = sources.locate("mnist", "train", explicit)
    assert (found.root, found.where) == (explicit, "data_dir")
    assert found.files[0][1] == explicit / "mnist" / "train-images-idx3-ubyte.gz"
    assert (sources.locate("mnist", "train").root, sources.locate("mnist").where) == (env, "$GANFORGE_DATA")
    monkeypatch.delenv("GANFORGE_DATA")
    assert sources.locate("mnist", "test").root == cached
    assert sources.locate("mnist", "train", tmp_path / "empty").where == "user cache"  # falls through


def test_a_split_needs_only_its_own_files(tmp_path):
    _fake_mnist(tmp_path, splits=("test",))
    assert sources.find("mnist", "test", tmp_path).root == tmp_path
    assert sources.find("mnist", "train", tmp_path) is None


def test_lookup_prefers_lossless_cifar(tmp_path):
    (tmp_path / "cifar10-jpeg.tar.gz").write_bytes(b"jpeg copy")
    assert sources.locate("cifar10", "train", tmp_path).layout.format == "cifar-jpeg-archive"
    (tmp_path / "cifar-10-binary.tar.gz").write_bytes(b"binary")
    found = sources.locate("cifar10", "train", tmp_path)
    assert found.layout.format == "cifar-binary-archive" and not found.layout.lossy


def test_missing_dataset_error_says_what_where_and_how(tmp_path, monkeypatch):
    monkeypatch.setenv("GANFORGE_DATA", str(tmp_path / "env"))
    (tmp_path / "mine" / "mnist").mkdir(parents=True)
    (tmp_path / "mine" / "mnist" / "train-images-idx3-ubyte.gz").write_bytes(b"x")
    with pytest.raises(DataError) as err:
        load_image_dataset(DataConfig(name="mnist", data_dir=str(tmp_path / "mine")))
    message = str(err.value)
    assert "\n" not in message
    assert "mnist/train-images-idx3-ubyte.gz and mnist/train-labels-idx1-ubyte.gz" in message
    assert str(tmp_path / "mine") in message and str(tmp_path / "env") in message
    assert str(tmp_path / "cache" / "data") in message
    assert "has only mnist/train-images-idx3-ubyte.gz" in message
    assert "ganforge data fetch mnist --data-dir DIR" in message


def test_stacked_mnist_uses_mnist_files(tmp_path):
    _fake_mnist(tmp_path)
    assert sources.locate("stacked-mnist", "train", tmp_path).source.name == "mnist"


# ---------------------------------------------------------------------------------- checksums


def test_verify_rejects_wrong_bytes(tmp_path):
    _fake_mnist(tmp_path)
    with pytest.raises(DataError, match=r"not the canonical file \(MD5 [0-9a-f]{32}, expected f68b3c2d"):
        sources.verify_located(sources.locate("mnist", "train", tmp_path))


def test_manifest_hash(tmp_path):
    (tmp_path / "a").write_bytes(b"alpha")
    one = sources.file_digests(tmp_path / "a")
    assert one.sha256 == hashlib.sha256(b"alpha").hexdigest() and one.md5 == hashlib.md5(b"alpha").hexdigest()
    assert sources.manifest_hash([("a", one.sha256)]) == one.sha256  # what sha256sum prints
    two = [("a", one.sha256), ("b", hashlib.sha256(b"beta").hexdigest())]
    assert sources.manifest_hash(two) == sources.manifest_hash(two[::-1])  # order-free
    assert sources.manifest_hash(two) != sources.manifest_hash([("c", one.sha256), two[1]])  # names count


def test_source_table_is_complete():
    for name, source in sources.SOURCES.items():
        layout = source.download_layout
        assert all(f.md5 and len(f.md5) == 32 for f in layout.files), name
        assert all(u.startswith(("http://", "https://")) for f in layout.files for u in f.urls), name
    mnist = sources.SOURCES["mnist"].download_layout.files
    assert any("storage.googleapis.com/cvdf-datasets/mnist/" in u for u in mnist[0].urls)
    assert all(f.sha256 for f in mnist)
    fashion = sources.SOURCES["fashion-mnist"].download_layout.files
    assert all("fashion-mnist" in u or "zalandoresearch" in u for f in fashion for u in f.urls)
    cifar = sources.SOURCES["cifar10"].download_layout
    assert cifar.files[0].urls == ("https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz",)


# ---------------------------------------------------------------------------------- downloads


def test_download_with_right_checksum_appears(tmp_path):
    payload = b"canonical bytes " * 1000
    (tmp_path / "server.bin").write_bytes(payload)
    dest = tmp_path / "data" / "sub" / "file.bin"
    got = sources.download_file(_known(payload, (tmp_path / "server.bin").as_uri()), dest)
    assert got == dest and dest.read_bytes() == payload
    assert [p.name for p in dest.parent.iterdir()] == ["file.bin"]  # no temporary left behind


def test_download_with_wrong_checksum_leaves_nothing(tmp_path):
    (tmp_path / "server.bin").write_bytes(b"tampered")
    dest = tmp_path / "data" / "sub" / "file.bin"
    with pytest.raises(DataError, match=r"could not download sub/file.bin .*downloaded file has MD5") as err:
        sources.download_file(_known(b"expected", (tmp_path / "server.bin").as_uri()), dest)
    assert "\n" not in str(err.value)
    assert list(dest.parent.iterdir()) == []


def test_download_tries_the_next_mirror(tmp_path):
    payload = b"good"
    (tmp_path / "good.bin").write_bytes(payload)
    (tmp_path / "bad.bin").write_bytes(b"bad")
    urls = ((tmp_path / "missing.bin").as_uri(), (tmp_path / "bad.bin").as_uri(), (tmp_path / "good.bin").as_uri())
    dest = sources.download_file(_known(payload, *urls), tmp_path / "out" / "file.bin")
    assert dest.read_bytes() == payload


def test_download_cut_midway_leaves_nothing(tmp_path, monkeypatch):
    class Broken(io.BytesIO):
        def read(self, n=-1):
            if self.tell() > 0:
                raise ConnectionResetError("connection reset by peer")
            return super().read(4)

        def __enter__(self):
            return self

    monkeypatch.setattr(sources, "urlopen", lambda url, timeout=None: Broken(b"12345678"))
    dest = tmp_path / "out" / "file.bin"
    with pytest.raises(DataError, match="connection reset by peer"):
        sources.download_file(_known(b"12345678", "https://example.invalid/f"), dest)
    assert list(dest.parent.iterdir()) == []


def test_verified_file_is_not_downloaded_again(tmp_path, no_network):
    payload = b"already here"
    dest = tmp_path / "sub" / "file.bin"
    dest.parent.mkdir()
    dest.write_bytes(payload)
    assert sources.download_file(_known(payload, "https://example.invalid/f"), dest) == dest


def test_fetch_without_network_is_one_line_error(tmp_path, monkeypatch):
    def offline(url, timeout=None):
        raise urllib.error.URLError(OSError(-3, "Temporary failure in name resolution"))

    monkeypatch.setattr(sources, "urlopen", offline)
    with pytest.raises(DataError) as err:
        sources.fetch("fashion-mnist", tmp_path)
    message = str(err.value)
    assert "\n" not in message and "Temporary failure in name resolution" in message
    assert "could not download fashion-mnist/train-images-idx3-ubyte.gz" in message
    assert list((tmp_path / "fashion-mnist").iterdir()) == []


def _serve_from(folder: Path, calls: list[str]):
    def opener(url, timeout=None):
        calls.append(url)
        return io.BytesIO((folder / url.rsplit("/", 1)[-1]).read_bytes())

    return opener


@pytest.mark.data
def test_fetch_mnist_from_canonical_bytes(shared_data, tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(sources, "urlopen", _serve_from(shared_data / "mnist", calls))
    folder = sources.fetch("mnist", tmp_path / "dl")
    assert folder == tmp_path / "dl" / "mnist"
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        f.path.split("/")[1] for f in sources.SOURCES["mnist"].download_layout.files)
    assert len(calls) == 4 and all(c.startswith(sources._MNIST_MIRRORS[0]) for c in calls)
    sources.fetch("mnist", tmp_path / "dl")  # everything verified already: no download
    assert len(calls) == 4
    ds = load_image_dataset(DataConfig(name="mnist", split="test", data_dir=str(tmp_path / "dl")))
    assert len(ds) == 10000 and ds.info["found_in"] == "data_dir"


# ------------------------------------------------------------------------------------------ CLI


def _cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="ganforge")
    data_command.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return args.func(args)


def test_cli_list_shows_where(tmp_path, capsys):
    _fake_mnist(tmp_path / "d")
    assert _cli(["data", "list", "--data-dir", str(tmp_path / "d")]) == 0
    out = capsys.readouterr().out
    for name in ("mnist", "fashion-mnist", "cifar10", "digits", "stacked-mnist", "folder"):
        assert re.search(rf"^{name}\s", out, re.M), name
    assert f"found: {tmp_path / 'd'} (data_dir)" in out
    assert "not found; run `ganforge data fetch cifar10`" in out


def test_cli_verify_reports_mismatch(tmp_path, capsys):
    _fake_mnist(tmp_path)
    with pytest.raises(DataError, match="4 file.s. do not match"):
        _cli(["data", "verify", "mnist", "--data-dir", str(tmp_path)])
    assert capsys.readouterr().out.count("MISMATCH") == 4


def test_cli_user_errors(tmp_path, no_network):
    with pytest.raises(DataError, match="unknown dataset 'svhn'"):
        _cli(["data", "fetch", "svhn"])
    with pytest.raises(DataError, match="nothing to fetch"):
        _cli(["data", "fetch", "folder"])
    with pytest.raises(DataError, match="not found"):
        _cli(["data", "verify", "cifar10", "--data-dir", str(tmp_path)])
    assert _cli(["data", "fetch", "digits"]) == 0


def test_cli_fetch_downloads_into_data_dir(tmp_path, monkeypatch, capsys):
    payload = b"cifar archive"
    (tmp_path / "server").mkdir()
    (tmp_path / "server" / "cifar-10-binary.tar.gz").write_bytes(payload)
    layout = sources.Layout("cifar-binary-archive", (_known(payload, "https://h/cifar-10-binary.tar.gz"),), "x")
    fake = sources.DatasetSource("cifar10", (layout,), "https://h/")
    monkeypatch.setitem(sources.SOURCES, "cifar10", fake)
    monkeypatch.setattr(sources, "urlopen", _serve_from(tmp_path / "server", []))
    assert _cli(["data", "fetch", "cifar10", "--data-dir", str(tmp_path / "d")]) == 0
    assert (tmp_path / "d" / "sub" / "file.bin").read_bytes() == payload
    assert "1 file(s) verified" in capsys.readouterr().out


@pytest.mark.data
def test_cli_verify_real_mnist(shared_data, capsys):
    assert _cli(["data", "verify", "mnist", "--data-dir", str(shared_data)]) == 0
    out = capsys.readouterr().out
    assert out.count("ok  md5") == 4 and "f68b3c2dcbeaaa9fbdd348bbdeb94873" in out


def test_download_on_a_full_disk_stops_at_once_and_leaves_nothing(tmp_path, monkeypatch):
    import errno
    import os

    from ganforge.errors import DiskFullError

    payload = b"x" * 5000
    (tmp_path / "server.bin").write_bytes(payload)
    real_open = open
    tries = []

    class FullDisk:
        def __init__(self, f):
            self.f = f

        def write(self, chunk):
            tries.append(len(chunk))
            self.f.write(chunk[:100])
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

    monkeypatch.setattr(sources, "open", lambda *a, **k: FullDisk(real_open(*a, **k)), raising=False)
    uri = (tmp_path / "server.bin").as_uri()
    dest = tmp_path / "data" / "sub" / "file.bin"
    with pytest.raises(DiskFullError, match=f"disk full while downloading sub/file.bin into {dest.parent}") as err:
        sources.download_file(_known(payload, uri, uri), dest)
    assert "\n" not in str(err.value)
    assert len(tries) == 1  # the second mirror is not tried: it would fill the same disk
    assert list(dest.parent.iterdir()) == []


def test_partial_downloads_of_killed_fetches_are_removed(tmp_path):
    import subprocess
    import sys

    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    payload = b"canonical"
    (tmp_path / "server.bin").write_bytes(payload)
    dest = tmp_path / "data" / "sub" / "file.bin"
    dest.parent.mkdir(parents=True)
    killed = dest.parent / f".tmp-file.bin.{p.pid}.bin"  # what a killed fetch leaves
    killed.write_bytes(b"partial")
    sources.download_file(_known(payload, (tmp_path / "server.bin").as_uri()), dest)
    assert sorted(x.name for x in dest.parent.iterdir()) == ["file.bin"]

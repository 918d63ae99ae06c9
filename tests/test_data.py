"""The data layer on real files: the shared mirror, the Debian package, doctored copies."""

from __future__ import annotations

import hashlib
import io
import pickle
import shutil
import tarfile
from pathlib import Path

import numpy as np
import pytest

from dlweek import sources
from dlweek.cli import main as cli_main
from dlweek.data import balanced_subset, load_dataset
from dlweek.sources import ChecksumError, DatasetNotFoundError

MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def _disjoint(ds) -> None:
    train, val = set(ds.indices["train"]), set(ds.indices["val"])
    assert not train & val, "validation overlaps training"


def test_mnist_full_matches_the_official_counts(mirror: Path) -> None:
    ds = load_dataset("mnist", profile="full")
    assert ds.x_train.dtype == np.uint8 and ds.x_train.shape[1:] == (28, 28, 1)
    assert (len(ds.y_train), len(ds.y_val), len(ds.y_test)) == (55000, 5000, 10000)
    assert np.bincount(ds.y_test).tolist() == MNIST_TEST_COUNTS
    assert ds.y_test[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]  # official order kept
    assert ds.source.kind == "mirror" and ds.source.verified_by == "SHA256SUMS"
    _disjoint(ds)
    assert len(set(ds.indices["train"]) | set(ds.indices["val"])) == 60000


@pytest.mark.parametrize(("name", "shape", "sizes"), [
    ("mnist", (28, 28, 1), (3000, 600, 1000)),
    ("fashion_mnist", (28, 28, 1), (3000, 600, 1000)),
    ("cifar10", (32, 32, 3), (4000, 1000, 1000)),
])
def test_quick_profile_gives_small_class_balanced_splits(mirror: Path, name: str, shape: tuple,
                                                          sizes: tuple) -> None:
    ds = load_dataset(name, profile="quick")
    assert ds.input_shape == shape and ds.num_classes == 10
    assert (len(ds.y_train), len(ds.y_val), len(ds.y_test)) == sizes
    for y, n in zip((ds.y_train, ds.y_val, ds.y_test), sizes, strict=True):
        assert y.dtype == np.int64
        assert np.bincount(y, minlength=10).tolist() == [n // 10] * 10
    _disjoint(ds)
    assert len(ds.checksum) == 64


def test_fashion_mnist_full_has_the_official_sizes(mirror: Path) -> None:
    ds = load_dataset("fashion_mnist", profile="full")
    assert len(ds.y_train) + len(ds.y_val) == 60000 and len(ds.y_test) == 10000
    assert np.bincount(ds.y_test).tolist() == [1000] * 10
    assert ds.class_names[9] == "Ankle boot"
    assert ds.source.kind in ("mirror", "debian", "keras-cache")


def test_cifar10_full_uses_the_mirrors_10k_training_images(mirror: Path) -> None:
    ds = load_dataset("cifar10", profile="full")
    assert (len(ds.y_train), len(ds.y_val), len(ds.y_test)) == (9000, 1000, 10000)
    assert ds.class_names == ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog",
                              "horse", "ship", "truck")
    assert ds.x_test.shape == (10000, 32, 32, 3)


def test_cats_vs_dogs_loads_the_image_folders(mirror: Path) -> None:
    ds = load_dataset("cats_vs_dogs", profile="quick")
    assert ds.class_names == ("cats", "dogs")
    assert ds.x_train.shape == (160, 224, 224, 3) and ds.x_train.dtype == np.uint8
    assert np.bincount(ds.y_train).tolist() == [80, 80]
    assert np.bincount(ds.y_val).tolist() == [50, 50]
    assert ds.source.verified_by == "SHA256SUMS" and len(ds.source.files) == 750


def test_same_seed_same_split_other_seed_other_validation(mirror: Path) -> None:
    a = load_dataset("mnist", profile="quick", seed=1)
    b = load_dataset("mnist", profile="quick", seed=1)
    c = load_dataset("mnist", profile="quick", seed=2)
    assert np.array_equal(a.indices["val"], b.indices["val"])
    assert np.array_equal(a.x_train, b.x_train)
    assert not np.array_equal(a.indices["val"], c.indices["val"])
    assert np.array_equal(a.x_test, c.x_test)  # the test set never depends on the seed


def test_balanced_subset_takes_equal_counts_per_class() -> None:
    y = np.repeat(np.arange(3), [50, 30, 20])
    idx = balanced_subset(y, 30, np.random.default_rng(0))
    assert np.bincount(y[idx]).tolist() == [10, 10, 10]
    assert len(balanced_subset(y, None, np.random.default_rng(0))) == 100


# --- doctored mirrors ---------------------------------------------------------------------

def _copy_mirror(src: Path, dst: Path, folder: str) -> Path:
    shutil.copytree(src / folder, dst / folder)
    return dst / folder


def test_a_flipped_byte_raises_a_checksum_error_naming_the_file(
        mirror: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    copy = _copy_mirror(mirror, tmp_path, "mnist")
    data = bytearray((copy / "mnist.npz").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (copy / "mnist.npz").write_bytes(bytes(data))
    monkeypatch.setenv("DLWEEK_DATA_DIR", str(tmp_path))
    with pytest.raises(ChecksumError, match=r"Checksum failed for .*mnist\.npz"):
        load_dataset("mnist", profile="quick")


def test_a_truncated_file_raises_a_checksum_error(
        mirror: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    copy = _copy_mirror(mirror, tmp_path, "cifar10")
    path = copy / "cifar10.npz"
    path.write_bytes(path.read_bytes()[: 1 << 20])
    monkeypatch.setenv("DLWEEK_DATA_DIR", str(tmp_path))
    with pytest.raises(ChecksumError, match="cifar10.npz"):
        load_dataset("cifar10", profile="quick")
    assert cli_main(["data", "verify", "cifar10"]) == 1


def test_an_image_missing_from_sha256sums_is_refused(
        mirror: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    copy = _copy_mirror(mirror, tmp_path, "cats_vs_dogs")
    shutil.copy(copy / "train/cats/cat.1.jpg", copy / "train/cats/intruder.jpg")
    monkeypatch.setenv("DLWEEK_DATA_DIR", str(tmp_path))
    with pytest.raises(ChecksumError, match="intruder.jpg"):
        load_dataset("cats_vs_dogs", profile="quick")


def test_an_empty_mirror_offline_lists_every_place_searched(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DLWEEK_DATA_DIR", str(tmp_path / "empty"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setenv("DLWEEK_OFFLINE", "1")
    with pytest.raises(DatasetNotFoundError) as err:
        load_dataset("mnist")
    message = str(err.value)
    assert "'mnist' was not found" in message
    assert str(tmp_path / "empty") in message and str(tmp_path / "keras") in message
    assert "dlweek data fetch mnist" in message and "DLWEEK_DATA_DIR" in message


def test_a_failed_download_is_reported_and_leaves_nothing_behind(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import keras

    monkeypatch.setenv("DLWEEK_DATA_DIR", str(tmp_path / "empty"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))

    def no_network(fname: str, origin: str, **kwargs) -> str:
        partial = Path(kwargs["cache_dir"]) / fname
        partial.write_bytes(b"half a file")
        raise ConnectionError(f"cannot reach {origin}")

    monkeypatch.setattr(keras.utils, "get_file", no_network)
    with pytest.raises(DatasetNotFoundError, match="the download failed: could not download"):
        load_dataset("mnist", download=True)
    assert list((tmp_path / "keras" / "datasets").iterdir()) == []


def test_a_download_lands_atomically_in_the_keras_cache_and_is_used(
        mirror: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import keras

    monkeypatch.setenv("DLWEEK_DATA_DIR", str(tmp_path / "empty"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    payload = (mirror / "mnist" / "mnist.npz").read_bytes()
    monkeypatch.setitem(sources.OFFICIAL_HASHES, "mnist.npz",
                        hashlib.sha256(payload).hexdigest())

    def fake_get_file(fname: str, origin: str, **kwargs) -> str:
        assert origin.endswith("mnist.npz") and kwargs["file_hash"]
        path = Path(kwargs["cache_dir"]) / fname
        path.write_bytes(payload)
        return str(path)

    monkeypatch.setattr(keras.utils, "get_file", fake_get_file)
    ds = load_dataset("mnist", profile="quick", download=True)
    assert ds.source.kind == "keras-cache"
    cached = sorted(p.name for p in (tmp_path / "keras" / "datasets").iterdir())
    assert cached == ["mnist.npz"]  # no temporary folder left behind


def test_a_keras_cache_file_with_other_bytes_is_refused(
        mirror: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The mirror's mnist.npz holds the same arrays in another zip: not Keras's pinned file.
    monkeypatch.setenv("DLWEEK_DATA_DIR", str(tmp_path / "empty"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    (tmp_path / "keras" / "datasets").mkdir(parents=True)
    shutil.copy(mirror / "mnist" / "mnist.npz", tmp_path / "keras" / "datasets" / "mnist.npz")
    with pytest.raises(ChecksumError, match="731c5ac6"):
        load_dataset("mnist")


def test_cifar10_reads_the_official_archive_layout_from_the_keras_cache(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(0)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, n in [*((f"data_batch_{i}", 20) for i in range(1, 6)), ("test_batch", 20)]:
            blob = pickle.dumps({b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
                                 b"labels": list(np.arange(n) % 10)})
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))
    archive = tmp_path / "keras" / "datasets" / "cifar-10-batches-py-target"
    archive.parent.mkdir(parents=True)
    archive.write_bytes(buf.getvalue())
    monkeypatch.setenv("DLWEEK_DATA_DIR", str(tmp_path / "empty"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setitem(sources.OFFICIAL_HASHES, "cifar-10-python.tar.gz",
                        hashlib.sha256(buf.getvalue()).hexdigest())
    ds = load_dataset("cifar10", profile="full")
    assert ds.source.kind == "keras-cache"
    assert len(ds.y_train) + len(ds.y_val) == 100 and ds.x_test.shape == (20, 32, 32, 3)


def test_install_keras_weights_copies_verified_files(
        mirror: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    installed = sources.install_keras_weights()
    assert sorted(p.name for p in installed) == ["imagenet_class_index.json",
                                                 "mobilenet_2_5_224_tf_no_top.h5"]
    for path in installed:
        assert path.parent == tmp_path / "keras" / "models"
        assert path.read_bytes() == (mirror / "keras_weights" / path.name).read_bytes()


def test_cli_list_and_verify_report_every_dataset(mirror: Path,
                                                  capsys: pytest.CaptureFixture) -> None:
    assert cli_main(["data", "verify"]) == 0
    assert cli_main(["data", "list"]) == 0
    out = capsys.readouterr().out
    for name in ("mnist", "fashion_mnist", "cifar10", "cats_vs_dogs", "keras_weights"):
        assert name in out
    assert "FAILED" not in out and "missing" not in out


def test_cli_fetch_offline_fails_clearly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture) -> None:
    import keras

    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))

    def no_network(*args, **kwargs):
        raise OSError("network unreachable")

    monkeypatch.setattr(keras.utils, "get_file", no_network)
    assert cli_main(["data", "fetch", "mnist"]) == 1
    assert "could not fetch mnist" in capsys.readouterr().err

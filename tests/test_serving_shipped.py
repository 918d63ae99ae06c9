"""The shipped bundles: one preprocessing for training and serving, recorded accuracy holds,
ImageNet plumbing, and the export / serve command lines."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from dlweek import bundle as B
from dlweek.serving.registry import DEFAULT_SHIPPED
from dlweek.sources import file_digest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def cats() -> B.Bundle:
    return B.load_bundle("cats_vs_dogs")


def test_shipped_bundles_are_small_and_documented(mirror: Path) -> None:
    from dlweek.sources import locate

    shipped = B.shipped_bundles()
    assert set(DEFAULT_SHIPPED) <= set(shipped)
    for name in DEFAULT_SHIPPED:
        meta = B.read_metadata(name)
        size = (shipped[name] / B.MODEL_FILE).stat().st_size
        assert size < 5 * 1024 * 1024, f"{name} is {size / 1e6:.1f} MB"
        floor = {"cats_vs_dogs": 0.8, "cifar10_cnn": 0.6}[name]  # chance: 0.5 and 0.1
        assert meta["metrics"]["test_accuracy"] > floor
        assert len(meta["dataset"]["checksum"]) == 64
        assert meta["dataset"]["checksum"] == locate(meta["dataset"]["name"]).verify()
        assert meta["versions"]["keras"] and meta["created"]
        assert file_digest(shipped[name] / B.MODEL_FILE) == meta["model_file"]["sha256"]


def test_serving_preprocessing_equals_training_pipeline(cats: B.Bundle) -> None:
    """The tensor the service builds from a photo's file is the training array's, exactly."""
    from dlweek.data import load_dataset

    ds = load_dataset("cats_vs_dogs", profile="quick")
    val_files = [f for f in ds.source.files if f.split("/")[0] == "validation"]
    for j in range(0, len(ds.y_val), 9):
        path = ds.source.root / val_files[ds.indices["val"][j]]
        assert ds.class_names.index(path.parent.name) == ds.y_val[j]
        served = cats.preprocess(path)
        assert served.dtype == np.float32 and served.shape == (1, 224, 224, 3)
        np.testing.assert_array_equal(served[0], ds.x_val[j].astype(np.float32))
        np.testing.assert_array_equal(cats.preprocess(path.read_bytes()), served)


def test_cats_bundle_gets_validation_photos_right_at_recorded_accuracy(cats: B.Bundle) -> None:
    from dlweek.serving.shipped import serving_accuracy, validation_files

    files, labels = validation_files()
    assert len(files) == 250
    acc = serving_accuracy(cats.path, files, labels)
    recorded = cats.metadata["metrics"]["serving_accuracy"]
    assert acc == pytest.approx(recorded, abs=0.01)
    assert acc >= 0.92  # the Day 6 floor for the transfer model


def test_cifar_bundle_accuracy_on_test_images() -> None:
    from dlweek.data import load_dataset

    cifar = B.load_bundle("cifar10_cnn")
    ds = load_dataset("cifar10", profile="quick")
    assert cifar.class_names == ds.class_names
    acc = float((cifar.predict_proba(ds.x_test).argmax(1) == ds.y_test).mean())
    assert acc == pytest.approx(cifar.metadata["metrics"]["test_accuracy"], abs=0.05)


def test_imagenet_plumbing_with_random_weights() -> None:
    import io

    from PIL import Image

    from dlweek.serving.app import create_app
    from dlweek.serving.settings import ServeSettings
    from dlweek.sources import install_keras_weights

    assert install_keras_weights()  # the mirror's class index
    app = create_app(ServeSettings(models=("imagenet:mobilenet_v2", "cats_vs_dogs"),
                                   imagenet_weights=None, load_in_background=False,
                                   max_batch=4))
    try:
        client = app.test_client()
        models = {m["name"]: m for m in client.get("/api/v1/models").get_json()["models"]}
        labels = models["imagenet_mobilenet_v2"]["labels"]
        assert len(labels) == 1000 and labels[0] == "tench"
        buf = io.BytesIO()
        Image.new("RGB", (300, 200), (90, 140, 60)).save(buf, "JPEG")
        resp = client.post("/api/v1/predict?model=imagenet_mobilenet_v2&top_k=3",
                           data=buf.getvalue(), content_type="image/jpeg")
        body = resp.get_json()
        assert resp.status_code == 200, body
        assert len(body["predictions"]) == 3
        assert all(p["label"] == labels[p["index"]] for p in body["predictions"])
    finally:
        app.extensions["dlweek"].close()


def test_imagenet_without_weights_fails_clearly(monkeypatch: pytest.MonkeyPatch) -> None:
    from dlweek.serving.errors import ModelLoadError
    from dlweek.serving.registry import ModelRegistry
    from dlweek.serving.settings import ServeSettings

    monkeypatch.setenv("DLWEEK_OFFLINE", "1")
    with pytest.raises(ModelLoadError, match="resnet50_weights_tf_dim_ordering_tf_kernels.h5"):
        ModelRegistry(ServeSettings(models=("imagenet:resnet50",)))
    with pytest.raises(ModelLoadError, match="Unknown ImageNet model"):
        ModelRegistry(ServeSettings(models=("imagenet:vgg99",)))
    with pytest.raises(ModelLoadError, match="No model bundle"):
        ModelRegistry(ServeSettings(models=("/nonexistent/bundle",)))


def _dlweek(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dlweek.cli", *args], capture_output=True,
                          text=True, timeout=timeout, cwd=REPO)


def test_serve_cli_fails_fast_and_clearly_offline() -> None:
    done = _dlweek("serve", "--model", "imagenet:resnet50", "--port", "1")
    assert done.returncode == 2
    assert "ImageNet weights for imagenet:resnet50" in done.stderr
    assert "DLWEEK_OFFLINE" in done.stderr and "Traceback" not in done.stderr
    done = _dlweek("serve", "--model", "no/such/bundle")
    assert done.returncode == 2 and "No model bundle" in done.stderr


def test_export_cli_savedmodel_same_probabilities(tmp_path: Path, cats: B.Bundle) -> None:
    import tensorflow as tf

    from dlweek.cli import main

    out = tmp_path / "tfs" / "cats_vs_dogs" / "1"
    assert main(["export", "cats_vs_dogs", "--format", "savedmodel", str(out)]) == 0
    loaded = tf.saved_model.load(str(out))
    from dlweek.serving.shipped import validation_files

    files, _ = validation_files()
    batch = np.concatenate([cats.preprocess(f) for f in files[:4] + files[-4:]])
    got = loaded.signatures["serving_default"](tf.constant(batch))
    (probs,) = got.values()
    np.testing.assert_allclose(np.asarray(probs), cats.predict_proba(batch), rtol=1e-4,
                               atol=1e-5)
    meta = json.loads((out / "assets.extra" / B.METADATA_FILE).read_text())
    assert meta["name"] == "cats_vs_dogs"

"""Bundles: save/load round trip, safe_mode, metadata, SavedModel export, shipped bundles."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from serving_fixtures import TINY_LABELS, jpeg, png, save_tiny_bundle, tiny_model

from dlweek import bundle as B


def test_round_trip_metadata_and_probabilities(tmp_path: Path) -> None:
    path = save_tiny_bundle(tmp_path / "tiny")
    meta = json.loads((path / B.METADATA_FILE).read_text())
    for key in ("name", "labels", "input_size", "color_mode", "preprocessing", "dataset",
                "metrics", "created", "versions", "model_file"):
        assert key in meta, key
    assert meta["labels"] == list(TINY_LABELS)
    assert meta["dataset"]["checksum"] == "0" * 64
    assert "keras" in meta["versions"] and "python" in meta["versions"]
    loaded = B.load_bundle(path)
    assert loaded.name == "tiny" and loaded.class_names == TINY_LABELS
    bright, dark = loaded.preprocess(png((250, 250, 250))), loaded.preprocess(jpeg((5, 5, 5)))
    assert bright.shape == (1, 32, 32, 3) and bright.dtype == np.float32
    probs = loaded.predict_proba(np.concatenate([bright, dark]))
    assert probs.shape == (2, 2)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    assert probs[0].argmax() == 1 and probs[1].argmax() == 0
    np.testing.assert_allclose(probs, np.asarray(tiny_model()(np.concatenate([bright, dark]))),
                               rtol=1e-5, atol=1e-6)


def test_lambda_bundle_is_refused(tmp_path: Path) -> None:
    import keras

    inputs = keras.Input((32, 32, 3))
    x = keras.layers.Lambda(lambda t: t / 255.0)(inputs)
    x = keras.layers.GlobalAveragePooling2D()(x)
    model = keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(x))
    with pytest.raises(B.BundleError, match="Lambda"):
        B.save_bundle(model, tmp_path / "x", name="x", class_names=("a", "b"),
                      input_size=(32, 32))
    # Written by hand (as an attacker would): loading must refuse it in safe mode.
    folder = save_tiny_bundle(tmp_path / "evil", name="evil")
    (folder / B.MODEL_FILE).unlink()
    model.save(folder / B.MODEL_FILE)
    with pytest.raises(B.UnsafeBundleError, match="Lambda"):
        B.load_bundle(folder, verify_checksum=False)


def test_damaged_and_missing_bundles(tmp_path: Path) -> None:
    folder = save_tiny_bundle(tmp_path / "tiny")
    with (folder / B.MODEL_FILE).open("ab") as fh:
        fh.write(b"junk")
    with pytest.raises(B.BundleError, match="sha256"):
        B.load_bundle(folder)
    with pytest.raises(B.BundleError, match="No model bundle"):
        B.load_bundle(tmp_path / "nowhere")
    (folder / B.METADATA_FILE).write_text("{not json")
    with pytest.raises(B.BundleError, match="not valid JSON"):
        B.read_metadata(folder)


def test_save_refuses_mismatched_metadata(tmp_path: Path) -> None:
    with pytest.raises(B.BundleError, match="outputs"):
        B.save_bundle(tiny_model(), tmp_path / "a", name="a", class_names=("x", "y", "z"),
                      input_size=(32, 32))
    with pytest.raises(B.BundleError, match="shape"):
        B.save_bundle(tiny_model(), tmp_path / "b", name="b", class_names=("x", "y"),
                      input_size=(64, 64))
    with pytest.raises(B.BundleError, match="name"):
        B.save_bundle(tiny_model(), tmp_path / "c", name="Bad Name", class_names=("x", "y"),
                      input_size=(32, 32))


def test_export_savedmodel_gives_same_probabilities(tmp_path: Path) -> None:
    import tensorflow as tf

    folder = save_tiny_bundle(tmp_path / "tiny")
    bundle = B.load_bundle(folder)
    batch = np.concatenate([bundle.preprocess(png((200, 120, 40))),
                            bundle.preprocess(jpeg((30, 60, 90)))])
    out = B.export_savedmodel(folder, tmp_path / "export" / "1")
    assert (out / "saved_model.pb").is_file()
    loaded = tf.saved_model.load(str(out))
    assert "serving_default" in loaded.signatures
    got = np.asarray(loaded.serve(tf.constant(batch)))
    np.testing.assert_allclose(got, bundle.predict_proba(batch), rtol=1e-5, atol=1e-6)
    sig = loaded.signatures["serving_default"]
    (value,) = sig(tf.constant(batch)).values()
    np.testing.assert_allclose(np.asarray(value), got, rtol=1e-6)
    with pytest.raises(B.BundleError, match="not empty"):
        B.export_savedmodel(folder, out)


def test_saved_bundle_has_no_optimizer_state(tmp_path: Path) -> None:
    import zipfile

    model = tiny_model()
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(np.zeros((4, 32, 32, 3)), np.zeros(4), epochs=1, verbose=0)
    path = B.save_bundle(model, tmp_path / "t", name="t", class_names=TINY_LABELS,
                         input_size=(32, 32))
    with zipfile.ZipFile(path / B.MODEL_FILE) as zf, zf.open("model.weights.h5") as fh:
        assert b"optimizer" not in fh.read()
    batch = np.random.default_rng(0).uniform(0, 255, (3, 32, 32, 3)).astype("float32")
    np.testing.assert_allclose(B.load_bundle(path).predict_proba(batch),
                               np.asarray(model(batch, training=False)), rtol=1e-5, atol=1e-6)

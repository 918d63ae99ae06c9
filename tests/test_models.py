"""Model builders: shapes, parameter counts, raw-pixel input, safe saving, and learning."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from dlweek import models
from dlweek.config import seed_everything
from dlweek.data import load_dataset

keras = pytest.importorskip("keras")

# (builder, params for (28, 28, 1), params for (32, 32, 3)), 10 classes, default arguments.
PARAMS = {
    "mlp": (235_146, 820_874),
    "simple_cnn": (225_034, 315_722),
    "lenet5": (61_706, 62_006),
    "alexnet_small": (1_334_138, 1_336_538),
    "vgg_small": (289_066, 289_642),
    "resnet_small": (273_754, 274_042),
    "fashion_cnn": (113_866, 125_962),
}


@pytest.fixture(scope="module")
def mnist_small(mirror):
    ds = load_dataset("mnist", profile="quick", seed=0)
    return dataclasses.replace(ds, x_train=ds.x_train[:600], y_train=ds.y_train[:600])


@pytest.mark.parametrize("name", list(PARAMS))
@pytest.mark.parametrize("shape_index, shape", [(0, (28, 28, 1)), (1, (32, 32, 3))])
def test_builder_shapes_and_params(name, shape_index, shape):
    model = models.BUILDERS[name](shape, 10)
    assert isinstance(model, keras.Model)
    assert model.output_shape == (None, 10)
    assert model.count_params() == PARAMS[name][shape_index]
    assert not model.compiled, "builders return uncompiled models"
    first = next(la for la in model.layers if not isinstance(la, keras.layers.InputLayer))
    assert isinstance(first, keras.layers.Rescaling), f"{name} must rescale raw pixels first"
    assert not models.has_lambda(model)
    out = model.predict(np.full((2, *shape), 255, np.uint8), verbose=0)
    np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=1e-5)


def test_fashion_cnn_is_small():
    assert models.fashion_cnn().count_params() < 150_000
    assert models.fashion_cnn(mid_padding="valid").count_params() == 104_906
    with pytest.raises(models.ModelConfigError):
        models.fashion_cnn(mid_padding="causal")


def test_other_class_counts_and_errors():
    assert models.lenet5((28, 28, 1), 3).output_shape == (None, 3)
    with pytest.raises(models.ModelConfigError):
        models.resnet_small((32, 32, 3), 10, depth=21)
    with pytest.raises(models.ModelConfigError):
        models.simple_cnn((28, 28), 10)
    with pytest.raises(models.ModelConfigError):
        models.build("nope", (28, 28, 1), 10)


LEARN = [("mlp", {}), ("simple_cnn", {}), ("lenet5", {}), ("alexnet_small", {"dropout": 0.2}),
         ("vgg_small", {"filters": (16, 32, 64)}), ("resnet_small", {"depth": 8}),
         ("fashion_cnn", {})]


@pytest.mark.parametrize("name, kwargs", LEARN, ids=[n for n, _ in LEARN])
def test_builder_learns_on_real_mnist(mnist_small, name, kwargs):
    seed_everything(0)
    ds = mnist_small
    model = models.build(name, ds.input_shape, ds.num_classes, **kwargs)
    model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    hist = model.fit(ds.x_train, ds.y_train, batch_size=32, epochs=2, verbose=0).history
    assert hist["loss"][-1] < hist["loss"][0]
    assert hist["accuracy"][-1] > 0.5, f"{name} stays near chance: {hist}"


def test_saved_model_loads_in_safe_mode(tmp_path):
    model = models.fashion_cnn()
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    x = np.random.default_rng(0).integers(0, 256, (3, 28, 28, 1), dtype=np.uint8)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0),
                               atol=1e-6)


def test_a_lambda_model_is_detected():
    inputs = keras.Input((4,))
    outputs = keras.layers.Lambda(lambda t: t * 2)(inputs)
    assert models.has_lambda(keras.Model(inputs, outputs))


# --- transfer learning ------------------------------------------------------------------

def test_transfer_classifier_random_init_and_switch():
    model = models.transfer_classifier((96, 96, 3), 2, weights=None)
    assert model.output_shape == (None, 2)
    assert isinstance(model.layers[1], keras.layers.Rescaling)
    assert not models.has_lambda(model)
    assert len(model.trainable_weights) == 2  # the head's kernel and bias
    models.set_base_trainable(model, True)
    n_all = len(model.trainable_weights)
    assert n_all > 2
    models.set_base_trainable(model, True, fine_tune_from=60)
    assert 2 < len(model.trainable_weights) < n_all
    bns = [la for la in model.get_layer("base").layers
           if isinstance(la, keras.layers.BatchNormalization)]
    assert not any(la.trainable for la in bns)
    models.set_base_trainable(model, False)
    assert len(model.trainable_weights) == 2
    with pytest.raises(models.ModelConfigError):
        models.set_base_trainable(models.mlp((28, 28, 1), 10), True)
    with pytest.raises(models.ModelConfigError):
        models.transfer_classifier(base="vgg99", weights=None)


def test_preprocessing_matches_keras_applications(tmp_path):
    from keras.applications import mobilenet, resnet50

    x = np.random.default_rng(1).integers(0, 256, (2, 32, 32, 3)).astype("float32")
    for base, ref in (("mobilenet", mobilenet.preprocess_input),
                      ("resnet50", resnet50.preprocess_input)):
        model = models.transfer_classifier((32, 32, 3), 2, base=base, weights=None)
        pre = keras.Model(model.input, model.get_layer("preprocess").output)
        np.testing.assert_allclose(pre.predict(x, verbose=0), ref(x.copy()), atol=1e-4)
        assert not models.has_lambda(model)
    path = tmp_path / "r.keras"
    model.save(path)  # resnet50: the caffe preprocessing survives a safe-mode round trip
    loaded = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_allclose(loaded.get_layer("preprocess").get_weights()[1],
                               -np.array(models.CAFFE_MEAN_BGR), rtol=1e-6)


def test_transfer_classifier_uses_the_mirrors_imagenet_weights(mirror):
    model = models.transfer_classifier((160, 160, 3), 2, weights="imagenet")
    ref = keras.applications.MobileNet(
        input_shape=(224, 224, 3), alpha=0.25, include_top=False,
        weights=str(mirror / "keras_weights" / "mobilenet_2_5_224_tf_no_top.h5"))
    got = model.get_layer("base").get_weights()
    want = ref.get_weights()
    assert len(got) == len(want)
    for a, b in zip(got, want, strict=True):
        np.testing.assert_array_equal(a, b)
    assert len(model.trainable_weights) == 2

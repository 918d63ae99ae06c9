"""Training helpers: fit defaults and composition, reproducibility, the tape loop, sweeps."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from dlweek import models, training
from dlweek.config import seed_everything
from dlweek.data import load_dataset

keras = pytest.importorskip("keras")


@pytest.fixture(scope="module")
def small(mirror):
    """600 train / 200 val real MNIST images (quick profile)."""
    ds = load_dataset("mnist", profile="quick", seed=0)
    return dataclasses.replace(ds, x_train=ds.x_train[:600], y_train=ds.y_train[:600],
                               x_val=ds.x_val[:200], y_val=ds.y_val[:200])


def test_compile_model_defaults():
    model = training.compile_model(models.mlp((28, 28, 1), 10), learning_rate=0.01)
    assert isinstance(model.optimizer, keras.optimizers.Adam)
    assert float(model.optimizer.learning_rate) == pytest.approx(0.01)
    with pytest.raises(training.TrainingConfigError):
        training.compile_model(models.mlp((28, 28, 1), 10), optimizer="nope")


def test_fit_compiles_adds_callbacks_and_composes(small, tmp_path):
    seen = []

    class Counter(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append(epoch)

    model = models.mlp(small.input_shape, small.num_classes)
    hist = training.fit(model, small, epochs=2, batch_size=64, history_path=tmp_path / "h.json",
                        callbacks=[Counter()], verbose=0, lr_schedule="onecycle")
    assert isinstance(hist, keras.callbacks.History)
    assert seen == [0, 1]
    assert {"loss", "accuracy", "val_loss", "val_accuracy"} <= set(hist.history)
    assert hist.history["val_accuracy"][-1] > 0.6
    assert isinstance(model.optimizer._learning_rate, keras.optimizers.schedules.CosineDecay)
    logged = json.loads((tmp_path / "h.json").read_text())
    assert logged["epochs"] == 2
    np.testing.assert_allclose(logged["history"]["loss"], hist.history["loss"], rtol=1e-6)
    assert training.load_history(tmp_path / "h.json")["val_loss"] == logged["history"]["val_loss"]
    # A model the user compiled is used as it is, and plain Keras fit still works after.
    model.fit(small.x_train[:64], small.y_train[:64], epochs=1, verbose=0)


def test_fit_adds_early_stopping_and_schedule(small, monkeypatch):
    model = models.mlp(small.input_shape, small.num_classes)
    captured = {}
    real_fit = model.fit

    def spy(*args, **kwargs):
        captured.update(kwargs)
        return real_fit(*args, **kwargs)

    monkeypatch.setattr(model, "fit", spy)
    training.fit(model, small, epochs=1, batch_size=128, verbose=0, lr_schedule="plateau",
                 patience=2)
    kinds = {type(cb): cb for cb in captured["callbacks"]}
    stop = kinds[keras.callbacks.EarlyStopping]
    assert stop.restore_best_weights and stop.patience == 2 and stop.monitor == "val_loss"
    assert keras.callbacks.ReduceLROnPlateau in kinds
    assert captured["validation_data"][0] is small.x_val
    with pytest.raises(training.TrainingConfigError):
        training.fit(model, small, epochs=1, lr_schedule="bogus")


def test_json_history_logger_is_a_keras_callback(tmp_path):
    cb = training.JsonHistoryLogger(tmp_path / "x.json")
    assert isinstance(cb, keras.callbacks.Callback)
    assert isinstance(cb, training.JsonHistoryLogger)


def _run_seeded(ds, seed):
    seed_everything(seed)
    model = models.mlp(ds.input_shape, ds.num_classes)
    hist = training.fit(model, ds, epochs=2, batch_size=64, verbose=0, early_stopping=False)
    return hist.history, model.get_weights()


def test_same_seed_same_numbers(small):
    h1, w1 = _run_seeded(small, 7)
    h2, w2 = _run_seeded(small, 7)
    for key in h1:
        np.testing.assert_allclose(h1[key], h2[key], atol=1e-6, err_msg=key)
    for a, b in zip(w1, w2, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-6)
    h3, _ = _run_seeded(small, 8)
    assert not np.allclose(h1["loss"], h3["loss"])


@pytest.mark.parametrize("builder", ["mlp", "lenet5"])
def test_train_loop_matches_fit(small, builder):
    """Same initial weights, same batch order (no shuffle), plain SGD: same result."""
    x, y = small.x_train[:256], small.y_train[:256]
    seed_everything(3)
    kwargs = {"dropout": 0.0} if builder == "mlp" else {}
    a = models.build(builder, small.input_shape, small.num_classes, **kwargs)
    b = keras.models.clone_model(a)
    b.set_weights(a.get_weights())
    training.compile_model(a, optimizer="sgd", learning_rate=0.05)
    fit_hist = a.fit(x, y, epochs=2, batch_size=32, shuffle=False, verbose=0).history
    loop_hist = training.train_loop(b, x, y, epochs=2, batch_size=32, learning_rate=0.05,
                                    seed=3, shuffle=False, validation_data=(x[:64], y[:64]))
    np.testing.assert_allclose(loop_hist["loss"], fit_hist["loss"], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(loop_hist["accuracy"], fit_hist["accuracy"], atol=1e-6)
    for wa, wb in zip(a.get_weights(), b.get_weights(), strict=True):
        np.testing.assert_allclose(wa, wb, atol=1e-4)
    assert set(loop_hist) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert loop_hist["loss"][-1] < loop_hist["loss"][0]


def test_train_loop_shuffled_learns(small):
    seed_everything(0)
    model = models.mlp(small.input_shape, small.num_classes)
    hist = training.train_loop(model, small.x_train, small.y_train, epochs=2, batch_size=64,
                               learning_rate=2e-3, seed=0, optimizer="adam")
    assert hist["accuracy"][-1] > 0.6


@pytest.mark.parametrize("param, values", [("learning_rate", [1e-3, 1e-2]),
                                           ("batch_size", [64, 256]), ("epochs", [1, 2])])
def test_sweep_returns_tidy_frame(small, param, values):
    df = training.sweep(models.mlp, small, param, values, epochs=1, batch_size=128, seed=0)
    assert list(df.columns) == training.SWEEP_COLUMNS
    assert len(df) == len(values)
    assert (df["param"] == param).all()
    assert list(df["value"]) == values
    assert df[["train_loss", "val_loss", "val_accuracy", "seconds"]].notna().all().all()
    assert (df["val_accuracy"] > 0.2).all()
    if param == "epochs":
        assert list(df["epochs"]) == [1, 2]
        assert df["seconds"].is_monotonic_increasing


def test_sweep_rejects_unknown_param(small):
    with pytest.raises(training.TrainingConfigError):
        training.sweep(models.mlp, small, "momentum", [0.9])


def test_training_does_not_plot():
    from pathlib import Path

    text = Path(training.__file__).read_text(encoding="utf-8")
    assert "matplotlib" not in text and "print(" not in text

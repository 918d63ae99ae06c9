"""Metrics agree with scikit-learn; every plot returns a Figure with the expected contents."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from sklearn import metrics as skm

from dlweek import evaluation as ev
from dlweek.data import load_dataset
from dlweek.scratch import ScratchMLP


@pytest.fixture(scope="module")
def mnist(mirror):
    return load_dataset("mnist", profile="quick")


@pytest.fixture(scope="module")
def scored(mnist):
    """Real predictions: a scratch MLP trained for one epoch on quick MNIST."""
    net = ScratchMLP((784, 32, 10), seed=0)
    net.fit(mnist.x_train, mnist.y_train, epochs=1, batch_size=64, learning_rate=0.1)
    proba = ev.predict_proba(net, mnist.x_test)
    return mnist.y_test, proba


@pytest.fixture(autouse=True)
def no_pyplot_figures():
    plt.close("all")
    yield
    assert plt.get_fignums() == [], "a dlweek plot left a figure in pyplot's registry"


def _binary(seed=0, n=200):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, size=n)
    p1 = np.clip(0.35 * y + rng.uniform(0, 0.65, size=n), 0, 1)
    return y, np.stack([1 - p1, p1], axis=1)


def test_accuracy_and_confusion_match_sklearn(scored):
    y, proba = scored
    pred = proba.argmax(axis=1)
    assert ev.accuracy(y, pred) == pytest.approx(skm.accuracy_score(y, pred))
    assert ev.accuracy(y, proba) == ev.accuracy(y, pred)
    np.testing.assert_array_equal(ev.confusion(y, pred), skm.confusion_matrix(y, pred))
    norm = ev.confusion(y, pred, normalize="true")
    np.testing.assert_allclose(norm, skm.confusion_matrix(y, pred, normalize="true"))
    np.testing.assert_allclose(norm.sum(axis=1), 1.0)
    assert ev.confusion([0, 1], [1, 1], num_classes=4).shape == (4, 4)


def test_known_confusion_counts():
    cm = ev.confusion([0, 0, 1, 2, 2, 2], [0, 1, 1, 2, 0, 2])
    np.testing.assert_array_equal(cm, [[1, 1, 0], [0, 1, 0], [1, 0, 2]])


def test_roc_auc_matches_sklearn_multiclass(scored, mnist):
    y, proba = scored
    aucs = ev.roc_auc(y, proba, mnist.class_names)
    assert list(aucs) == [*mnist.class_names, "micro", "macro"]
    assert aucs["macro"] == pytest.approx(
        skm.roc_auc_score(y, proba, multi_class="ovr", average="macro"))
    onehot = np.eye(10)[y]
    assert aucs["micro"] == pytest.approx(skm.roc_auc_score(onehot, proba, average="micro"))
    for k, name in enumerate(mnist.class_names):
        assert aucs[name] == pytest.approx(skm.roc_auc_score(y == k, proba[:, k]))


def test_roc_and_ap_binary_and_sigmoid_column():
    y, proba = _binary()
    expected = skm.roc_auc_score(y, proba[:, 1])
    aucs = ev.roc_auc(y, proba, ("cats", "dogs"))
    assert aucs["dogs"] == pytest.approx(expected)
    assert aucs["cats"] == pytest.approx(expected)
    assert aucs["macro"] == pytest.approx(expected)
    assert ev.roc_auc(y, proba[:, 1])["1"] == pytest.approx(expected)  # (N,) sigmoid output
    ap = ev.average_precision(y, proba[:, 1:], ("cats", "dogs"))  # (N, 1) sigmoid output
    assert ap["dogs"] == pytest.approx(skm.average_precision_score(y, proba[:, 1]))


def test_average_precision_matches_sklearn(scored):
    y, proba = scored
    ap = ev.average_precision(y, proba)
    for k in range(10):
        assert ap[str(k)] == pytest.approx(skm.average_precision_score(y == k, proba[:, k]))
    assert ap["micro"] == pytest.approx(
        skm.average_precision_score(np.eye(10)[y], proba, average="micro"))


def test_plot_roc_has_a_curve_per_class_plus_averages_and_chance(scored, mnist):
    y, proba = scored
    fig = ev.plot_roc(y, proba, mnist.class_names)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert len(ax.get_lines()) == 10 + 2 + 1
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any(t.startswith("micro-average") for t in labels)
    assert any(t.startswith("macro-average") for t in labels)
    assert "False positive rate" in ax.get_xlabel() and "True positive" in ax.get_ylabel()
    fig = ev.plot_roc(*_binary(), ("cats", "dogs"))
    assert len(fig.axes[0].get_lines()) == 2 + 2 + 1


def test_plot_precision_recall_lines(scored):
    y, proba = scored
    fig = ev.plot_precision_recall(y, proba)
    assert len(fig.axes[0].get_lines()) == 10 + 1
    assert fig.axes[0].get_xlabel() == "Recall" and fig.axes[0].get_ylabel() == "Precision"
    assert len(ev.plot_precision_recall(*_binary()).axes[0].get_lines()) == 3


@pytest.mark.parametrize("normalize", [False, True])
def test_plot_confusion_matrix(scored, mnist, normalize):
    y, proba = scored
    fig = ev.plot_confusion_matrix(y, proba.argmax(axis=1), mnist.class_names,
                                   normalize=normalize)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]  # the heatmap (the colour bar is the second axes)
    assert ax.get_xlabel() == "Predicted label" and ax.get_ylabel() == "True label"
    assert [t.get_text() for t in ax.get_xticklabels()] == list(mnist.class_names)
    cells = [t.get_text() for t in ax.texts]
    assert len(cells) == 100
    cm = ev.confusion(y, proba.argmax(axis=1), "true" if normalize else None)
    assert cells[0] == (f"{cm[0, 0]:.2f}" if normalize else str(cm[0, 0]))


def test_classification_report_df(scored, mnist):
    y, proba = scored
    pred = proba.argmax(axis=1)
    df = ev.classification_report_df(y, pred, mnist.class_names)
    assert isinstance(df, pd.DataFrame)
    assert list(df.columns) == ["precision", "recall", "f1-score", "support"]
    assert list(df.index[:10]) == list(mnist.class_names)
    assert {"accuracy", "macro avg", "weighted avg"} <= set(df.index)
    assert df.loc["3", "recall"] == pytest.approx(skm.recall_score(y, pred, average=None)[3])
    assert df.loc["accuracy", "f1-score"] == pytest.approx(skm.accuracy_score(y, pred))
    assert df.loc["macro avg", "support"] == len(y)


def test_plot_history_from_dict_and_history_object():
    hist = {"loss": [1.0, 0.6, 0.4], "accuracy": [0.6, 0.8, 0.9],
            "val_loss": [0.9, 0.7, 0.6], "val_accuracy": [0.65, 0.75, 0.8]}

    class FakeHistory:  # what keras.callbacks.History exposes
        history = hist

    for source in (hist, FakeHistory(), pd.DataFrame(hist)):
        fig = ev.plot_history(source)
        assert [ax.get_ylabel() for ax in fig.axes] == ["loss", "accuracy"]
        for ax in fig.axes:
            assert len(ax.get_lines()) == 2
            np.testing.assert_array_equal(ax.get_lines()[0].get_xdata(), [1, 2, 3])
    assert len(ev.plot_history({"loss": [1.0, 0.5]}).axes) == 1
    with pytest.raises(ValueError, match="history"):
        ev.plot_history({"mae": [1.0]})


def test_plot_history_of_a_real_keras_history():
    keras = pytest.importorskip("keras")
    cb = keras.callbacks.History()
    cb.history = {"loss": [0.5, 0.3], "val_loss": [0.6, 0.5]}
    fig = ev.plot_history(cb, metrics=("loss",))
    assert len(fig.axes) == 1 and len(fig.axes[0].get_lines()) == 2


def test_image_grid_marks_mistakes_in_red(mnist):
    x, y = mnist.x_test[:12], mnist.y_test[:12]
    pred = y.copy()
    pred[[1, 5]] = (pred[[1, 5]] + 1) % 10
    fig = ev.plot_image_grid(x, y, pred, mnist.class_names, ncols=4, max_images=10,
                             probs=np.full(12, 0.9))
    image_axes = [ax for ax in fig.axes if ax.images]
    assert len(image_axes) == 10 and len(fig.axes) == 12  # 3 rows x 4, two blank
    red = [i for i, ax in enumerate(image_axes) if ax.title.get_color() == ev.MISTAKE_COLOR]
    assert red == [1, 5]
    assert "(0.90)" in image_axes[0].get_title()
    rgb = np.random.default_rng(0).integers(0, 256, size=(3, 32, 32, 3), dtype=np.uint8)
    assert len(ev.plot_image_grid(rgb).axes) == 3


def test_worst_mistakes_are_most_confident_wrong_ones():
    proba = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.05, 0.95], [0.7, 0.3]])
    y = np.array([0, 0, 1, 0, 1])
    np.testing.assert_array_equal(ev.worst_mistakes(y, proba, k=2), [3, 1])
    np.testing.assert_array_equal(ev.worst_mistakes(y, proba), [3, 1, 4, 2])


def test_predict_proba_batches_through_predict_on_batch():
    class Model:
        calls: list[int] = []

        def predict_on_batch(self, x):
            self.calls.append(len(x))
            return np.tile([0.25, 0.75], (len(x), 1))

    model = Model()
    out = ev.predict_proba(model, np.zeros((600, 4, 4, 1), np.uint8), batch_size=256)
    assert out.shape == (600, 2) and model.calls == [256, 256, 88]

    class Sigmoid:
        def predict_on_batch(self, x):
            return np.full((len(x), 1), 0.2)

    np.testing.assert_allclose(ev.predict_proba(Sigmoid(), np.zeros((3, 2))), [[0.8, 0.2]] * 3)


def test_predict_proba_of_a_keras_model_matches_predict():
    keras = pytest.importorskip("keras")
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Rescaling(1 / 255),
                              keras.layers.Flatten(), keras.layers.Dense(3, activation="softmax")])
    x = np.random.default_rng(0).integers(0, 256, size=(70, 8, 8, 1), dtype=np.uint8)
    np.testing.assert_allclose(ev.predict_proba(model, x, batch_size=32),
                               model.predict(x, verbose=0), rtol=1e-5, atol=1e-6)


def test_plot_activations():
    fig = ev.plot_activations()
    assert [ax.get_title() for ax in fig.axes] == ["ReLU", "Sigmoid", "Tanh", "Softmax"]
    assert all(len(ax.get_lines()) >= 2 + 2 for ax in fig.axes)  # f, f', two axis lines
    relu_line = fig.axes[0].get_lines()[0]
    assert relu_line.get_ydata().min() == 0.0


def test_plot_sweep():
    df = pd.DataFrame({
        "param": ["learning_rate"] * 3, "value": [1e-4, 1e-3, 1e-2], "epochs": [2] * 3,
        "batch_size": [64] * 3, "learning_rate": [1e-4, 1e-3, 1e-2],
        "train_loss": [1.0, 0.5, 0.7], "train_accuracy": [0.7, 0.9, 0.85],
        "val_loss": [1.1, 0.6, 0.8], "val_accuracy": [0.68, 0.88, 0.8], "seconds": [3., 3., 3.],
    })
    fig = ev.plot_sweep(df, "learning_rate")
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and ax.get_ylabel() == "val_accuracy"
    assert len(ax.get_lines()) == 2  # validation and training
    assert len(fig.axes) == 2  # + seconds per run
    assert "0.880" in ax.texts[0].get_text()
    assert ev.plot_sweep(df, metric="val_loss").axes[0].get_ylabel() == "val_loss"
    with pytest.raises(ValueError, match="not in the sweep"):
        ev.plot_sweep(df, metric="val_auc")


def test_plot_architecture_from_sizes():
    fig = ev.plot_architecture((784, 128, 10))
    ax = fig.axes[0]
    assert "101,770 parameters" in ax.get_title()
    assert len(ax.collections) == 3  # one scatter of neurons per layer
    texts = " ".join(t.get_text() for t in ax.texts)
    assert "784 units" in texts and "output" in texts and "⋮" in texts
    assert len(ax.get_lines()) == 8 * 8 + 8 * 8  # edges between drawn neurons
    with pytest.raises(ValueError):
        ev.plot_architecture((10,))


@pytest.fixture(scope="module")
def tiny_cnn():
    keras = pytest.importorskip("keras")
    keras.utils.set_random_seed(0)
    return keras.Sequential([
        keras.Input((28, 28, 1)), keras.layers.Rescaling(1 / 255),
        keras.layers.Conv2D(4, 3, activation="relu", name="conv1"), keras.layers.MaxPooling2D(),
        keras.layers.Conv2D(6, 3, activation="relu", name="conv2"), keras.layers.Flatten(),
        keras.layers.Dense(10, activation="softmax"),
    ], name="tiny")


def test_plot_architecture_from_keras_model(tiny_cnn):
    fig = ev.plot_architecture(tiny_cnn)
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert any("conv1 (Conv2D)" in t for t in texts)
    assert len(fig.axes[0].patches) == len(tiny_cnn.layers)


def test_plot_feature_maps_and_filters(tiny_cnn, mnist):
    fig = ev.plot_feature_maps(tiny_cnn, mnist.x_test[0], max_maps=5)
    assert len(fig.axes) == 2 * 6  # two conv layers x (input + 5 maps)
    assert "conv1" in fig.axes[0].get_ylabel() and "26×26×4" in fig.axes[0].get_ylabel()
    assert not fig.axes[5].images  # conv1 has only 4 channels
    fig = ev.plot_feature_maps(tiny_cnn, mnist.x_test[0], layer_names=["conv2"])
    assert len(fig.axes) == 9
    fig = ev.plot_filters(tiny_cnn)
    assert sum(bool(ax.images) for ax in fig.axes) == 4
    assert "conv1" in fig.get_suptitle()
    assert "conv2" in ev.plot_filters(tiny_cnn.get_layer("conv2")).get_suptitle()

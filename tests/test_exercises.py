"""Every checker passes the reference answer and fails wrong ones with a hint (never raises)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dlweek import exercises as ex


def _fails(result: ex.CheckResult) -> None:
    assert not result and result.hint, result
    assert "Hint" in str(result) and "Not yet" in result._repr_markdown_()


def test_result_is_truthy_only_when_passed() -> None:
    ok, bad = ex.CheckResult("x", True, "fine"), ex.CheckResult("x", False, "no", "try")
    assert ok and not bad
    assert str(ok).startswith("PASS") and "PASS" in ok._repr_markdown_()


@pytest.mark.parametrize("answer", [None, 42, lambda *a: None, lambda *a: 1 / 0])
def test_unattempted_or_crashing_answers_fail_politely(answer: object) -> None:
    for check in (ex.check_sigmoid, ex.check_softmax, ex.check_parameter_count,
                  ex.check_dense_forward, ex.check_conv_output_size, ex.check_conv_params,
                  ex.check_precision_recall):
        _fails(check(answer))


def test_not_implemented_is_reported_as_not_attempted() -> None:
    def stub(z: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    result = ex.check_sigmoid(stub)
    assert not result and "not attempted" in result.message


def test_day1_checkers() -> None:
    assert ex.check_sigmoid(lambda z: 0.5 * (1 + np.tanh(z / 2)))
    _fails(ex.check_sigmoid(lambda z: 1 / (1 + np.exp(-z))))  # overflows at -1000
    _fails(ex.check_sigmoid(np.tanh))

    def softmax(z: np.ndarray) -> np.ndarray:
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    assert ex.check_softmax(softmax)
    _fails(ex.check_softmax(lambda z: np.exp(z) / np.exp(z).sum()))  # not row-wise
    assert ex.check_dense_forward(lambda x, w, b: np.maximum(0, x @ w + b))
    _fails(ex.check_dense_forward(lambda x, w, b: x @ w + b))
    assert ex.check_parameter_count(lambda s: ex.mlp_parameter_count(s))
    _fails(ex.check_parameter_count(lambda s: sum(a * b for a, b in zip(s, s[1:], strict=False))))


def test_day2_checkers() -> None:
    import keras

    assert ex.check_mlp_param_count(235_146)
    _fails(ex.check_mlp_param_count(234_752))
    _fails(ex.check_mlp_param_count(None))
    model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(10, activation="softmax")])
    _fails(ex.check_compiled_classifier(model))  # not compiled
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    assert ex.check_compiled_classifier(model)
    assert ex.check_mlp_param_count(7850, model)
    model.compile(optimizer="adam", loss="mse")
    _fails(ex.check_compiled_classifier(model))
    assert ex.check_dropout_behaviour(lambda layer, x, training: layer(x, training=training))
    _fails(ex.check_dropout_behaviour(lambda layer, x, training: layer(x, training=True)))


def test_day3_checkers() -> None:
    import torch

    def grad(x: torch.Tensor) -> torch.Tensor:
        x = x.clone().requires_grad_(True)
        (x**3 + 2 * x).sum().backward()
        return x.grad

    assert ex.check_autograd_gradient(grad)
    _fails(ex.check_autograd_gradient(lambda x: 3 * x**2))
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.AdaptiveAvgPool2d(1),
                              torch.nn.Flatten(), torch.nn.Linear(8, 10))
    assert ex.check_torch_classifier(net)
    _fails(ex.check_torch_classifier(torch.nn.Linear(3, 10)))  # forward fails on images
    _fails(ex.check_torch_classifier("not a model"))


def test_day4_checkers() -> None:
    import keras

    sweep = pd.DataFrame({"param": "learning_rate", "value": [1e-4, 1e-3, 1e-2],
                          "val_accuracy": [0.7, 0.9, 0.8]})
    assert ex.check_best_learning_rate(1e-3, sweep)
    _fails(ex.check_best_learning_rate(1e-2, sweep))
    good = {"integer": "sparse_categorical_crossentropy",
            "one_hot": "categorical_crossentropy", "binary": "binary_crossentropy"}
    assert ex.check_loss_choice(good)
    _fails(ex.check_loss_choice({**good, "integer": "mse"}))
    stop = keras.callbacks.EarlyStopping
    assert ex.check_early_stopping([stop(monitor="val_loss", patience=2,
                                         restore_best_weights=True)])
    _fails(ex.check_early_stopping([stop(monitor="val_loss", patience=2)]))
    _fails(ex.check_early_stopping([]))


def test_day5_checkers() -> None:
    def pr(y_true: np.ndarray, y_pred: np.ndarray, c: int) -> tuple[float, float]:
        tp = np.sum((y_pred == c) & (y_true == c))
        return tp / np.sum(y_pred == c), tp / np.sum(y_true == c)

    assert ex.check_precision_recall(pr)
    _fails(ex.check_precision_recall(lambda t, p, c: pr(t, p, c)[::-1]))
    y_true = np.array([0, 0, 1, 1, 2, 2, 2])
    y_pred = np.array([0, 0, 1, 2, 1, 1, 2])
    assert ex.check_most_confused((2, 1), y_true, y_pred)
    _fails(ex.check_most_confused((1, 2), y_true, y_pred))


def test_day6_checkers() -> None:
    import keras

    assert ex.check_conv_output_size(lambda n, k, s, p: (n + 2 * p - k) // s + 1)
    _fails(ex.check_conv_output_size(lambda n, k, s, p: n - k + 1))
    assert ex.check_conv_params(lambda k, cin, f: (k * k * cin + 1) * f)
    _fails(ex.check_conv_params(lambda k, cin, f: k * k * cin * f))
    base = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(64, 3),
                             keras.layers.Conv2D(64, 3)])
    model = keras.Sequential([base, keras.layers.Flatten(), keras.layers.Dense(2)])
    _fails(ex.check_frozen_base(model))
    base.trainable = False
    assert ex.check_frozen_base(model)


def test_day7_checkers() -> None:
    names = ("cats", "dogs")
    assert ex.check_prediction_response(
        {"predictions": [{"label": "dogs", "probability": 0.9}]}, names)
    assert ex.check_prediction_response({"label": "cats", "probability": 0.6}, names)
    _fails(ex.check_prediction_response({"label": "horse", "probability": 0.6}, names))
    _fails(ex.check_prediction_response("dogs", names))
    readme = ("# Classifier\n\n## Install\n```\npip install .\n```\n## Usage\n## API\n"
              "## Model\n## License\nMIT\n")
    assert ex.check_readme(readme)
    _fails(ex.check_readme(readme.replace("## License\n", "")))
    url = "http://127.0.0.1:8000/predict"
    assert ex.check_curl_command(f'curl -F "file=@cat.jpg" {url}', url)
    _fails(ex.check_curl_command(f"curl {url}", url))

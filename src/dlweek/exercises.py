"""Checker functions for the notebooks' exercises: each tells the learner pass or fail, with a hint.

Every checker takes the learner's answer (a function, a number, a model, ...), never raises
for a wrong answer, and returns a :class:`CheckResult`. A notebook shows the result as the
cell's output; the executed reference solution asserts it (``assert check_sigmoid(f)``)
so that CI proves the checkers really pass.

Example:
    >>> import numpy as np
    >>> result = check_sigmoid(lambda z: 1 / (1 + np.exp(-z)))
    >>> bool(result)   # the naive formula overflows for very negative inputs
    False
    >>> bool(check_sigmoid(lambda z: 0.5 * (1 + np.tanh(z / 2))))
    True
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CheckResult:
    """The verdict on one exercise.

    Attributes:
        exercise: short name of the exercise, e.g. ``"day1.sigmoid"``.
        passed: whether the answer is right.
        message: what was checked, or what went wrong.
        hint: a nudge towards the answer (empty when passed).
    """

    exercise: str
    passed: bool
    message: str
    hint: str = ""

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        if self.passed:
            return f"PASS [{self.exercise}] {self.message}"
        text = f"NOT YET [{self.exercise}] {self.message}"
        return f"{text}\n  Hint: {self.hint}" if self.hint else text

    __repr__ = __str__

    def _repr_markdown_(self) -> str:
        if self.passed:
            return f"✅ **PASS** `{self.exercise}`: {self.message}"
        text = f"❌ **Not yet** `{self.exercise}`: {self.message}"
        return f"{text}<br>💡 *Hint:* {self.hint}" if self.hint else text


def _ok(exercise: str, message: str) -> CheckResult:
    log.info("%s passed", exercise)
    return CheckResult(exercise, True, message)


def _fail(exercise: str, message: str, hint: str) -> CheckResult:
    log.info("%s not passed: %s", exercise, message)
    return CheckResult(exercise, False, message, hint)


def _call(exercise: str, fn: Any, *args: Any, hint: str) -> tuple[Any, CheckResult | None]:
    """Call the learner's function; turn ``None``/exceptions/warnings into a failed result."""
    if fn is None or not callable(fn):
        return None, _fail(exercise, "expected a function, got "
                           f"{type(fn).__name__}.", hint)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)  # overflow is a mistake here
            out = fn(*args)
    except NotImplementedError:
        return None, _fail(exercise, "not attempted yet (NotImplementedError).", hint)
    except Exception as exc:  # the learner's code may raise anything; report it, do not crash
        return None, _fail(exercise, f"your function raised {type(exc).__name__}: {exc}", hint)
    if out is None:
        return None, _fail(exercise, "your function returned None (not attempted yet?).", hint)
    return out, None


def _close(got: Any, want: np.ndarray, *, atol: float = 1e-6, rtol: float = 1e-5) -> bool:
    try:
        arr = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    return arr.shape == want.shape and bool(np.allclose(arr, want, atol=atol, rtol=rtol))


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


# --- Day 1: neural networks from scratch -------------------------------------------------

def check_sigmoid(fn: Callable[[np.ndarray], np.ndarray]) -> CheckResult:
    """Day 1: ``fn(z)`` is the logistic sigmoid, exact and free of overflow for large ``|z|``."""
    name, hint = "day1.sigmoid", ("sigmoid(z) = 1 / (1 + exp(-z)); for very negative z, exp(-z) "
                                  "overflows — use exp(z) / (1 + exp(z)) there, or np.tanh.")
    z = np.array([-1000.0, -30.0, -2.0, -0.5, 0.0, 0.5, 2.0, 30.0, 1000.0])
    with np.errstate(over="ignore"):
        want = np.where(z >= 0, 1 / (1 + np.exp(-np.abs(z))), np.exp(-np.abs(z))
                        / (1 + np.exp(-np.abs(z))))
    out, failed = _call(name, fn, z.copy(), hint=hint)
    if failed is not None:
        return failed
    if not _close(out, want, atol=1e-9):
        return _fail(name, f"sigmoid({z.tolist()}) gave {np.round(np.asarray(out), 4).tolist()}"
                     f", expected {np.round(want, 4).tolist()}.", hint)
    return _ok(name, "matches the logistic function everywhere, including z = ±1000.")


def check_softmax(fn: Callable[[np.ndarray], np.ndarray]) -> CheckResult:
    """Day 1: ``fn(logits)`` is a row-wise, numerically stable softmax of a 2-D array."""
    name, hint = "day1.softmax", ("softmax(z)_i = exp(z_i) / sum_j exp(z_j) along axis=1 "
                                  "(keepdims=True); subtract the row max first so exp never "
                                  "overflows.")
    logits = np.array([[1.0, 2.0, 3.0], [1000.0, 1000.0, 0.0], [-5.0, 0.0, 5.0]])
    shifted = logits - logits.max(axis=1, keepdims=True)
    want = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
    out, failed = _call(name, fn, logits.copy(), hint=hint)
    if failed is not None:
        return failed
    if not _close(out, want):
        return _fail(name, "wrong values (or not row-wise): each row must sum to 1 and keep "
                     "the logits' order.", hint)
    return _ok(name, "row-wise, sums to 1, stable for logits of 1000.")


def check_dense_forward(fn: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]
                        ) -> CheckResult:
    """Day 1: ``fn(x, w, b)`` is one dense layer with ReLU: ``relu(x @ w + b)``."""
    name, hint = "day1.dense_forward", ("x has shape (batch, n_in), w (n_in, n_out), b (n_out,): "
                                        "compute x @ w + b, then np.maximum(0, ...).")
    rng = np.random.default_rng(0)
    x, w, b = rng.normal(size=(4, 5)), rng.normal(size=(5, 3)), rng.normal(size=3)
    want = np.maximum(0.0, x @ w + b)
    out, failed = _call(name, fn, x, w, b, hint=hint)
    if failed is not None:
        return failed
    if np.shape(out) != want.shape:
        return _fail(name, f"output shape {np.shape(out)}, expected {want.shape}.", hint)
    if not _close(out, want):
        return _fail(name, "right shape, wrong values.", hint)
    return _ok(name, "a (4, 5) batch through a 5→3 ReLU layer is right.")


def mlp_parameter_count(layer_sizes: Sequence[int]) -> int:
    """Weights + biases of a fully connected network with these layer widths."""
    return int(sum(a * b + b for a, b in zip(layer_sizes[:-1], layer_sizes[1:], strict=False)))


def check_parameter_count(fn: Callable[[Sequence[int]], int]) -> CheckResult:
    """Day 1: ``fn(layer_sizes)`` counts the weights and biases of an MLP."""
    name, hint = "day1.parameter_count", ("between layers of width a and b there are a*b weights "
                                          "and b biases; add that up over consecutive pairs.")
    cases = [(784, 128, 10), (2, 3, 1), (784, 256, 128, 10)]
    for sizes in cases:
        out, failed = _call(name, fn, list(sizes), hint=hint)
        if failed is not None:
            return failed
        want = mlp_parameter_count(sizes)
        if _number(out) != want:
            return _fail(name, f"layer sizes {sizes}: you said {out}, the answer is {want}.", hint)
    return _ok(name, f"right for {len(cases)} architectures (784-128-10 has 101,770).")


# --- Day 2: Keras ------------------------------------------------------------------------

def check_mlp_param_count(answer: int, model: Any = None) -> CheckResult:
    """Day 2: the learner's hand count of the Day 2 MLP's parameters (784-256-128-10)."""
    name, hint = "day2.param_count", ("Flatten and Dropout have no parameters; each Dense layer "
                                      "has inputs*units weights plus units biases.")
    want = int(model.count_params()) if model is not None else mlp_parameter_count(
        (784, 256, 128, 10))
    if answer is None:
        return _fail(name, "no answer yet.", hint)
    if _number(answer) != want:
        return _fail(name, f"you said {answer}; model.summary() says {want:,}.", hint)
    return _ok(name, f"{want:,} parameters, counted by hand.")


def check_compiled_classifier(model: Any, num_classes: int = 10) -> CheckResult:
    """Day 2: a Keras model that is compiled for sparse labels and outputs class probabilities."""
    name = "day2.compiled_classifier"
    hint = ("end with Dense(num_classes, activation='softmax'), and compile with "
            "loss='sparse_categorical_crossentropy' and metrics=['accuracy'].")
    if model is None or not hasattr(model, "compile"):
        return _fail(name, "expected a keras.Model.", hint)
    try:
        shape = tuple(model.output_shape)
    except (AttributeError, ValueError) as exc:
        return _fail(name, f"the model has no output shape yet ({exc}); give it an Input layer.",
                     hint)
    if shape[-1] != num_classes:
        return _fail(name, f"output shape {shape}, expected (None, {num_classes}).", hint)
    activation = getattr(getattr(model.layers[-1], "activation", None), "__name__", "")
    if activation != "softmax":
        return _fail(name, f"the last layer's activation is {activation or 'missing'!r}; "
                     "probabilities need softmax.", hint)
    if getattr(model, "optimizer", None) is None or not getattr(model, "compiled", True):
        return _fail(name, "the model is not compiled yet.", hint)
    loss = getattr(model, "loss", None)
    loss_name = loss if isinstance(loss, str) else getattr(loss, "name", type(loss).__name__)
    if "sparse_categorical_crossentropy" not in str(loss_name).lower().replace(
            "sparsecategoricalcrossentropy", "sparse_categorical_crossentropy"):
        return _fail(name, f"loss is {loss_name!r}; MNIST labels are integers 0..9.", hint)
    return _ok(name, f"softmax over {num_classes} classes, compiled with {loss_name}.")


def check_dropout_behaviour(fn: Callable[[Any, np.ndarray, bool], np.ndarray]) -> CheckResult:
    """Day 2: ``fn(layer, x, training)`` calls a Dropout layer in training or inference mode."""
    name, hint = "day2.dropout", ("call the layer like a function: layer(x, training=training);"
                                  " then convert with np.asarray(...).")
    import keras

    layer = keras.layers.Dropout(0.5, seed=1)
    x = np.ones((8, 100), np.float32)
    test_out, failed = _call(name, fn, layer, x, False, hint=hint)
    if failed is not None:
        return failed
    train_out, failed = _call(name, fn, layer, x, True, hint=hint)
    if failed is not None:
        return failed
    test_out, train_out = np.asarray(test_out), np.asarray(train_out)
    if not np.allclose(test_out, x):
        return _fail(name, "with training=False Dropout must be the identity.", hint)
    zeros = float(np.mean(train_out == 0))
    if not 0.35 < zeros < 0.65 or not np.allclose(train_out[train_out != 0], 2.0):
        return _fail(name, f"with training=True about half should be 0 (got {zeros:.0%}) and "
                     "the rest scaled by 1/(1-rate) = 2.", hint)
    return _ok(name, f"training=True dropped {zeros:.0%} and scaled the rest by 2; "
               "training=False passed x through.")


# --- Day 3: PyTorch ----------------------------------------------------------------------

def check_autograd_gradient(fn: Callable[[Any], Any]) -> CheckResult:
    """Day 3: ``fn(x)`` returns d/dx sum(x**3 + 2x) computed with torch autograd."""
    name, hint = "day3.autograd", ("make x require grad (x = x.clone().requires_grad_(True)), "
                                   "compute y = (x**3 + 2*x).sum(), call y.backward() and return "
                                   "x.grad.")
    import torch

    x = torch.tensor([-2.0, -0.5, 0.0, 1.0, 3.0])
    out, failed = _call(name, fn, x.clone(), hint=hint)
    if failed is not None:
        return failed
    got = out.detach().numpy() if hasattr(out, "detach") else np.asarray(out)
    want = 3 * x.numpy() ** 2 + 2
    if not _close(got, want.astype(np.float64), atol=1e-5):
        return _fail(name, f"got {np.round(got, 3).tolist()}, expected 3x²+2 = "
                     f"{want.tolist()}.", hint)
    return _ok(name, "autograd's gradient equals 3x² + 2.")


def check_torch_classifier(model: Any, input_shape: tuple[int, int, int] = (3, 32, 32),
                           num_classes: int = 10, max_params: int = 2_000_000) -> CheckResult:
    """Day 3: a ``torch.nn.Module`` mapping a batch (N, C, H, W) to (N, num_classes) logits."""
    name, hint = "day3.torch_classifier", (
        "subclass nn.Module; in forward apply conv → relu → pool blocks, then flatten "
        "(torch.flatten(x, 1)) and a final nn.Linear(..., num_classes). Return logits.")
    import torch

    if not isinstance(model, torch.nn.Module):
        return _fail(name, f"expected a torch.nn.Module, got {type(model).__name__}.", hint)
    n_params = sum(p.numel() for p in model.parameters())
    if n_params > max_params:
        return _fail(name, f"{n_params:,} parameters; keep it under {max_params:,}.", hint)
    model.eval()
    try:
        with torch.no_grad():
            out = model(torch.zeros((2, *input_shape)))
    except Exception as exc:  # a learner's shape mistake surfaces here
        return _fail(name, f"forward pass failed: {type(exc).__name__}: {exc}", hint)
    if tuple(out.shape) != (2, num_classes):
        return _fail(name, f"output shape {tuple(out.shape)}, expected (2, {num_classes}).",
                     hint)
    return _ok(name, f"(N, {num_classes}) logits from {n_params:,} parameters.")


# --- Day 4: training ---------------------------------------------------------------------

def check_best_learning_rate(answer: float, sweep: Any, metric: str = "val_accuracy"
                             ) -> CheckResult:
    """Day 4: read the best learning rate off a sweep table (``dlweek.training.sweep``)."""
    name, hint = "day4.best_learning_rate", (f"look for the row with the highest {metric} "
                                             "(df.loc[df[metric].idxmax(), 'value']).")
    try:
        best = float(sweep.loc[sweep[metric].idxmax(), "value"])
    except (KeyError, AttributeError, TypeError) as exc:
        return _fail(name, f"could not read the sweep table ({exc}).", "pass the DataFrame "
                     "returned by dlweek.training.sweep.")
    got = _number(answer)
    if got is None or not math.isclose(got, best, rel_tol=1e-9):
        return _fail(name, f"you chose {answer}; the sweep's best {metric} is at {best:g}.", hint)
    return _ok(name, f"learning rate {best:g} has the best {metric}.")


def check_loss_choice(answers: Mapping[str, str]) -> CheckResult:
    """Day 4: match each label format to its Keras loss name."""
    name = "day4.loss_choice"
    hint = ("integer labels → 'sparse_categorical_crossentropy'; one-hot labels → "
            "'categorical_crossentropy'; one probability for two classes → "
            "'binary_crossentropy'.")
    want = {"integer": "sparse_categorical_crossentropy",
            "one_hot": "categorical_crossentropy",
            "binary": "binary_crossentropy"}
    if not isinstance(answers, Mapping):
        return _fail(name, "expected a dict like {'integer': ..., 'one_hot': ..., 'binary': ...}.",
                     hint)
    wrong = [k for k, v in want.items()
             if str(answers.get(k, "")).strip().lower().replace("-", "_") != v]
    if wrong:
        return _fail(name, f"not right yet for: {', '.join(wrong)}.", hint)
    return _ok(name, "every label format has its loss.")


def check_early_stopping(callbacks: Iterable[Any]) -> CheckResult:
    """Day 4: a callback list with EarlyStopping on ``val_loss`` that restores the best weights."""
    name, hint = "day4.early_stopping", ("keras.callbacks.EarlyStopping(monitor='val_loss', "
                                         "patience=2, restore_best_weights=True)")
    import keras

    try:
        callbacks = list(callbacks)
    except TypeError:
        return _fail(name, "expected a list of callbacks.", hint)
    stops = [c for c in callbacks if isinstance(c, keras.callbacks.EarlyStopping)]
    if not stops:
        return _fail(name, "no EarlyStopping in the list.", hint)
    stop = stops[0]
    if stop.monitor != "val_loss":
        return _fail(name, f"it monitors {stop.monitor!r}; watch the validation loss.", hint)
    if not stop.restore_best_weights:
        return _fail(name, "without restore_best_weights you keep the last (worse) weights.",
                     hint)
    if not 1 <= stop.patience <= 10:
        return _fail(name, f"patience={stop.patience}: pick something between 1 and 10.", hint)
    return _ok(name, f"stops {stop.patience} epochs after val_loss stops improving and "
               "restores the best weights.")


# --- Day 5: evaluation -------------------------------------------------------------------

def check_precision_recall(fn: Callable[[np.ndarray, np.ndarray, int], tuple[float, float]]
                           ) -> CheckResult:
    """Day 5: ``fn(y_true, y_pred, positive)`` returns (precision, recall) for one class."""
    name, hint = "day5.precision_recall", (
        "TP = sum((y_pred == c) & (y_true == c)); precision = TP / (predicted c), "
        "recall = TP / (actually c).")
    from sklearn.metrics import precision_score, recall_score

    rng = np.random.default_rng(3)
    y_true = rng.integers(0, 3, 200)
    y_pred = np.where(rng.random(200) < 0.7, y_true, rng.integers(0, 3, 200))
    for positive in (0, 2):
        out, failed = _call(name, fn, y_true, y_pred, positive, hint=hint)
        if failed is not None:
            return failed
        want = (precision_score(y_true == positive, y_pred == positive),
                recall_score(y_true == positive, y_pred == positive))
        if not _close(out, np.array(want), atol=1e-9):
            return _fail(name, f"class {positive}: got {out}, expected "
                         f"({want[0]:.3f}, {want[1]:.3f}).", hint)
    return _ok(name, "precision and recall agree with scikit-learn.")


def check_most_confused(answer: tuple[int, int], y_true: np.ndarray, y_pred: np.ndarray
                        ) -> CheckResult:
    """Day 5: the (true, predicted) pair the model mixes up most often, read off the matrix."""
    name, hint = "day5.most_confused", ("zero the diagonal of the confusion matrix, then find "
                                        "the largest cell: np.unravel_index(cm.argmax(), "
                                        "cm.shape).")
    from sklearn.metrics import confusion_matrix

    cm = confusion_matrix(y_true, y_pred)
    np.fill_diagonal(cm, 0)
    if cm.max() == 0:
        return _ok(name, "the model makes no mistakes at all; nothing to confuse.")
    best = {tuple(int(v) for v in ij) for ij in np.argwhere(cm == cm.max())}
    try:
        got = (int(answer[0]), int(answer[1]))
    except (TypeError, ValueError, IndexError):
        return _fail(name, f"expected a (true, predicted) pair, got {answer!r}.", hint)
    if got not in best:
        return _fail(name, f"{got} was confused {cm[got]} times; the top pair occurs "
                     f"{cm.max()} times.", hint)
    return _ok(name, f"true {got[0]} predicted as {got[1]}: {cm.max()} times.")


# --- Day 6: CNNs -------------------------------------------------------------------------

def conv_output_size(size: int, kernel: int, stride: int = 1, padding: int = 0) -> int:
    """Spatial size after a convolution or pooling: ``floor((n + 2p - k) / s) + 1``."""
    return (size + 2 * padding - kernel) // stride + 1


def check_conv_output_size(fn: Callable[[int, int, int, int], int]) -> CheckResult:
    """Day 6: ``fn(size, kernel, stride, padding)`` gives a convolution's output size."""
    name, hint = "day6.conv_output_size", ("output = floor((size + 2*padding - kernel) / stride) "
                                           "+ 1; use // for the floor.")
    cases = [(28, 5, 1, 0), (32, 3, 1, 1), (224, 11, 4, 2), (28, 2, 2, 0), (7, 3, 2, 0)]
    for args in cases:
        out, failed = _call(name, fn, *args, hint=hint)
        if failed is not None:
            return failed
        if _number(out) != conv_output_size(*args):
            return _fail(name, f"size={args[0]}, kernel={args[1]}, stride={args[2]}, "
                         f"padding={args[3]}: got {out}, expected {conv_output_size(*args)}.",
                         hint)
    return _ok(name, f"right for {len(cases)} layers (LeNet's 28→24, AlexNet's 224→55, ...).")


def check_conv_params(fn: Callable[[int, int, int], int]) -> CheckResult:
    """Day 6: ``fn(kernel, in_channels, filters)`` counts a Conv2D layer's parameters."""
    name, hint = "day6.conv_params", ("each filter has kernel*kernel*in_channels weights and one "
                                      "bias.")
    cases = [(3, 1, 32), (5, 3, 6), (3, 64, 128)]
    for k, cin, f in cases:
        out, failed = _call(name, fn, k, cin, f, hint=hint)
        if failed is not None:
            return failed
        want = (k * k * cin + 1) * f
        if _number(out) != want:
            return _fail(name, f"kernel {k}, {cin} in-channels, {f} filters: got {out}, "
                         f"expected {want}.", hint)
    return _ok(name, "Conv2D parameter counts are right (and independent of image size!).")


def check_frozen_base(model: Any) -> CheckResult:
    """Day 6: a transfer model whose pretrained base is frozen and whose head is trainable."""
    name, hint = "day6.frozen_base", ("set base.trainable = False (or use dlweek.models."
                                      "set_base_trainable(model, False)) and recompile.")
    if model is None or not hasattr(model, "trainable_weights"):
        return _fail(name, "expected a keras.Model.", hint)
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    total = int(model.count_params())
    if trainable == 0:
        return _fail(name, "nothing is trainable: the new head must still learn.", hint)
    if trainable > 0.2 * total:
        return _fail(name, f"{trainable:,} of {total:,} parameters are trainable; the base "
                     "should be frozen.", hint)
    return _ok(name, f"only {trainable:,} of {total:,} parameters train (the new head).")


# --- Day 7: deployment -------------------------------------------------------------------

def check_prediction_response(payload: Any, class_names: Sequence[str]) -> CheckResult:
    """Day 7: a decoded JSON prediction from the service names a known class with a probability.

    Accepts the service's response shape ``{"predictions": [{"label"|"class": ...,
    "probability"|"score": ...}, ...]}`` or a flat ``{"label": ..., "probability": ...}``.
    """
    name, hint = "day7.prediction_response", ("POST the image as multipart form data and decode "
                                              "with response.json().")
    if not isinstance(payload, Mapping):
        return _fail(name, f"expected the decoded JSON object, got {type(payload).__name__}.",
                     hint)
    top = payload
    for key in ("predictions", "top_k", "results"):
        if isinstance(payload.get(key), list) and payload[key]:
            top = payload[key][0]
            break
    label = next((top.get(k) for k in ("label", "class", "class_name") if k in top), None)
    prob = next((top.get(k) for k in ("probability", "score", "confidence") if k in top), None)
    if label not in set(class_names):
        return _fail(name, f"label {label!r} is not one of {list(class_names)}.", hint)
    p = _number(prob)
    if p is None or not 0.0 <= p <= 1.0:
        return _fail(name, f"probability {prob!r} is not in [0, 1].", hint)
    return _ok(name, f"the service says {label!r} with probability {p:.2f}.")


README_SECTIONS = ("install", "usage", "api", "model", "license")


def check_readme(text: str, sections: Sequence[str] = README_SECTIONS) -> CheckResult:
    """Day 7: a project README with a title and the sections a visitor looks for."""
    name = "day7.readme"
    hint = ("start with '# Title', then one '## ...' heading each for: "
            + ", ".join(sections) + "; show at least one command in a ``` block.")
    if not isinstance(text, str) or not text.strip():
        return _fail(name, "the README is empty.", hint)
    lines = text.strip().splitlines()
    if not lines[0].startswith("# "):
        return _fail(name, "the first line should be the project title ('# ...').", hint)
    headings = " ".join(line.lower() for line in lines if line.startswith("## "))
    missing = [s for s in sections if s not in headings]
    if missing:
        return _fail(name, f"missing sections: {', '.join(missing)}.", hint)
    if "```" not in text:
        return _fail(name, "no code block: show the command that runs the project.", hint)
    return _ok(name, f"title, {len(sections)} sections and a runnable example.")


def check_curl_command(command: str, url: str) -> CheckResult:
    """Day 7: a curl command that uploads an image file to ``url`` as multipart form data."""
    name, hint = "day7.curl", (f'curl -F "file=@path/to/image.png" {url}  (-F makes a '
                               "multipart POST; @ reads the file).")
    if not isinstance(command, str) or not command.strip().startswith("curl"):
        return _fail(name, "the command should start with curl.", hint)
    if url not in command:
        return _fail(name, f"it does not call {url}.", hint)
    if "-F" not in command.split() and "--form" not in command:
        return _fail(name, "images are uploaded as multipart form data: use -F.", hint)
    if "=@" not in command:
        return _fail(name, "use field=@file so curl sends the file's bytes.", hint)
    return _ok(name, "uploads the file as multipart form data.")

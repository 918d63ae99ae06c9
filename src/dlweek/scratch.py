"""Day 1: a multilayer perceptron in plain NumPy — forward, backward, SGD, gradient check.

Nothing here imports Keras or TensorFlow: this is the network *before* the framework, so a
learner can see every matrix product. The model takes the same raw ``uint8`` images as the
Keras models (``(N, 28, 28, 1)`` for MNIST) and flattens and scales them itself
(:func:`prepare_inputs`).

Shapes: a batch ``x`` is ``(N, D)``; layer ``l`` computes ``z = a @ W + b`` with ``W`` of shape
``(fan_in, fan_out)``; the last layer's ``z`` are the logits, and the loss is softmax
cross-entropy averaged over the batch.

Example:
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> x, y = rng.normal(size=(8, 5)), rng.integers(0, 3, size=8)
    >>> net = ScratchMLP((5, 4, 3), activation="tanh", dtype=np.float64)
    >>> gradient_check(net, x, y) < 1e-6
    True
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence

import numpy as np

log = logging.getLogger(__name__)

Array = np.ndarray

# --- activations and their derivatives (all with respect to the pre-activation z) -------


def relu(z: Array) -> Array:
    """ReLU: ``max(0, z)``."""
    return np.maximum(z, 0)


def relu_grad(z: Array) -> Array:
    """d relu / dz: 1 where ``z > 0``, else 0 (the kink at 0 gets 0)."""
    return (z > 0).astype(z.dtype if np.issubdtype(np.asarray(z).dtype, np.floating) else float)


def sigmoid(z: Array) -> Array:
    """Logistic sigmoid ``1 / (1 + exp(-z))``, computed without overflow."""
    z = np.asarray(z)
    out = np.empty_like(z, dtype=np.result_type(z, np.float32))
    pos = z >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-z[pos]))
    ez = np.exp(z[~pos])
    out[~pos] = ez / (1.0 + ez)
    return out


def sigmoid_grad(z: Array) -> Array:
    """d sigmoid / dz = ``s (1 - s)``."""
    s = sigmoid(z)
    return s * (1 - s)


def tanh(z: Array) -> Array:
    """Hyperbolic tangent."""
    return np.tanh(z)


def tanh_grad(z: Array) -> Array:
    """d tanh / dz = ``1 - tanh(z)^2``."""
    return 1 - np.tanh(z) ** 2


def softmax(z: Array, axis: int = -1) -> Array:
    """Softmax along ``axis`` (the max is subtracted first, so large logits do not overflow)."""
    z = np.asarray(z)
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def softmax_grad(z: Array) -> Array:
    """The Jacobian of softmax for one logit vector ``z`` (K,): ``diag(s) - s s^T`` (K, K).

    Its diagonal ``s_i (1 - s_i)`` is what :func:`dlweek.evaluation.plot_activations` draws.
    """
    s = softmax(np.asarray(z).reshape(-1))
    return np.diag(s) - np.outer(s, s)


ACTIVATIONS: dict[str, tuple[Callable[[Array], Array], Callable[[Array], Array]]] = {
    "relu": (relu, relu_grad),
    "sigmoid": (sigmoid, sigmoid_grad),
    "tanh": (tanh, tanh_grad),
}

# --- losses ------------------------------------------------------------------------------


def mse(y_pred: Array, y_true: Array) -> float:
    """Mean squared error over every element."""
    diff = np.asarray(y_pred) - np.asarray(y_true)
    return float(np.mean(diff**2))


def mse_grad(y_pred: Array, y_true: Array) -> Array:
    """d mse / d y_pred."""
    diff = np.asarray(y_pred) - np.asarray(y_true)
    return 2 * diff / diff.size


def one_hot(y: Array, num_classes: int, dtype: type = np.float32) -> Array:
    """Integer labels (N,) -> one-hot rows (N, num_classes)."""
    y = np.asarray(y, dtype=np.int64).reshape(-1)
    out = np.zeros((len(y), num_classes), dtype=dtype)
    out[np.arange(len(y)), y] = 1
    return out


def cross_entropy(probs: Array, y: Array, eps: float = 1e-12) -> float:
    """Mean cross-entropy of predicted probabilities ``probs`` (N, K) for integer labels ``y``."""
    probs = np.asarray(probs)
    y = np.asarray(y, dtype=np.int64).reshape(-1)
    return float(-np.mean(np.log(np.clip(probs[np.arange(len(y)), y], eps, 1.0))))


def softmax_cross_entropy(logits: Array, y: Array) -> tuple[float, Array]:
    """Softmax + cross-entropy on logits (N, K): returns ``(mean loss, d loss / d logits)``.

    The gradient is the famous ``(softmax(logits) - one_hot(y)) / N``. The loss uses
    log-sum-exp, so it stays finite for any logits.
    """
    logits = np.asarray(logits)
    y = np.asarray(y, dtype=np.int64).reshape(-1)
    n = len(y)
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = float(-log_probs[np.arange(n), y].mean())
    grad = np.exp(log_probs)
    grad[np.arange(n), y] -= 1
    return loss, grad / n


# --- inputs ------------------------------------------------------------------------------


def prepare_inputs(x: Array, dtype: type = np.float32) -> Array:
    """Flatten images to rows and scale integer pixels 0..255 to [0, 1].

    ``uint8`` (N, 28, 28, 1) -> ``dtype`` (N, 784). Float input is only flattened and cast
    (assumed already scaled).
    """
    x = np.asarray(x)
    integer = np.issubdtype(x.dtype, np.integer)
    out = x.reshape(len(x), -1).astype(dtype)
    if integer:
        out /= 255.0
    return out


# --- the network -------------------------------------------------------------------------


class ScratchMLP:
    """A fully connected network with softmax output, trained by mini-batch SGD.

    Args:
        layer_sizes: neurons per layer including input and output, e.g. ``(784, 128, 10)``.
        activation: hidden-layer activation, ``"relu"``, ``"sigmoid"`` or ``"tanh"``.
        seed: seeds the weight initialisation (He for ReLU, Glorot otherwise) and the
            shuffling in :meth:`fit`.
        dtype: ``np.float32`` for speed, ``np.float64`` for gradient checks.

    Attributes:
        params: ``[W1, b1, W2, b2, ...]`` — the arrays :meth:`sgd_step` updates in place.
        grads: the gradients from the last :meth:`backward`, in the same order.

    Example:
        >>> net = ScratchMLP((784, 128, 10))                       # doctest: +SKIP
        >>> hist = net.fit(ds.x_train, ds.y_train, epochs=10,      # doctest: +SKIP
        ...                batch_size=64, learning_rate=0.1)
        >>> (net.predict(ds.x_test) == ds.y_test).mean()           # doctest: +SKIP
        0.977...
    """

    def __init__(
        self,
        layer_sizes: Sequence[int],
        activation: str = "relu",
        seed: int = 42,
        dtype: type = np.float32,
    ) -> None:
        sizes = [int(s) for s in layer_sizes]
        if len(sizes) < 2 or min(sizes) < 1:
            raise ValueError(f"layer_sizes needs at least (inputs, outputs), got {layer_sizes!r}.")
        if activation not in ACTIVATIONS:
            raise ValueError(f"Unknown activation {activation!r}; use one of "
                             f"{', '.join(ACTIVATIONS)}.")
        self.layer_sizes = tuple(sizes)
        self.activation = activation
        self.seed = seed
        self.dtype = np.dtype(dtype)
        self._act, self._act_grad = ACTIVATIONS[activation]
        self._rng = np.random.default_rng(seed)
        self.params: list[Array] = []
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=True):
            scale = np.sqrt(2.0 / fan_in) if activation == "relu" else np.sqrt(
                2.0 / (fan_in + fan_out))
            self.params.append((self._rng.standard_normal((fan_in, fan_out)) * scale)
                               .astype(self.dtype))
            self.params.append(np.zeros(fan_out, dtype=self.dtype))
        self.grads: list[Array] = [np.zeros_like(p) for p in self.params]
        self._cache: dict[str, list[Array]] | None = None

    # -- bookkeeping --
    @property
    def num_layers(self) -> int:
        """Number of weight layers (hidden layers + output)."""
        return len(self.params) // 2

    @property
    def num_classes(self) -> int:
        return self.layer_sizes[-1]

    def count_params(self) -> int:
        """Total number of trainable numbers."""
        return int(sum(p.size for p in self.params))

    def astype(self, dtype: type) -> ScratchMLP:
        """A copy of this network with parameters cast to ``dtype`` (e.g. float64 to check)."""
        clone = ScratchMLP(self.layer_sizes, self.activation, self.seed, dtype)
        clone.params = [p.astype(dtype) for p in self.params]
        clone.grads = [np.zeros_like(p) for p in clone.params]
        return clone

    def _inputs(self, x: Array) -> Array:
        x = prepare_inputs(x, self.dtype)
        if x.shape[1] != self.layer_sizes[0]:
            raise ValueError(f"Input has {x.shape[1]} features per example but the network "
                             f"expects {self.layer_sizes[0]} (layer_sizes={self.layer_sizes}).")
        return x

    # -- forward / backward --
    def forward(self, x: Array) -> Array:
        """Logits (N, K) for a batch; keeps what :meth:`backward` needs."""
        a = self._inputs(x)
        activations, pre = [a], []
        for i in range(self.num_layers):
            w, b = self.params[2 * i], self.params[2 * i + 1]
            z = a @ w + b
            pre.append(z)
            a = self._act(z) if i < self.num_layers - 1 else z
            activations.append(a)
        self._cache = {"a": activations, "z": pre}
        return a

    def loss(self, x: Array, y: Array) -> float:
        """Mean softmax cross-entropy of the network on ``(x, y)`` (no side effects on grads)."""
        return softmax_cross_entropy(self.forward(x), y)[0]

    def backward(self, y: Array) -> list[Array]:
        """Back-propagate the loss of the last :meth:`forward` for labels ``y``.

        Returns (and stores in :attr:`grads`) ``[dW1, db1, dW2, db2, ...]``.
        """
        if self._cache is None:
            raise RuntimeError("Call forward(x) before backward(y).")
        acts, pre = self._cache["a"], self._cache["z"]
        _, delta = softmax_cross_entropy(pre[-1], y)  # dL/dz of the output layer
        grads: list[Array] = [np.empty(0)] * len(self.params)
        for i in reversed(range(self.num_layers)):
            grads[2 * i] = acts[i].T @ delta
            grads[2 * i + 1] = delta.sum(axis=0)
            if i > 0:
                delta = (delta @ self.params[2 * i].T) * self._act_grad(pre[i - 1])
        self.grads = [g.astype(self.dtype, copy=False) for g in grads]
        return self.grads

    def gradients(self, x: Array, y: Array) -> tuple[float, list[Array]]:
        """``(loss, grads)`` for one batch: forward then backward."""
        logits = self.forward(x)
        loss = softmax_cross_entropy(logits, y)[0]
        return loss, self.backward(y)

    def sgd_step(self, x: Array, y: Array, learning_rate: float = 0.1) -> float:
        """One mini-batch SGD update ``p -= learning_rate * grad``; returns the batch loss."""
        loss, grads = self.gradients(x, y)
        for p, g in zip(self.params, grads, strict=True):
            p -= self.dtype.type(learning_rate) * g
        return loss

    # -- training / inference --
    def fit(
        self,
        x: Array,
        y: Array,
        *,
        epochs: int = 10,
        batch_size: int = 64,
        learning_rate: float = 0.1,
        x_val: Array | None = None,
        y_val: Array | None = None,
        lr_decay: float = 1.0,
        progress: bool = False,
    ) -> dict[str, list[float]]:
        """Train with shuffled mini-batch SGD; return per-epoch metrics.

        Args:
            x, y: training images (any shape per example; flattened) and integer labels.
            epochs, batch_size, learning_rate: the usual.
            x_val, y_val: optional validation data, evaluated after every epoch.
            lr_decay: multiply the learning rate by this after every epoch (1.0 = constant).
            progress: show a tqdm bar over epochs.

        Returns:
            ``{"loss", "accuracy", "val_loss", "val_accuracy", "seconds"}`` lists (the val
            keys only with validation data); :func:`dlweek.evaluation.plot_history` draws it.
        """
        xs = self._inputs(x)
        ys = np.asarray(y, dtype=np.int64).reshape(-1)
        if len(xs) != len(ys):
            raise ValueError(f"{len(xs)} inputs but {len(ys)} labels.")
        history: dict[str, list[float]] = {"loss": [], "accuracy": [], "seconds": []}
        if x_val is not None and y_val is not None:
            history["val_loss"], history["val_accuracy"] = [], []
        epochs_iter: Sequence[int] | object = range(epochs)
        if progress:
            from tqdm.auto import tqdm

            epochs_iter = tqdm(range(epochs), desc="scratch MLP", unit="epoch")
        lr = float(learning_rate)
        for epoch in epochs_iter:  # type: ignore[union-attr]
            start = time.perf_counter()
            order = self._rng.permutation(len(xs))
            total_loss, correct = 0.0, 0
            for lo in range(0, len(xs), batch_size):
                idx = order[lo:lo + batch_size]
                xb, yb = xs[idx], ys[idx]
                logits = self.forward(xb)
                loss = softmax_cross_entropy(logits, yb)[0]
                grads = self.backward(yb)
                for p, g in zip(self.params, grads, strict=True):
                    p -= self.dtype.type(lr) * g
                total_loss += loss * len(idx)
                correct += int((logits.argmax(axis=1) == yb).sum())
            history["loss"].append(total_loss / len(xs))
            history["accuracy"].append(correct / len(xs))
            if "val_loss" in history:
                metrics = self.evaluate(x_val, y_val)  # type: ignore[arg-type]
                history["val_loss"].append(metrics["loss"])
                history["val_accuracy"].append(metrics["accuracy"])
            history["seconds"].append(time.perf_counter() - start)
            log.info("epoch %d: %s", epoch + 1,
                     {k: round(v[-1], 4) for k, v in history.items()})
            if progress:
                epochs_iter.set_postfix(  # type: ignore[union-attr]
                    {k: f"{v[-1]:.4f}" for k, v in history.items() if k != "seconds"})
            lr *= lr_decay
        return history

    def predict_proba(self, x: Array, batch_size: int = 1024) -> Array:
        """Class probabilities (N, K)."""
        xs = self._inputs(x)
        out = [softmax(self.forward(xs[lo:lo + batch_size]))
               for lo in range(0, len(xs), batch_size)]
        self._cache = None
        return np.concatenate(out) if out else np.zeros((0, self.num_classes), self.dtype)

    def predict(self, x: Array, batch_size: int = 1024) -> Array:
        """Predicted class indices (N,)."""
        return self.predict_proba(x, batch_size).argmax(axis=1)

    def evaluate(self, x: Array, y: Array) -> dict[str, float]:
        """``{"loss": mean cross-entropy, "accuracy": fraction correct}``."""
        y = np.asarray(y, dtype=np.int64).reshape(-1)
        probs = self.predict_proba(x)
        return {"loss": cross_entropy(probs, y),
                "accuracy": float((probs.argmax(axis=1) == y).mean())}

    def __repr__(self) -> str:
        return (f"ScratchMLP({self.layer_sizes}, activation={self.activation!r}, "
                f"params={self.count_params():,}, dtype={self.dtype.name})")


# --- gradient check ----------------------------------------------------------------------


def numeric_gradients(
    model: ScratchMLP, x: Array, y: Array, eps: float = 1e-6,
    max_per_param: int | None = None, seed: int = 0,
) -> list[tuple[Array, Array]]:
    """Central-difference gradients ``(L(p + eps) - L(p - eps)) / (2 eps)`` in float64.

    Returns one ``(flat_indices, values)`` pair per parameter array. ``max_per_param`` checks
    only that many randomly chosen entries per array (all of them when ``None``).
    """
    net = model if model.dtype == np.float64 else model.astype(np.float64)
    rng = np.random.default_rng(seed)
    out = []
    for p in net.params:
        flat = p.reshape(-1)
        idx = np.arange(flat.size)
        if max_per_param is not None and flat.size > max_per_param:
            idx = np.sort(rng.choice(flat.size, size=max_per_param, replace=False))
        values = np.empty(len(idx))
        for j, k in enumerate(idx):
            old = flat[k]
            flat[k] = old + eps
            plus = net.loss(x, y)
            flat[k] = old - eps
            minus = net.loss(x, y)
            flat[k] = old
            values[j] = (plus - minus) / (2 * eps)
        out.append((idx, values))
    return out


def gradient_check(
    model: ScratchMLP, x: Array, y: Array, eps: float = 1e-6,
    max_per_param: int | None = None, seed: int = 0,
) -> float:
    """Compare back-propagation with central differences; return the max relative error.

    Everything runs in float64 (on a copy when ``model`` is float32). Per parameter array
    the error is ``||analytic - numeric|| / (||analytic|| + ||numeric||)`` over the checked
    entries; the function returns the largest. Correct back-propagation gives ~1e-9;
    anything above 1e-6 means a bug.

    Args:
        model: the network (its parameters are not changed).
        x, y: a small batch (a few examples is plenty).
        eps: the finite-difference step.
        max_per_param: check at most this many entries per parameter array (``None``: all).
        seed: picks the entries when sampling.
    """
    net = model if model.dtype == np.float64 else model.astype(np.float64)
    _, analytic = net.gradients(x, y)
    analytic = [g.copy() for g in analytic]
    worst = 0.0
    for g, (idx, numeric) in zip(analytic, numeric_gradients(net, x, y, eps, max_per_param,
                                                             seed), strict=True):
        a = g.reshape(-1)[idx]
        denom = np.linalg.norm(a) + np.linalg.norm(numeric)
        err = 0.0 if denom == 0 else float(np.linalg.norm(a - numeric) / denom)
        worst = max(worst, err)
    return worst

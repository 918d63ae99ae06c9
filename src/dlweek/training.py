"""Training helpers that work *with* Keras: compile defaults, ``fit`` with good callbacks,
a ``tf.GradientTape`` loop for teaching, and hyper-parameter sweeps.

Nothing here plots (see :mod:`dlweek.evaluation`), and nothing replaces ``model.fit``:
:func:`fit` only fills in defaults (compile, schedule, early stopping, a JSON history) and
returns Keras's own ``History``; extra callbacks plug in as usual.

Example:
    >>> from dlweek import data, models, training                  # doctest: +SKIP
    >>> ds = data.load_dataset("mnist", profile="quick")             # doctest: +SKIP
    >>> model = models.mlp(ds.input_shape, ds.num_classes)           # doctest: +SKIP
    >>> history = training.fit(model, ds, epochs=3)                  # doctest: +SKIP
    >>> history.history["val_accuracy"][-1] > 0.9                    # doctest: +SKIP
    True
"""

from __future__ import annotations

import functools
import inspect
import json
import logging
import math
import os
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from dlweek import config
from dlweek.runs import atomic_write_text

if TYPE_CHECKING:  # pragma: no cover
    import keras
    import pandas as pd

    from dlweek.data import ArrayDataset

log = logging.getLogger(__name__)

LR_SCHEDULES = (None, "cosine", "onecycle", "plateau")
SWEEP_PARAMS = ("learning_rate", "batch_size", "epochs")
SWEEP_COLUMNS = ["param", "value", "epochs", "batch_size", "learning_rate", "train_loss",
                 "train_accuracy", "val_loss", "val_accuracy", "seconds"]


class TrainingConfigError(ValueError):
    """An argument to a training helper has a value it cannot use."""


def _keras() -> Any:
    import keras  # noqa: PLC0415  (heavy)

    return keras


# --- compile ----------------------------------------------------------------------------

def make_optimizer(name: str, learning_rate: Any) -> Any:
    """A Keras optimizer by name (``adam``, ``adamw``, ``sgd``, ``momentum``, ``rmsprop``).

    ``learning_rate`` may be a float or a ``keras.optimizers.schedules`` schedule.
    """
    keras = _keras()
    opt = keras.optimizers
    makers: dict[str, Callable[[], Any]] = {
        "adam": lambda: opt.Adam(learning_rate),
        "adamw": lambda: opt.AdamW(learning_rate, weight_decay=1e-4),
        "sgd": lambda: opt.SGD(learning_rate),
        "momentum": lambda: opt.SGD(learning_rate, momentum=0.9, nesterov=True),
        "rmsprop": lambda: opt.RMSprop(learning_rate),
    }
    if name not in makers:
        raise TrainingConfigError(f"Unknown optimizer {name!r}; use one of {', '.join(makers)} "
                                  "or pass a keras.optimizers.Optimizer.")
    return makers[name]()


def compile_model(model: keras.Model, *, learning_rate: Any = 1e-3, optimizer: Any = "adam",
                  loss: Any = "sparse_categorical_crossentropy",
                  metrics: Sequence[Any] = ("accuracy",)) -> keras.Model:
    """Compile ``model`` for integer-label classification and return it.

    Args:
        learning_rate: a float or a Keras learning-rate schedule (ignored when
            ``optimizer`` is already an optimizer object).
        optimizer: a name for :func:`make_optimizer` or a ``keras.optimizers.Optimizer``.
        loss, metrics: as in ``model.compile``.
    """
    opt = make_optimizer(optimizer, learning_rate) if isinstance(optimizer, str) else optimizer
    model.compile(optimizer=opt, loss=loss, metrics=list(metrics))
    return model


def one_cycle(peak_lr: float, total_steps: int, *, warmup_frac: float = 0.25,
              start_div: float = 25.0, end_div: float = 1e3) -> Any:
    """One-cycle learning rate (Smith 2018): linear warm-up to ``peak_lr``, cosine to ~0.

    Built from ``keras.optimizers.schedules.CosineDecay`` (so it saves with the model):
    ``peak_lr / start_div`` → ``peak_lr`` over ``warmup_frac`` of the steps, then cosine
    down to ``peak_lr / end_div``.
    """
    keras = _keras()
    total = max(2, int(total_steps))
    warm = max(1, int(total * warmup_frac))
    return keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=peak_lr / start_div, decay_steps=max(1, total - warm),
        alpha=1.0 / end_div,
        warmup_target=peak_lr, warmup_steps=warm)


def _is_compiled(model: keras.Model) -> bool:
    return bool(getattr(model, "compiled", False)) and getattr(model, "optimizer", None) is not None


# --- callbacks --------------------------------------------------------------------------

def _to_float(value: Any) -> float:
    try:
        return float(np.asarray(value))
    except (TypeError, ValueError):
        return float("nan")


def _callback_base() -> type:
    return _keras().callbacks.Callback


@functools.cache
def _json_history_logger_class() -> type:
    base = _callback_base()

    class _JsonHistoryLogger(base):  # type: ignore[misc, valid-type]
        """Keras callback: after every epoch, write the history so far to ``path`` as JSON.

        The file (``{"epochs": n, "seconds": [...], "history": {"loss": [...], ...}}``) is
        replaced atomically, so a crash mid-training leaves the last complete epoch
        readable (see :func:`load_history`).

        Example:
            >>> model.fit(x, y, callbacks=[JsonHistoryLogger("runs/h.json")])  # doctest: +SKIP
        """

        def __init__(self, path: str | os.PathLike[str]) -> None:
            super().__init__()
            self.path = Path(path)
            self.history: dict[str, list[float]] = {}
            self.seconds: list[float] = []
            self._t0 = 0.0

        def on_train_begin(self, logs: dict | None = None) -> None:
            self.history, self.seconds = {}, []

        def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
            self._t0 = time.perf_counter()

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            self.seconds.append(round(time.perf_counter() - self._t0, 4))
            logs = dict(logs or {})
            opt = getattr(self.model, "optimizer", None)
            if "learning_rate" not in logs and opt is not None:
                logs["learning_rate"] = _to_float(opt.learning_rate)
            for key, value in logs.items():
                self.history.setdefault(key, []).append(_to_float(value))
            payload = {"epochs": len(self.seconds), "seconds": self.seconds,
                       "history": self.history}
            atomic_write_text(self.path, json.dumps(payload, indent=1, allow_nan=True))

    _JsonHistoryLogger.__name__ = _JsonHistoryLogger.__qualname__ = "JsonHistoryLogger"
    _JsonHistoryLogger.__module__ = __name__
    return _JsonHistoryLogger


def load_history(path: str | os.PathLike[str]) -> dict[str, list[float]]:
    """The ``history`` dict of a :class:`JsonHistoryLogger` file."""
    return json.loads(Path(path).read_text(encoding="utf-8"))["history"]


@functools.cache
def _time_to_accuracy_class() -> type:
    base = _callback_base()

    class _TimeToAccuracy(base):  # type: ignore[misc, valid-type]
        """Keras callback: evaluate on ``(x, y)`` every ``every`` batches and note when the
        accuracy first reaches ``target``, counting *training* seconds only (evaluation is
        excluded), so recipes compare fairly at the same evaluation granularity.

        After training: ``seconds_to_target`` and ``cpu_seconds_to_target`` (process CPU
        time, robust to other load on the machine; None if never reached) and ``log``, a
        list of ``(step, train_seconds, cpu_seconds, accuracy)``.
        """

        def __init__(self, x: np.ndarray, y: np.ndarray, *, every: int, target: float = 0.9,
                     stop_at_target: bool = False, batch_size: int = 1000) -> None:
            super().__init__()
            self.x, self.y, self.every, self.target = x, y, max(1, int(every)), target
            self.stop_at_target, self.batch_size = stop_at_target, batch_size
            self.train_seconds = self.cpu_seconds = 0.0
            self.seconds_to_target: float | None = None
            self.cpu_seconds_to_target: float | None = None
            self.log: list[tuple[int, float, float, float]] = []
            self._step, self._t0, self._c0 = 0, 0.0, 0.0

        def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
            self._t0, self._c0 = time.perf_counter(), time.process_time()

        def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
            self.train_seconds += time.perf_counter() - self._t0
            self.cpu_seconds += time.process_time() - self._c0
            self._step += 1
            if self._step % self.every:
                return
            acc = float(self.model.evaluate(self.x, self.y, batch_size=self.batch_size,
                                            verbose=0, return_dict=True)["accuracy"])
            self.log.append((self._step, round(self.train_seconds, 3),
                             round(self.cpu_seconds, 3), acc))
            log.info("step %d, %.1f s: accuracy %.4f", self._step, self.train_seconds, acc)
            if self.seconds_to_target is None and acc >= self.target:
                self.seconds_to_target = self.train_seconds
                self.cpu_seconds_to_target = self.cpu_seconds
                if self.stop_at_target:
                    self.model.stop_training = True

    _TimeToAccuracy.__name__ = _TimeToAccuracy.__qualname__ = "TimeToAccuracy"
    _TimeToAccuracy.__module__ = __name__
    return _TimeToAccuracy


def __getattr__(name: str) -> Any:
    """Keras callback classes are defined on first use, so importing this module stays light.

    ``JsonHistoryLogger(path)`` and ``TimeToAccuracy(x, y, every=..., target=0.9)``.
    """
    if name == "JsonHistoryLogger":
        return _json_history_logger_class()
    if name == "TimeToAccuracy":
        return _time_to_accuracy_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# --- fit ---------------------------------------------------------------------------------

def _validation(data: ArrayDataset) -> tuple[np.ndarray, np.ndarray] | None:
    return (data.x_val, data.y_val) if len(data.y_val) else None


def fit(model: keras.Model, data: ArrayDataset, *, epochs: int, batch_size: int = 128,
        learning_rate: float = 1e-3, lr_schedule: str | None = None, early_stopping: bool = True,
        patience: int = 3, history_path: str | os.PathLike[str] | None = None,
        callbacks: Iterable[Any] = (), verbose: Any = "auto", optimizer: str = "adam",
        monitor: str | None = None, shuffle: bool = True) -> keras.callbacks.History:
    """``model.fit`` on an :class:`~dlweek.data.ArrayDataset` with sensible defaults.

    * compiles the model (``optimizer`` + sparse cross-entropy + accuracy) if it is not
      compiled yet; a model you compiled yourself is used as it is;
    * ``lr_schedule``: ``"cosine"`` (cosine decay from ``learning_rate``, 5% warm-up),
      ``"onecycle"`` (:func:`one_cycle`, ``learning_rate`` is the peak), ``"plateau"``
      (``ReduceLROnPlateau``), or None. Step-wise schedules need an uncompiled model; on a
      compiled one ``"cosine"``/``"onecycle"`` fall back to a per-epoch cosine callback;
    * ``EarlyStopping(restore_best_weights=True)`` on ``monitor`` (default ``val_loss``,
      ``loss`` when the dataset has no validation split);
    * :class:`JsonHistoryLogger` when ``history_path`` is given;
    * ``callbacks`` are appended, so anything Keras accepts composes.

    Validation uses ``data.x_val``/``data.y_val`` (never the test set).

    Returns:
        Keras's ``History`` (``history.history`` is the dict of per-epoch metrics).
    """
    keras = _keras()
    if lr_schedule not in LR_SCHEDULES:
        raise TrainingConfigError(f"Unknown lr_schedule {lr_schedule!r}; use one of "
                                  f"{', '.join(str(s) for s in LR_SCHEDULES)}.")
    if epochs < 1 or batch_size < 1:
        raise TrainingConfigError(f"epochs and batch_size must be >= 1 (got {epochs}, "
                                  f"{batch_size}).")
    steps = math.ceil(len(data.y_train) / batch_size) * epochs
    cbs: list[Any] = []
    if not _is_compiled(model):
        lr: Any = learning_rate
        if lr_schedule == "cosine":
            warm = max(1, steps // 20)
            lr = keras.optimizers.schedules.CosineDecay(
                learning_rate / 10, max(1, steps - warm), alpha=1e-3,
                warmup_target=learning_rate, warmup_steps=warm)
        elif lr_schedule == "onecycle":
            lr = one_cycle(learning_rate, steps)
        compile_model(model, learning_rate=lr, optimizer=optimizer)
    elif lr_schedule in ("cosine", "onecycle"):
        start = _to_float(model.optimizer.learning_rate)
        cbs.append(keras.callbacks.LearningRateScheduler(
            lambda epoch: start * 0.5 * (1 + math.cos(math.pi * epoch / epochs))))
    validation = _validation(data)
    watch = monitor or ("val_loss" if validation is not None else "loss")
    if lr_schedule == "plateau":
        cbs.append(keras.callbacks.ReduceLROnPlateau(monitor=watch, factor=0.3,
                                                     patience=max(1, patience // 2)))
    if early_stopping:
        cbs.append(keras.callbacks.EarlyStopping(monitor=watch, patience=patience,
                                                 restore_best_weights=True))
    if history_path is not None:
        cbs.append(_json_history_logger_class()(history_path))
    cbs.extend(callbacks)
    return model.fit(data.x_train, data.y_train, batch_size=batch_size, epochs=epochs,
                     validation_data=validation, callbacks=cbs, verbose=verbose,
                     shuffle=shuffle)


# --- custom loop -------------------------------------------------------------------------

def train_loop(model: keras.Model, x: np.ndarray, y: np.ndarray, *, epochs: int,
               batch_size: int, learning_rate: float, seed: int = config.DEFAULT_SEED,
               validation_data: tuple[np.ndarray, np.ndarray] | None = None,
               shuffle: bool = True, optimizer: str = "sgd") -> dict[str, list[float]]:
    """Train with an explicit ``tf.GradientTape`` loop: what ``model.fit`` does, spelled out.

    For each mini-batch: forward pass in training mode, sparse cross-entropy (+ the
    model's own regularisation losses), gradients by the tape, one optimizer step. With
    ``shuffle=False`` (and a model without dropout) it reproduces
    ``model.fit(..., shuffle=False)`` with the same optimizer to float round-off; with
    ``shuffle=True`` the batch order is a permutation drawn from ``seed`` each epoch.

    Returns:
        A history dict like ``History.history``: ``loss`` and ``accuracy`` per epoch
        (sample-weighted means of the per-batch values, as Keras reports them), plus
        ``val_loss``/``val_accuracy`` when ``validation_data`` is given.
    """
    import tensorflow as tf  # noqa: PLC0415

    keras = _keras()
    if epochs < 1 or batch_size < 1:
        raise TrainingConfigError("epochs and batch_size must be >= 1.")
    x, y = np.asarray(x), np.asarray(y)
    loss_fn = keras.losses.SparseCategoricalCrossentropy()
    opt = make_optimizer(optimizer, learning_rate)

    @tf.function(reduce_retracing=True)
    def step(xb: Any, yb: Any) -> tuple[Any, Any]:
        with tf.GradientTape() as tape:
            pred = model(xb, training=True)
            loss = loss_fn(yb, pred)
            if model.losses:
                loss = loss + tf.add_n(model.losses)
        grads = tape.gradient(loss, model.trainable_variables)
        opt.apply_gradients(zip(grads, model.trainable_variables, strict=True))
        correct = tf.cast(tf.equal(tf.argmax(pred, -1), tf.cast(yb, tf.int64)), tf.float32)
        return loss, tf.reduce_sum(correct)

    rng = np.random.default_rng(seed)
    history: dict[str, list[float]] = {"loss": [], "accuracy": []}
    for epoch in range(epochs):
        order = rng.permutation(len(y)) if shuffle else np.arange(len(y))
        total_loss, total_correct, seen = 0.0, 0.0, 0
        for start in range(0, len(y), batch_size):
            idx = order[start:start + batch_size]
            loss, correct = step(tf.constant(x[idx]), tf.constant(y[idx]))
            total_loss += float(loss) * len(idx)
            total_correct += float(correct)
            seen += len(idx)
        history["loss"].append(total_loss / seen)
        history["accuracy"].append(total_correct / seen)
        if validation_data is not None:
            vl, va = _evaluate(model, *validation_data, loss_fn=loss_fn)
            history.setdefault("val_loss", []).append(vl)
            history.setdefault("val_accuracy", []).append(va)
        log.info("epoch %d/%d: %s", epoch + 1, epochs,
                 ", ".join(f"{k}={v[-1]:.4f}" for k, v in history.items()))
    return history


def _evaluate(model: keras.Model, x: np.ndarray, y: np.ndarray, *, loss_fn: Any,
              batch_size: int = 512) -> tuple[float, float]:
    losses, correct = 0.0, 0
    for start in range(0, len(y), batch_size):
        xb, yb = x[start:start + batch_size], y[start:start + batch_size]
        pred = model(xb, training=False)
        losses += float(loss_fn(yb, pred)) * len(yb)
        correct += int(np.sum(np.argmax(np.asarray(pred), -1) == yb))
    return losses / len(y), correct / len(y)


# --- sweeps ------------------------------------------------------------------------------

def _build(build_fn: Callable[..., keras.Model], data: ArrayDataset) -> keras.Model:
    """Call ``build_fn()`` or ``build_fn(input_shape, num_classes)`` (every dlweek builder)."""
    try:
        params = [p for p in inspect.signature(build_fn).parameters.values()
                  if p.default is inspect.Parameter.empty
                  and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        params = []
    if len(params) >= 2:
        return build_fn(data.input_shape, data.num_classes)
    return build_fn()


def sweep(build_fn: Callable[..., keras.Model], data: ArrayDataset, param: str,
          values: Sequence[float | int], *, epochs: int = 3, batch_size: int = 128,
          learning_rate: float = 1e-3, seed: int = config.DEFAULT_SEED,
          optimizer: str = "adam", verbose: Any = 0) -> pd.DataFrame:
    """Train a fresh model per value of one hyper-parameter and tabulate the results.

    Each run is seeded with ``seed`` (same initial weights, same batch order), has no early
    stopping and no schedule, so only ``param`` changes. For ``param="epochs"`` one model
    is trained for ``max(values)`` epochs and read off after each requested epoch (same
    numbers as separate runs, a fraction of the time).

    Args:
        build_fn: a dlweek builder (called with ``data.input_shape, data.num_classes``) or a
            zero-argument function returning an uncompiled model.
        param: ``"learning_rate"``, ``"batch_size"`` or ``"epochs"``.
        values: the values to try.

    Returns:
        A tidy DataFrame, one row per value, columns ``SWEEP_COLUMNS``: param, value,
        epochs, batch_size, learning_rate, train_loss, train_accuracy, val_loss,
        val_accuracy, seconds (training wall time).
    """
    import pandas as pd  # noqa: PLC0415

    if param not in SWEEP_PARAMS:
        raise TrainingConfigError(f"Unknown sweep param {param!r}; use one of "
                                  f"{', '.join(SWEEP_PARAMS)}.")
    if not len(values):
        raise TrainingConfigError("sweep needs at least one value.")
    validation = _validation(data)
    rows: list[dict[str, Any]] = []

    def run(ep: int, bs: int, lr: float) -> tuple[Any, list[float]]:
        config.seed_everything(seed)
        model = compile_model(_build(build_fn, data), learning_rate=lr, optimizer=optimizer)
        timer = _epoch_timer()
        hist = model.fit(data.x_train, data.y_train, batch_size=int(bs), epochs=int(ep),
                         validation_data=validation, verbose=verbose, callbacks=[timer])
        return hist.history, timer.seconds

    def row(value: Any, ep: int, bs: int, lr: float, h: dict, i: int, secs: float) -> dict:
        def get(key: str) -> float:
            return float(h[key][i]) if key in h else float("nan")

        return {"param": param, "value": value, "epochs": int(ep), "batch_size": int(bs),
                "learning_rate": float(lr), "train_loss": get("loss"),
                "train_accuracy": get("accuracy"), "val_loss": get("val_loss"),
                "val_accuracy": get("val_accuracy"), "seconds": float(secs)}

    if param == "epochs":
        wanted = [int(v) for v in values]
        h, secs = run(max(wanted), batch_size, learning_rate)
        cum = np.cumsum(secs)
        for ep in wanted:
            rows.append(row(ep, ep, batch_size, learning_rate, h, ep - 1, cum[ep - 1]))
    else:
        for v in values:
            bs = int(v) if param == "batch_size" else batch_size
            lr = float(v) if param == "learning_rate" else learning_rate
            h, secs = run(epochs, bs, lr)
            rows.append(row(v, epochs, bs, lr, h, -1, sum(secs)))
    return pd.DataFrame(rows, columns=SWEEP_COLUMNS)


def _epoch_timer() -> Any:
    base = _callback_base()

    class EpochTimer(base):  # type: ignore[misc, valid-type]
        def __init__(self) -> None:
            super().__init__()
            self.seconds: list[float] = []
            self._t0 = 0.0

        def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
            self._t0 = time.perf_counter()

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            self.seconds.append(time.perf_counter() - self._t0)

    return EpochTimer()

"""Metrics on top of scikit-learn, and plots that return a matplotlib ``Figure``.

Every plot function builds its own :class:`matplotlib.figure.Figure` (never through
``pyplot``), so nothing is drawn twice, nothing leaks between notebook cells, and tests can
inspect the axes. In Jupyter a returned figure displays when it is the cell's last
expression; elsewhere call ``fig.savefig("plot.png")``.

Probabilities are ``(N, K)`` arrays (one column per class, also for two classes); a
single-column sigmoid output ``(N,)`` or ``(N, 1)`` is accepted and turned into two columns.

Example:
    >>> proba = predict_proba(model, ds.x_test)                       # doctest: +SKIP
    >>> plot_confusion_matrix(ds.y_test, proba.argmax(1), ds.class_names)  # doctest: +SKIP
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from sklearn import metrics as skm

log = logging.getLogger(__name__)

Array = np.ndarray
MISTAKE_COLOR = "tab:red"
CORRECT_COLOR = "tab:green"


# --- predictions and metrics -------------------------------------------------------------


def _softmax(z: Array) -> Array:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def as_proba(proba: Array) -> Array:
    """Return probabilities as ``(N, K)``; a binary ``(N,)``/``(N, 1)`` output becomes 2 columns."""
    p = np.asarray(proba, dtype=np.float64)
    if p.ndim == 1 or (p.ndim == 2 and p.shape[1] == 1):
        p = p.reshape(-1)
        return np.stack([1.0 - p, p], axis=1)
    if p.ndim != 2:
        raise ValueError(f"Expected probabilities of shape (N, K) or (N,), got {p.shape}.")
    return p


def predict_proba(model: Any, x: Array, batch_size: int = 256, *,
                  from_logits: bool = False) -> Array:
    """Class probabilities ``(N, K)`` of a model on raw images, batch by batch.

    Keras models go through ``model.predict_on_batch`` (no progress bar, no retracing per
    call); objects with only ``predict`` (or ``predict_proba``, e.g. :class:`ScratchMLP`,
    scikit-learn) are called once on all of ``x``.

    Args:
        model: a Keras model (any object with ``predict_on_batch`` or ``predict``).
        x: inputs, e.g. raw ``uint8`` images (N, H, W, C) — Keras models scale their input.
        batch_size: examples per ``predict_on_batch`` call.
        from_logits: apply softmax to the outputs (for models without a softmax layer).
    """
    x = np.asarray(x)
    if hasattr(model, "predict_on_batch"):
        chunks = [np.asarray(model.predict_on_batch(x[lo:lo + batch_size]))
                  for lo in range(0, len(x), batch_size)]
        out = np.concatenate(chunks) if chunks else np.zeros((0, 0))
    elif hasattr(model, "predict_proba"):
        out = np.asarray(model.predict_proba(x))
    elif hasattr(model, "predict"):
        out = np.asarray(model.predict(x))
    else:
        raise TypeError(f"{type(model).__name__} has no predict_on_batch/predict/predict_proba.")
    if from_logits:
        out = _softmax(out.reshape(len(out), -1)) if out.ndim > 1 and out.shape[-1] > 1 else (
            1.0 / (1.0 + np.exp(-out.reshape(-1))))
    if out.ndim == 2 and out.shape[1] == 1:
        return as_proba(out)
    return out


def _labels(y: Array | Sequence[int]) -> Array:
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] > 1:  # one-hot or probabilities
        y = y.argmax(axis=1)
    return y.reshape(-1).astype(np.int64)


def accuracy(y_true: Array | Sequence[int], y_pred: Array | Sequence[int]) -> float:
    """Fraction of correct predictions; ``y_pred`` may be labels or probabilities (N, K)."""
    return float(skm.accuracy_score(_labels(y_true), _labels(y_pred)))


def _num_classes(class_names: Sequence[str] | None, *ys: Array) -> int:
    if class_names is not None:
        return len(class_names)
    return int(max(int(np.max(y)) for y in ys if len(y)) + 1)


def _names(class_names: Sequence[str] | None, k: int) -> list[str]:
    return [str(c) for c in class_names] if class_names is not None else [str(i)
                                                                           for i in range(k)]


def confusion(y_true: Array | Sequence[int], y_pred: Array | Sequence[int],
              normalize: str | None = None, *, num_classes: int | None = None) -> Array:
    """Confusion matrix (rows: true class, columns: predicted class), by scikit-learn.

    Args:
        y_true, y_pred: integer labels (or probabilities, reduced by argmax).
        normalize: ``None`` (counts), ``"true"`` (each row sums to 1), ``"pred"`` or ``"all"``.
        num_classes: force a ``K x K`` matrix even when a class never occurs.
    """
    yt, yp = _labels(y_true), _labels(y_pred)
    k = num_classes or _num_classes(None, yt, yp)
    return skm.confusion_matrix(yt, yp, labels=np.arange(k), normalize=normalize)


def _new_figure(nrows: int = 1, ncols: int = 1, figsize: tuple[float, float] = (6, 5),
                **kwargs: Any) -> tuple[Figure, Any]:
    fig = Figure(figsize=figsize, layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False, **kwargs)
    return fig, axes


def _figure_and_axes(ax: Axes | None, figsize: tuple[float, float]) -> tuple[Figure, Axes]:
    """The caller's axes and its figure, or a new one-axes figure of ``figsize``."""
    if ax is not None:
        return ax.figure, ax  # type: ignore[return-value]
    fig, axes = _new_figure(figsize=figsize)
    return fig, axes[0, 0]


def plot_confusion_matrix(y_true: Array | Sequence[int], y_pred: Array | Sequence[int],
                          class_names: Sequence[str] | None = None,
                          normalize: bool | str = False, *, ax: Axes | None = None,
                          cmap: str = "Blues") -> Figure:
    """A seaborn heatmap of the confusion matrix, counts or normalized per true class.

    Args:
        normalize: ``False`` (counts), ``True``/``"true"`` (rows sum to 1), ``"pred"``, ``"all"``.
        ax: draw into this axes instead of a new figure.
    """
    import seaborn as sns

    mode = "true" if normalize is True else (normalize or None)
    yt, yp = _labels(y_true), _labels(y_pred)
    k = _num_classes(class_names, yt, yp)
    cm = confusion(yt, yp, mode, num_classes=k)
    names = _names(class_names, k)
    size = max(5.0, 0.55 * k + 2.5)
    fig, ax = _figure_and_axes(ax, (size + 1, size))
    sns.heatmap(cm, annot=k <= 20, fmt=".2f" if mode else "d", cmap=cmap, square=True,
                xticklabels=names, yticklabels=names, cbar=True, ax=ax,
                vmin=0, vmax=1 if mode else None, annot_kws={"fontsize": 8})
    ax.set_xlabel("Predicted label")
    ax.set_ylabel("True label")
    ax.set_title(f"Confusion matrix ({'normalized by ' + mode if mode else 'counts'}, "
                 f"accuracy {accuracy(yt, yp):.3f})")
    ax.tick_params(axis="x", labelrotation=45)
    ax.tick_params(axis="y", labelrotation=0)
    return fig


def _one_hot(y: Array, k: int) -> Array:
    out = np.zeros((len(y), k), dtype=np.int64)
    out[np.arange(len(y)), y] = 1
    return out


def _check_proba(y_true: Array | Sequence[int], proba: Array) -> tuple[Array, Array, int]:
    yt, p = _labels(y_true), as_proba(proba)
    if len(yt) != len(p):
        raise ValueError(f"{len(yt)} labels but {len(p)} rows of probabilities.")
    if yt.max(initial=0) >= p.shape[1]:
        raise ValueError(f"Labels go up to {yt.max()} but proba has only {p.shape[1]} columns.")
    return yt, p, p.shape[1]


def roc_curves(y_true: Array | Sequence[int], proba: Array,
               class_names: Sequence[str] | None = None) -> dict[str, tuple[Array, Array, float]]:
    """One-vs-rest ROC curves: ``{name: (fpr, tpr, auc)}`` per class, plus ``"micro"`` and
    ``"macro"`` (the mean TPR over the union of FPR points; its AUC is the mean per-class AUC,
    as :func:`sklearn.metrics.roc_auc_score` with ``average="macro"``).

    A class with no positive example gets ``nan`` AUC and is left out of the macro average.
    """
    yt, p, k = _check_proba(y_true, proba)
    onehot = _one_hot(yt, k)
    names = _names(class_names, k)
    curves: dict[str, tuple[Array, Array, float]] = {}
    valid = []
    for i, name in enumerate(names):
        if onehot[:, i].min() == onehot[:, i].max():
            curves[name] = (np.array([0.0, 1.0]), np.array([0.0, 1.0]), float("nan"))
            continue
        fpr, tpr, _ = skm.roc_curve(onehot[:, i], p[:, i])
        curves[name] = (fpr, tpr, float(skm.auc(fpr, tpr)))
        valid.append(name)
    fpr, tpr, _ = skm.roc_curve(onehot.ravel(), p.ravel())
    curves["micro"] = (fpr, tpr, float(skm.auc(fpr, tpr)))
    grid = np.unique(np.concatenate([curves[n][0] for n in valid])) if valid else np.array([0., 1.])
    mean_tpr = (np.mean([np.interp(grid, curves[n][0], curves[n][1]) for n in valid], axis=0)
                if valid else grid.copy())
    curves["macro"] = (grid, mean_tpr, float(np.mean([curves[n][2] for n in valid]))
                       if valid else float("nan"))
    return curves


def roc_auc(y_true: Array | Sequence[int], proba: Array,
            class_names: Sequence[str] | None = None) -> dict[str, float]:
    """ROC AUC per class (one-vs-rest), ``"micro"`` and ``"macro"``; keys are class names
    (or ``"0"``, ``"1"``, ...). For two classes every entry equals the binary AUC
    ``roc_auc_score(y, proba[:, 1])``.
    """
    return {name: c[2] for name, c in roc_curves(y_true, proba, class_names).items()}


def average_precision(y_true: Array | Sequence[int], proba: Array,
                      class_names: Sequence[str] | None = None) -> dict[str, float]:
    """Average precision (area under the PR curve, scikit-learn's step-wise definition) per
    class, ``"micro"`` and ``"macro"``."""
    yt, p, k = _check_proba(y_true, proba)
    onehot = _one_hot(yt, k)
    out = {name: float(skm.average_precision_score(onehot[:, i], p[:, i]))
           if onehot[:, i].any() else float("nan")
           for i, name in enumerate(_names(class_names, k))}
    out["micro"] = float(skm.average_precision_score(onehot.ravel(), p.ravel()))
    out["macro"] = float(np.nanmean([out[n] for n in _names(class_names, k)]))
    return out


def plot_roc(y_true: Array | Sequence[int], proba: Array,
             class_names: Sequence[str] | None = None, *, ax: Axes | None = None) -> Figure:
    """One-vs-rest ROC curves: one line per class, micro and macro averages (dashed) and the
    chance diagonal — ``K + 3`` lines, each labelled with its AUC."""
    curves = roc_curves(y_true, proba, class_names)
    fig, ax = _figure_and_axes(ax, (6.5, 5.5))
    colors = _palette(len(curves) - 2)
    for (name, (fpr, tpr, area)), color in zip(list(curves.items())[:-2], colors, strict=True):
        ax.plot(fpr, tpr, lw=1.2, color=color, label=f"{name} (AUC {area:.3f})")
    for name, style in (("micro", ":"), ("macro", "--")):
        fpr, tpr, area = curves[name]
        ax.plot(fpr, tpr, lw=2.5, ls=style, color="black" if name == "micro" else "tab:gray",
                label=f"{name}-average (AUC {area:.3f})")
    ax.plot([0, 1], [0, 1], color="lightgray", lw=1, ls="-", label="chance (AUC 0.5)")
    ax.set(xlim=(-0.01, 1.0), ylim=(0.0, 1.01), xlabel="False positive rate",
           ylabel="True positive rate", title="ROC curves (one-vs-rest)")
    ax.legend(loc="lower right", fontsize="small")
    return fig


def plot_precision_recall(y_true: Array | Sequence[int], proba: Array,
                          class_names: Sequence[str] | None = None, *,
                          ax: Axes | None = None) -> Figure:
    """Precision-recall curves per class (one-vs-rest) plus the micro average — ``K + 1``
    lines, each labelled with its average precision (AP)."""
    yt, p, k = _check_proba(y_true, proba)
    onehot = _one_hot(yt, k)
    names = _names(class_names, k)
    ap = average_precision(yt, p, class_names)
    fig, ax = _figure_and_axes(ax, (6.5, 5.5))
    for i, (name, color) in enumerate(zip(names, _palette(k), strict=True)):
        prec, rec, _ = skm.precision_recall_curve(onehot[:, i], p[:, i])
        ax.plot(rec, prec, lw=1.2, color=color, drawstyle="steps-post",
                label=f"{name} (AP {ap[name]:.3f})")
    prec, rec, _ = skm.precision_recall_curve(onehot.ravel(), p.ravel())
    ax.plot(rec, prec, lw=2.5, ls=":", color="black", drawstyle="steps-post",
            label=f"micro-average (AP {ap['micro']:.3f})")
    ax.set(xlim=(0.0, 1.01), ylim=(0.0, 1.02), xlabel="Recall", ylabel="Precision",
           title="Precision-recall curves (one-vs-rest)")
    ax.legend(loc="lower left", fontsize="small")
    return fig


def classification_report_df(y_true: Array | Sequence[int], y_pred: Array | Sequence[int],
                             class_names: Sequence[str] | None = None) -> pd.DataFrame:
    """scikit-learn's classification report as a DataFrame: one row per class plus
    ``accuracy``, ``macro avg`` and ``weighted avg``; columns precision, recall, f1-score,
    support."""
    yt, yp = _labels(y_true), _labels(y_pred)
    k = _num_classes(class_names, yt, yp)
    report = skm.classification_report(yt, yp, labels=np.arange(k),
                                       target_names=_names(class_names, k),
                                       output_dict=True, zero_division=0)
    df = pd.DataFrame(report).T
    if "accuracy" in df.index:  # sklearn stores accuracy as a bare number
        df.loc["accuracy"] = [np.nan, np.nan, accuracy(yt, yp), len(yt)]
    df["support"] = df["support"].astype(int)
    return df


def _palette(n: int) -> list[Any]:
    import seaborn as sns

    return list(sns.color_palette("tab10" if n <= 10 else "husl", n))


# --- training curves and sweeps ----------------------------------------------------------


def _history_dict(history: Any) -> dict[str, list[float]]:
    if hasattr(history, "history") and isinstance(history.history, Mapping):
        history = history.history
    if isinstance(history, pd.DataFrame):
        history = history.to_dict(orient="list")
    if not isinstance(history, Mapping):
        raise TypeError("plot_history needs a keras History, or a dict of metric -> list of "
                        f"per-epoch values; got {type(history).__name__}.")
    return {str(k): [float(v) for v in np.ravel(vals)] for k, vals in history.items()}


def plot_history(history_or_dict: Any, metrics: Sequence[str] = ("loss", "accuracy")) -> Figure:
    """Training curves: one panel per metric, train (solid) vs validation (dashed) by epoch.

    Args:
        history_or_dict: a ``keras.callbacks.History``, its ``.history`` dict, a DataFrame,
            or the history dicts of :mod:`dlweek.scratch` and :mod:`dlweek.torch_tools`.
        metrics: which metrics to draw (those missing from the history are skipped).
    """
    hist = _history_dict(history_or_dict)
    present = [m for m in metrics if m in hist or f"val_{m}" in hist]
    if not present:
        raise ValueError(f"None of {list(metrics)} is in the history (it has {list(hist)}).")
    fig, axes = _new_figure(1, len(present), figsize=(5.0 * len(present), 4.0))
    for ax, metric in zip(axes[0], present, strict=True):
        for key, style, label in ((metric, "-", "train"), (f"val_{metric}", "--", "validation")):
            if key in hist:
                values = hist[key]
                ax.plot(np.arange(1, len(values) + 1), values, style, marker="o", ms=3,
                        label=label)
        ax.set(xlabel="epoch", ylabel=metric, title=metric.replace("_", " "))
        ax.grid(alpha=0.3)
        ax.legend()
    return fig


def plot_sweep(df: pd.DataFrame, param: str | None = None,
               metric: str = "val_accuracy") -> Figure:
    """Plot a hyper-parameter sweep (the DataFrame of :func:`dlweek.training.sweep`).

    The x axis is ``value`` (log scale for learning rates), the y axis ``metric`` and, when
    ``metric`` starts with ``val_``, the training counterpart too. A second panel shows the
    seconds per run when the frame has them.

    Args:
        df: columns ``param, value, ...metrics..., seconds``.
        param: which swept parameter to show (default: the only one in ``df``).
        metric: e.g. ``"val_accuracy"`` or ``"val_loss"``.
    """
    if "param" in df.columns:
        params = list(dict.fromkeys(df["param"]))
        param = param or (params[0] if len(params) == 1 else None)
        if param is None:
            raise ValueError(f"The sweep has several parameters {params}; pass param=.")
        df = df[df["param"] == param]
    if df.empty:
        raise ValueError(f"No rows for param={param!r} in the sweep.")
    if metric not in df.columns:
        raise ValueError(f"Column {metric!r} is not in the sweep (columns: {list(df.columns)}).")
    xcol = "value" if "value" in df.columns else param
    data = df.sort_values(xcol)
    x = data[xcol].astype(float).to_numpy()
    panels = 2 if "seconds" in data.columns else 1
    fig, axes = _new_figure(1, panels, figsize=(5.5 * panels, 4.0))
    ax = axes[0, 0]
    ax.plot(x, data[metric], "o-", label=metric.replace("_", " "))
    train_metric = "train_" + metric[4:] if metric.startswith("val_") else None
    if train_metric and train_metric in data.columns:
        ax.plot(x, data[train_metric], "s--", label=train_metric.replace("_", " "))
    log_x = param in ("learning_rate", "lr") or (len(x) > 2 and x.min() > 0
                                                  and x.max() / x.min() >= 100)
    if log_x:
        ax.set_xscale("log")
    best = int(np.argmin(data[metric]) if "loss" in metric else np.argmax(data[metric]))
    ax.annotate(f"best {data[metric].iloc[best]:.3f}", (x[best], data[metric].iloc[best]),
                textcoords="offset points", xytext=(5, 8), fontsize="small")
    ax.set(xlabel=str(param), ylabel=metric, title=f"{metric} vs {param}")
    ax.grid(alpha=0.3)
    ax.legend()
    if panels == 2:
        ax2 = axes[0, 1]
        ax2.bar(range(len(x)), data["seconds"], color="tab:gray")
        ax2.set_xticks(range(len(x)), [f"{v:g}" for v in x])
        ax2.set(xlabel=str(param), ylabel="seconds", title="training time per run")
    return fig


# --- images ------------------------------------------------------------------------------


def _show_image(ax: Axes, image: Array) -> None:
    img = np.asarray(image)
    if img.ndim == 3 and img.shape[-1] == 1:
        img = img[..., 0]
    if img.ndim == 2:
        ax.imshow(img, cmap="gray", vmin=0, vmax=255 if img.dtype == np.uint8 else None)
    else:
        if img.dtype != np.uint8:
            lo, hi = float(img.min()), float(img.max())
            img = (img - lo) / (hi - lo) if hi > lo else np.zeros_like(img)
        ax.imshow(img)
    ax.set_xticks([])
    ax.set_yticks([])


def plot_image_grid(images: Array, y_true: Array | Sequence[int] | None = None,
                    y_pred: Array | Sequence[int] | None = None,
                    class_names: Sequence[str] | None = None, ncols: int = 8,
                    max_images: int = 32, probs: Array | None = None,
                    title: str | None = None) -> Figure:
    """A grid of images titled with their labels; wrong predictions in red.

    Args:
        images: ``uint8`` (N, H, W, C) (grayscale or RGB) or float images.
        y_true: true labels (optional).
        y_pred: predicted labels (optional); with ``y_true`` a title is green when right and
            red when wrong.
        class_names: label names.
        ncols, max_images: layout; the first ``max_images`` images are shown.
        probs: the predicted class's confidence (N,) or the probabilities (N, K).
        title: an optional title over the grid.
    """
    images = np.asarray(images)
    n = min(len(images), max_images)
    if n == 0:
        raise ValueError("plot_image_grid got no images.")
    ncols = max(1, min(ncols, n))
    nrows = int(np.ceil(n / ncols))
    fig, axes = _new_figure(nrows, ncols, figsize=(1.6 * ncols, 1.9 * nrows))

    def name(i: int) -> str:
        return str(class_names[i]) if class_names is not None else str(i)

    yt = None if y_true is None else _labels(y_true)
    yp = None if y_pred is None else _labels(y_pred)
    conf = None
    if probs is not None:
        pr = np.asarray(probs)
        if pr.ndim == 2:
            conf = pr[np.arange(len(pr)), yp] if yp is not None else pr.max(axis=1)
        else:
            conf = pr.reshape(-1)
    for i, ax in enumerate(axes.ravel()):
        if i >= n:
            ax.axis("off")
            continue
        _show_image(ax, images[i])
        lines, color = [], "black"
        if yt is not None:
            lines.append(f"true: {name(int(yt[i]))}")
        if yp is not None:
            pred = f"pred: {name(int(yp[i]))}"
            if conf is not None:
                pred += f" ({conf[i]:.2f})"
            lines.append(pred)
            if yt is not None:
                color = MISTAKE_COLOR if yt[i] != yp[i] else CORRECT_COLOR
                if yt[i] != yp[i]:
                    for spine in ax.spines.values():
                        spine.set_edgecolor(MISTAKE_COLOR)
                        spine.set_linewidth(2.5)
        ax.set_title("\n".join(lines), fontsize=8, color=color)
    if title:
        fig.suptitle(title)
    return fig


def worst_mistakes(y_true: Array | Sequence[int], proba: Array, k: int = 16) -> Array:
    """Indices of the ``k`` most confident wrong predictions, most confident first."""
    yt, p, _ = _check_proba(y_true, proba)
    pred = p.argmax(axis=1)
    wrong = np.flatnonzero(pred != yt)
    conf = p[wrong, pred[wrong]]
    return wrong[np.argsort(-conf, kind="stable")][:k]


# --- Day 1: activations and architecture -------------------------------------------------


def plot_activations(z: Array | None = None) -> Figure:
    """ReLU, sigmoid, tanh and softmax (solid) with their derivatives (dashed), one panel each.

    Softmax maps a vector, so its panel shows ``softmax([z, 0, -1])``: the first output as
    ``z`` varies, the other two outputs, and the derivative ``d s_0 / d z = s_0 (1 - s_0)``.
    """
    from dlweek import scratch

    z = np.linspace(-5, 5, 401) if z is None else np.asarray(z, dtype=np.float64)
    fig, axes = _new_figure(1, 4, figsize=(16, 3.8), sharex=True)
    for ax, (label, f, df) in zip(axes[0], (
            ("ReLU", scratch.relu, scratch.relu_grad),
            ("Sigmoid", scratch.sigmoid, scratch.sigmoid_grad),
            ("Tanh", scratch.tanh, scratch.tanh_grad)), strict=False):
        ax.plot(z, f(z), lw=2, label=f"{label.lower()}(z)")
        ax.plot(z, df(z), "--", lw=2, label=f"{label.lower()}'(z)")
        ax.set_title(label)
    ax = axes[0, 3]
    logits = np.stack([z, np.zeros_like(z), -np.ones_like(z)], axis=1)
    s = scratch.softmax(logits, axis=1)
    ax.plot(z, s[:, 0], lw=2, label="softmax(z, 0, -1)[0]")
    ax.plot(z, s[:, 1], lw=1, alpha=0.6, label="[1] (logit 0)")
    ax.plot(z, s[:, 2], lw=1, alpha=0.6, label="[2] (logit -1)")
    ax.plot(z, s[:, 0] * (1 - s[:, 0]), "--", lw=2, label="d s0 / dz")
    ax.set_title("Softmax")
    for ax in axes[0]:
        ax.axhline(0, color="gray", lw=0.5)
        ax.axvline(0, color="gray", lw=0.5)
        ax.set_xlabel("z")
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small", loc="upper left")
    return fig


def _keras_layer_boxes(model: Any) -> list[tuple[str, str]]:
    rows = []
    for layer in model.layers:
        try:
            shape = tuple(layer.output.shape)[1:]
        except (AttributeError, ValueError):
            shape = ()
        rows.append((f"{layer.name} ({type(layer).__name__})",
                     f"out {shape}  params {layer.count_params():,}"))
    return rows


def plot_architecture(layer_sizes: Sequence[int] | Any, labels: Sequence[str] | None = None,
                      *, max_neurons: int = 8, title: str | None = None) -> Figure:
    """Draw a network: neurons and edges for a list of layer sizes, or boxes for a Keras model.

    Args:
        layer_sizes: e.g. ``(784, 128, 10)`` (input, hidden..., output), or a built Keras
            model (one box per layer with its output shape and parameter count).
        labels: one caption per layer (default: "input", "hidden 1", ..., "output").
        max_neurons: draw at most this many neurons per layer (the rest are "⋮").
        title: figure title (default: the sizes joined by arrows).

    Example:
        >>> fig = plot_architecture((784, 128, 10))
        >>> len(fig.axes)
        1
    """
    if hasattr(layer_sizes, "layers"):
        rows = _keras_layer_boxes(layer_sizes)
        fig, axes = _new_figure(figsize=(7, 0.7 * len(rows) + 1))
        ax = axes[0, 0]
        ax.set_xlim(0, 1)
        ax.set_ylim(-0.5, len(rows) - 0.5)
        ax.invert_yaxis()
        for i, (name, detail) in enumerate(rows):
            ax.add_patch(_box(0.05, i - 0.35, 0.9, 0.7))
            ax.text(0.5, i - 0.08, name, ha="center", va="center", fontsize=9, weight="bold")
            ax.text(0.5, i + 0.2, detail, ha="center", va="center", fontsize=8)
            if i:
                ax.annotate("", (0.5, i - 0.35), (0.5, i - 0.65),
                            arrowprops={"arrowstyle": "->"})
        ax.axis("off")
        ax.set_title(title or f"{getattr(layer_sizes, 'name', 'model')}: "
                     f"{layer_sizes.count_params():,} parameters")
        return fig
    sizes = [int(s) for s in layer_sizes]
    if len(sizes) < 2:
        raise ValueError("plot_architecture needs at least an input and an output layer size.")
    n_layers = len(sizes)
    if labels is None:
        labels = ["input"] + [f"hidden {i}" for i in range(1, n_layers - 1)] + ["output"]
    fig, axes = _new_figure(figsize=(2.4 * n_layers + 1, 5.5))
    ax = axes[0, 0]
    shown = [min(s, max_neurons) for s in sizes]
    ys: list[Array] = []
    for s, show in zip(sizes, shown, strict=True):
        pos = np.linspace(0.9, 0.1, show) if show > 1 else np.array([0.5])
        if s > show:  # leave a gap for the ellipsis
            pos = np.concatenate([np.linspace(0.92, 0.58, show // 2),
                                  np.linspace(0.42, 0.08, show - show // 2)])
        ys.append(pos)
    for i in range(n_layers - 1):
        for y0 in ys[i]:
            for y1 in ys[i + 1]:
                ax.plot([i, i + 1], [y0, y1], color="gray", lw=0.4, alpha=0.5, zorder=1)
    colors = ["tab:blue"] + ["tab:orange"] * (n_layers - 2) + ["tab:green"]
    for i, (s, pos) in enumerate(zip(sizes, ys, strict=True)):
        ax.scatter(np.full(len(pos), i), pos, s=260, color=colors[i], edgecolor="black",
                   zorder=3)
        if s > len(pos):
            ax.text(i, 0.5, "⋮", ha="center", va="center", fontsize=18)
        ax.text(i, -0.04, f"{labels[i]}\n{s} units", ha="center", va="top", fontsize=10)
    params = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:], strict=True))
    ax.set_xlim(-0.5, n_layers - 0.5)
    ax.set_ylim(-0.2, 1.02)
    ax.axis("off")
    ax.set_title(title or " → ".join(map(str, sizes)) + f"  ({params:,} parameters)")
    return fig


def _box(x: float, y: float, w: float, h: float) -> Any:
    from matplotlib.patches import FancyBboxPatch

    return FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0.02", facecolor="#dbe9f6",
                          edgecolor="#2b6ca3")


# --- Day 6: what a CNN sees --------------------------------------------------------------


def _conv_layers(model: Any) -> list[Any]:
    import keras

    return [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]


def plot_feature_maps(model: Any, image: Array, layer_names: Sequence[str] | None = None,
                      *, max_maps: int = 8) -> Figure:
    """Activations of a Keras model's conv layers for one image: a row per layer.

    Args:
        model: a built Keras model (Sequential or functional) with ``Conv2D`` layers at the
            top level.
        image: one raw image (H, W, C) as the model takes it (the model scales it).
        layer_names: layers to show (default: every ``Conv2D`` layer).
        max_maps: channels shown per layer (the first ones).
    """
    import keras

    img = np.asarray(image)
    if img.ndim == len(model.input_shape) - 1:
        img = img[None]
    img = img.astype("float32")
    if layer_names is None:
        layer_names = [layer.name for layer in _conv_layers(model)]
    if not layer_names:
        raise ValueError("The model has no top-level Conv2D layer; pass layer_names=[...].")
    try:
        inputs = model.inputs
    except (AttributeError, ValueError):
        inputs = None
    if not inputs:
        model(img)  # build a Sequential model defined without an Input
        inputs = model.inputs
    probe = keras.Model(inputs=inputs, outputs=[model.get_layer(n).output for n in layer_names])
    outs = probe.predict_on_batch(img)
    if not isinstance(outs, (list, tuple)):
        outs = [outs]
    ncols = max_maps + 1
    fig, axes = _new_figure(len(layer_names), ncols,
                            figsize=(1.5 * ncols, 1.6 * len(layer_names)))
    for row, (name, out) in enumerate(zip(layer_names, outs, strict=True)):
        fmap = np.asarray(out)[0]
        _show_image(axes[row, 0], np.asarray(image))
        axes[row, 0].set_ylabel(f"{name}\n{fmap.shape[0]}×{fmap.shape[1]}×{fmap.shape[-1]}",
                                fontsize=8)
        for c in range(max_maps):
            ax = axes[row, c + 1]
            ax.set_xticks([])
            ax.set_yticks([])
            if c < fmap.shape[-1]:
                ax.imshow(fmap[..., c], cmap="viridis")
                if row == 0:
                    ax.set_title(f"channel {c}", fontsize=8)
            else:
                ax.axis("off")
    fig.suptitle("Feature maps (input on the left)")
    return fig


def plot_filters(model_or_layer: Any, max_filters: int = 32, ncols: int = 8) -> Figure:
    """The kernels of the first Conv2D layer (or of the given layer), one tile per filter.

    RGB kernels (3 input channels) are shown in colour, others as the mean over input
    channels in grayscale; each tile is min-max scaled on its own.
    """
    import keras

    layer = model_or_layer
    if not isinstance(layer, keras.layers.Conv2D):
        convs = _conv_layers(model_or_layer)
        if not convs:
            raise ValueError("No top-level Conv2D layer found; pass the layer itself.")
        layer = convs[0]
    kernel = np.asarray(keras.ops.convert_to_numpy(layer.kernel))  # (kh, kw, in, out)
    n = min(kernel.shape[-1], max_filters)
    ncols = max(1, min(ncols, n))
    nrows = int(np.ceil(n / ncols))
    fig, axes = _new_figure(nrows, ncols, figsize=(1.3 * ncols, 1.4 * nrows + 0.4))
    for i, ax in enumerate(axes.ravel()):
        ax.set_xticks([])
        ax.set_yticks([])
        if i >= n:
            ax.axis("off")
            continue
        k = kernel[..., i]
        k = k if k.shape[-1] == 3 else k.mean(axis=-1)
        lo, hi = float(k.min()), float(k.max())
        k = (k - lo) / (hi - lo) if hi > lo else np.zeros_like(k)
        ax.imshow(k, cmap=None if k.ndim == 3 else "gray", interpolation="nearest")
        ax.set_title(str(i), fontsize=7)
    fig.suptitle(f"{layer.name}: {kernel.shape[-1]} filters of "
                 f"{kernel.shape[0]}×{kernel.shape[1]}×{kernel.shape[2]}")
    return fig

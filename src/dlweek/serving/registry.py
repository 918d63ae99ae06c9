"""Which models the service runs: spec parsing, offline pre-flight checks, loading, readiness.

A model spec is one of:

- the name of a shipped bundle (``cats_vs_dogs``, ``cifar10_cnn``),
- a path to a bundle folder (``model.keras`` + ``metadata.json``),
- ``imagenet:resnet50`` or ``imagenet:mobilenet_v2``: ``keras.applications`` with ImageNet
  weights (from the Keras cache, else downloaded on first use) and the ImageNet class index,
- any of these as ``alias=spec`` to serve it under another name.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dlweek import config
from dlweek.bundle import (
    PREPROCESSING,
    Bundle,
    BundleError,
    library_versions,
    load_bundle,
    read_metadata,
    resolve_bundle_path,
    shipped_bundles,
)
from dlweek.serving.errors import ModelLoadError, NotReady, UnknownModel
from dlweek.serving.metrics import ServiceMetrics
from dlweek.serving.predictor import Predictor
from dlweek.serving.settings import ServeSettings

log = logging.getLogger(__name__)

DEFAULT_SHIPPED = ("cats_vs_dogs", "cifar10_cnn")
IMAGENET_CLASS_INDEX = "imagenet_class_index.json"
CLASS_INDEX_URL = ("https://storage.googleapis.com/download.tensorflow.org/data/"
                   "imagenet_class_index.json")


@dataclass(frozen=True)
class ImagenetArch:
    """A ``keras.applications`` model the service can run with ImageNet weights."""

    constructor: str
    weights_file: str
    preprocessing: str  # "tf" ([-1, 1]) or "caffe" (BGR, mean subtracted)
    size: tuple[int, int] = (224, 224)


IMAGENET_ARCHS = {
    "resnet50": ImagenetArch("ResNet50", "resnet50_weights_tf_dim_ordering_tf_kernels.h5",
                             "caffe"),
    "mobilenet_v2": ImagenetArch("MobileNetV2",
                                 "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224.h5",
                                 "tf"),
}
CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)


@dataclass(frozen=True)
class ModelSpec:
    """A parsed model spec: the name it is served under, its kind and where it comes from."""

    name: str
    kind: str  # "bundle" or "imagenet"
    source: str  # bundle folder, or architecture name

    @classmethod
    def parse(cls, spec: str) -> ModelSpec:
        """Parse ``[alias=]bundle-or-path`` or ``[alias=]imagenet:<arch>``.

        Raises:
            ModelLoadError: unknown architecture or no such bundle.
        """
        alias, _, target = spec.partition("=") if "=" in spec else ("", "", spec)
        target = target.strip()
        if target.startswith("imagenet:"):
            arch = target.split(":", 1)[1]
            if arch not in IMAGENET_ARCHS:
                raise ModelLoadError(f"Unknown ImageNet model {arch!r}; choose one of "
                                     f"{', '.join('imagenet:' + a for a in IMAGENET_ARCHS)}.")
            return cls(alias or f"imagenet_{arch}", "imagenet", arch)
        try:
            folder = resolve_bundle_path(target)
            meta = read_metadata(folder)
        except BundleError as exc:
            raise ModelLoadError(str(exc)) from exc
        return cls(alias or str(meta["name"]), "bundle", str(folder))


def imagenet_weights_path(arch: str) -> Path:
    """Where Keras keeps (or will download) an architecture's ImageNet weights."""
    return config.keras_home() / "models" / IMAGENET_ARCHS[arch].weights_file


def _downloads_allowed() -> bool:
    from dlweek.sources import downloads_allowed

    return downloads_allowed()


def preflight(specs: list[ModelSpec], *, imagenet_weights: str | None = "imagenet") -> None:
    """Check, without TensorFlow, that every model can be loaded here (for ``dlweek serve``).

    Raises:
        ModelLoadError: a clear message naming the missing file and how to get it.
    """
    names = [s.name for s in specs]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ModelLoadError(f"Two models are called {', '.join(dupes)}: give one an alias, "
                             "e.g. --model other=path/to/bundle.")
    for spec in specs:
        if spec.kind != "imagenet" or imagenet_weights != "imagenet":
            continue
        weights = imagenet_weights_path(spec.source)
        if not weights.is_file() and not _downloads_allowed():
            raise ModelLoadError(
                f"ImageNet weights for imagenet:{spec.source} are not in the Keras cache "
                f"({weights}) and downloads are disabled (DLWEEK_OFFLINE=1). Run once with "
                "network access (Keras downloads them on first use), or copy "
                f"{weights.name} into {weights.parent}.")


def _class_index() -> list[str]:
    path = config.keras_home() / "models" / IMAGENET_CLASS_INDEX
    if not path.is_file():
        from dlweek.sources import install_keras_weights

        install_keras_weights()  # the offline mirror has the class index
    if not path.is_file():
        if not _downloads_allowed():
            raise ModelLoadError(f"The ImageNet class index is not at {path} and downloads are "
                                 "disabled. Set DLWEEK_DATA_DIR to the data mirror or run "
                                 "`dlweek data install-weights`.")
        import keras

        try:
            path = Path(keras.utils.get_file(IMAGENET_CLASS_INDEX, CLASS_INDEX_URL,
                                             cache_subdir="models"))
        except Exception as exc:  # noqa: BLE001 -- get_file raises plain Exception offline
            raise ModelLoadError(f"Could not download the ImageNet class index "
                                 f"({type(exc).__name__}: {exc}).") from exc
    index = json.loads(path.read_text())
    return [str(index[str(i)][1]) for i in range(len(index))]


def build_imagenet_bundle(arch: str, *, weights: str | None = "imagenet",
                          name: str | None = None) -> Bundle:
    """A ``keras.applications`` ImageNet classifier wrapped as an in-memory bundle.

    The wrapper takes raw pixels 0..255 and applies the architecture's own preprocessing with
    built-in layers. ``weights=None`` gives random weights (tests exercise the plumbing so).

    Raises:
        ModelLoadError: the weights are neither cached nor downloadable.
    """
    import keras
    import numpy as np

    spec = IMAGENET_ARCHS[arch]
    labels = _class_index()
    cached = imagenet_weights_path(arch)
    if weights == "imagenet" and not cached.is_file() and not _downloads_allowed():
        preflight([ModelSpec(name or arch, "imagenet", arch)])
    try:
        base = getattr(keras.applications, spec.constructor)(
            weights=weights, include_top=True, input_shape=(*spec.size, 3))
    except Exception as exc:  # noqa: BLE001 -- get_file raises plain Exception offline
        raise ModelLoadError(
            f"Could not get ImageNet weights for imagenet:{arch} ({type(exc).__name__}: {exc}). "
            f"Keras downloads them on first use into {cached.parent}; offline, copy "
            f"{cached.name} there.") from exc
    inputs = keras.Input((*spec.size, 3), name="pixels")
    if spec.preprocessing == "tf":
        x = keras.layers.Rescaling(1.0 / 127.5, offset=-1.0, name="preprocess")(inputs)
    else:  # caffe: RGB -> BGR and subtract the channel means, as one frozen affine map
        affine = keras.layers.Dense(3, trainable=False, name="preprocess")
        x = affine(inputs)
        affine.set_weights([np.eye(3, dtype="float32")[::-1],
                            -np.asarray(CAFFE_MEAN_BGR, dtype="float32")])
    model = keras.Model(inputs, base(x), name=f"imagenet_{arch}")
    meta = {
        "name": name or f"imagenet_{arch}",
        "description": f"keras.applications.{spec.constructor}, ImageNet weights"
                       + ("" if weights == "imagenet" else f" ({weights or 'random'})"),
        "labels": labels,
        "num_classes": len(labels),
        "input_size": list(spec.size),
        "color_mode": "rgb",
        "preprocessing": {**PREPROCESSING, "scaling": f"inside the model ({spec.preprocessing} "
                          "mode, built-in layers)"},
        "dataset": {"name": "imagenet", "checksum": None},
        "metrics": {},
        "parameters": int(model.count_params()),
        "created": None,
        "versions": library_versions(),
        "weights": weights or "random",
    }
    return Bundle(model=model, metadata=meta, path=None)


class ModelRegistry:
    """The service's models: loaded once (in the worker process), then looked up by name."""

    def __init__(self, settings: ServeSettings, metrics: ServiceMetrics | None = None) -> None:
        self.settings = settings
        self.metrics = metrics or ServiceMetrics()
        wanted = list(settings.models) or [n for n in DEFAULT_SHIPPED if n in shipped_bundles()]
        if not wanted:
            raise ModelLoadError("No models to serve: no --model given and no shipped bundles "
                                 "are installed (src/dlweek/serving/bundles/).")
        self.specs = [ModelSpec.parse(s) for s in wanted]
        preflight(self.specs, imagenet_weights=settings.imagenet_weights)
        self.default = settings.default_model or self.specs[0].name
        if self.default not in [s.name for s in self.specs]:
            raise ModelLoadError(f"The default model {self.default!r} is not among the served "
                                 f"models ({', '.join(s.name for s in self.specs)}).")
        self.predictors: dict[str, Predictor] = {}
        self.ready = threading.Event()
        self.error: str | None = None
        self.metrics.ready.set(lambda: 1.0 if self.ready.is_set() else 0.0)
        self._thread: threading.Thread | None = None

    def load(self) -> None:
        """Load, compile and warm up every model (call in the serving process, after fork)."""
        t0 = time.perf_counter()
        try:
            for spec in self.specs:
                bundle = self._load_one(spec)
                pred = Predictor(bundle, max_batch=self.settings.max_batch,
                                 max_wait_ms=self.settings.max_wait_ms,
                                 queue_size=self.settings.queue_size, metrics=self.metrics)
                self.predictors[spec.name] = pred.start()
        except ModelLoadError as exc:
            self.error = exc.message
            log.error("model loading failed: %s", exc.message)
            raise
        except Exception as exc:  # noqa: BLE001 -- report any loading failure on /readyz
            self.error = f"{type(exc).__name__}: {exc}"
            log.exception("model loading failed")
            raise ModelLoadError(self.error) from exc
        self.ready.set()
        log.info("ready: %s (default %s) in %.1f s", ", ".join(self.predictors), self.default,
                 time.perf_counter() - t0)

    def _load_one(self, spec: ModelSpec) -> Bundle:
        if spec.kind == "imagenet":
            return build_imagenet_bundle(spec.source, weights=self.settings.imagenet_weights,
                                         name=spec.name)
        try:
            bundle = load_bundle(spec.source)
        except BundleError as exc:
            raise ModelLoadError(str(exc)) from exc
        bundle.metadata = {**bundle.metadata, "name": spec.name}
        return bundle

    def load_in_background(self) -> threading.Thread:
        """Start :meth:`load` in a daemon thread (``/readyz`` says 503 until it is done)."""

        def run() -> None:
            with contextlib.suppress(ModelLoadError):  # kept in self.error, shown by /readyz
                self.load()

        self._thread = threading.Thread(target=run, name="model-loader", daemon=True)
        self._thread.start()
        return self._thread

    def wait_ready(self, timeout: float | None = None) -> bool:
        """Block until every model is warm (True) or the timeout passes / loading fails."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self.ready.is_set() and self.error is None:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                break
            self.ready.wait(0.05 if left is None else min(0.05, left))
        return self.ready.is_set()

    def get(self, name: str | None) -> Predictor:
        """The predictor for ``name`` (default model if empty).

        Raises:
            UnknownModel: no model of that name is configured.
            NotReady: it is still loading (or failed to load).
        """
        name = name or self.default
        if name not in [s.name for s in self.specs]:
            raise UnknownModel(f"There is no model {name!r}. Available: "
                               f"{', '.join(s.name for s in self.specs)} (GET /api/v1/models).")
        pred = self.predictors.get(name)
        if pred is None or not pred.warm:
            raise NotReady(self.not_ready_message(), retry_after=2)
        return pred

    def not_ready_message(self) -> str:
        if self.error:
            return f"A model failed to load: {self.error}"
        return (f"Models are still loading ({len(self.predictors)} of {len(self.specs)} warm). "
                "Retry in a few seconds.")

    def describe(self) -> list[dict[str, Any]]:
        """Every configured model with its metadata and state (for ``/api/v1/models``)."""
        out = []
        for spec in self.specs:
            pred = self.predictors.get(spec.name)
            entry: dict[str, Any] = {"name": spec.name, "kind": spec.kind,
                                     "default": spec.name == self.default,
                                     "state": "ready" if pred and pred.warm else
                                     ("failed" if self.error else "loading")}
            if pred is not None:
                meta = dict(pred.bundle.metadata)
                meta.pop("labels", None)
                entry.update(labels=list(pred.bundle.class_names),
                             input_size=list(pred.bundle.input_size),
                             color_mode=pred.bundle.color_mode, metadata=meta)
            out.append(entry)
        return out

    def close(self) -> None:
        for pred in self.predictors.values():
            pred.close()

"""Model bundles: a ``model.keras`` file plus ``metadata.json`` — what the service serves.

A bundle is a folder::

    cats_vs_dogs/
        model.keras      the Keras model (raw uint8 pixels in, class probabilities out)
        metadata.json    name, labels, input size, colour mode, preprocessing, training data
                         (name + checksum), metrics, creation time, library versions

Its preprocessing is :func:`preprocess_image`: :func:`dlweek.images.decode_image` (the very
decoder that :mod:`dlweek.data` uses to build the training arrays) resized to the bundle's
input size, as ``float32``. The model rescales pixels itself (a ``Rescaling`` layer), so this
one function is all that stands between an image file and the model, in evaluation and in
serving alike.

Loading uses Keras's ``safe_mode``: a bundle whose model contains a ``Lambda`` layer (arbitrary
Python code) is refused with :class:`UnsafeBundleError`.

Example:
    >>> from dlweek.bundle import load_bundle                      # doctest: +SKIP
    >>> bundle = load_bundle("cats_vs_dogs")                       # a shipped bundle
    >>> bundle.predict_proba(bundle.preprocess("cat.jpg")).round(3)
    array([[0.981, 0.019]], dtype=float32)
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from dlweek.images import MAX_PIXELS, decode_image
from dlweek.runs import library_versions
from dlweek.sources import file_digest

if TYPE_CHECKING:  # pragma: no cover
    import keras

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
MODEL_FILE = "model.keras"
METADATA_FILE = "metadata.json"
SHIPPED_DIR = Path(__file__).resolve().parent / "serving" / "bundles"
PREPROCESSING = {
    "function": "dlweek.bundle.preprocess_image",
    "decoder": "dlweek.images.decode_image",
    "resize": "bilinear (Pillow), to input_size; JPEG draft mode for large photos",
    "orientation": "EXIF orientation applied",
    "transparency": "composited on white",
    "dtype": "float32",
    "value_range": [0, 255],
    "scaling": "inside the model (first layer keras.layers.Rescaling)",
}


class BundleError(RuntimeError):
    """A bundle is missing, malformed or does not fit its model."""


class UnsafeBundleError(BundleError):
    """A bundle's model needs unsafe deserialisation (e.g. a ``Lambda`` layer)."""


def preprocess_image(
    image: bytes | str | Path,
    *,
    input_size: Sequence[int],
    color_mode: str = "rgb",
    max_pixels: int = MAX_PIXELS,
) -> np.ndarray:
    """Image file (bytes or path) → ``float32`` batch of one, shape ``(1, H, W, C)``.

    The single preprocessing step of every bundle: decode with
    :func:`dlweek.images.decode_image` at ``input_size`` (the same call that builds the
    training arrays in :mod:`dlweek.data`) and convert to float32. Pixel values stay 0..255.

    Raises:
        dlweek.images.ImageDecodeError: the file is not an acceptable image.
    """
    size = (int(input_size[0]), int(input_size[1]))
    pixels = decode_image(image, color_mode=color_mode, size=size, max_pixels=max_pixels)
    return pixels.astype(np.float32)[None]


@dataclass
class Bundle:
    """A loaded bundle: the Keras model and its metadata.

    Attributes:
        model: the ``keras.Model`` (uint8-range pixels in, probabilities out).
        metadata: the parsed ``metadata.json``.
        path: the bundle folder (``None`` for an in-memory bundle such as an ImageNet model).
    """

    model: keras.Model
    metadata: dict[str, Any]
    path: Path | None = None
    _predict_fn: Any = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return str(self.metadata["name"])

    @property
    def class_names(self) -> tuple[str, ...]:
        return tuple(self.metadata["labels"])

    @property
    def input_size(self) -> tuple[int, int]:
        h, w = self.metadata["input_size"]
        return int(h), int(w)

    @property
    def color_mode(self) -> str:
        return str(self.metadata["color_mode"])

    @property
    def channels(self) -> int:
        return 3 if self.color_mode == "rgb" else 1

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return (*self.input_size, self.channels)

    def preprocess(self, image: bytes | str | Path, *, max_pixels: int = MAX_PIXELS
                   ) -> np.ndarray:
        """Image bytes or path → ``float32`` ``(1, H, W, C)`` (see :func:`preprocess_image`)."""
        return preprocess_image(image, input_size=self.input_size, color_mode=self.color_mode,
                                max_pixels=max_pixels)

    def predict_proba(self, batch: np.ndarray) -> np.ndarray:
        """Class probabilities ``(N, num_classes)`` for a batch of raw pixels (N, H, W, C).

        Runs one compiled forward pass (``tf.function`` with a fixed input signature, built
        on first use), never ``model.predict``.
        """
        batch = np.asarray(batch, dtype=np.float32)
        if batch.ndim == 3:
            batch = batch[None]
        if tuple(batch.shape[1:]) != self.input_shape:
            raise ValueError(f"{self.name} expects images of shape {self.input_shape}, got "
                             f"{tuple(batch.shape[1:])}; use Bundle.preprocess().")
        if self._predict_fn is None:
            self._predict_fn = compiled_forward(self.model, self.input_shape)
        return np.asarray(self._predict_fn(batch))

    def describe(self) -> dict[str, Any]:
        """Metadata for listings (``/api/v1/models``)."""
        return dict(self.metadata)


def compiled_forward(model: keras.Model, input_shape: Sequence[int]) -> Any:
    """A ``tf.function`` running ``model`` in inference mode on float32 ``(None, *input_shape)``.

    One trace serves every batch size; returns a callable numpy-in, tensor-out.
    """
    import tensorflow as tf

    spec = tf.TensorSpec([None, *[int(d) for d in input_shape]], tf.float32, name="pixels")

    @tf.function(input_signature=[spec], reduce_retracing=True)
    def forward(x: Any) -> Any:
        return model(x, training=False)

    return forward


# --- saving ---------------------------------------------------------------------------------

def _model_input_shape(model: keras.Model) -> tuple[int | None, ...]:
    shape = model.inputs[0].shape if getattr(model, "inputs", None) else model.input_shape
    return tuple(shape[1:])


def _contains_lambda(model: Any) -> bool:
    import keras

    for layer in getattr(model, "layers", ()):
        if isinstance(layer, keras.layers.Lambda) or _contains_lambda(layer):
            return True
    return False


def _serving_copy(model: keras.Model) -> keras.Model:
    """The model without optimizer state or compile settings (smaller; inference only)."""

    if getattr(model, "optimizer", None) is None:
        return model
    # Not keras.models.clone_model: it copies the compile state (and so the optimizer) too.
    try:
        copy = type(model).from_config(model.get_config())
    except (NotImplementedError, TypeError, ValueError):
        log.warning("could not rebuild %s from its config; saving it with its optimizer",
                    model.name)
        return model
    copy.set_weights(model.get_weights())
    if getattr(copy, "optimizer", None) is not None:  # pragma: no cover - defensive
        return model
    return copy


def save_bundle(
    model: keras.Model,
    path: str | Path,
    *,
    name: str,
    class_names: Sequence[str],
    input_size: Sequence[int],
    color_mode: str = "rgb",
    dataset: Any = None,
    metrics: Mapping[str, float] | None = None,
    description: str = "",
    extra: Mapping[str, Any] | None = None,
) -> Path:
    """Write ``model`` and its metadata as a bundle folder (atomically); return the folder.

    Args:
        model: a Keras model taking raw pixels ``(None, H, W, C)`` (values 0..255) and
            returning class probabilities ``(None, len(class_names))``.
        path: the bundle folder to create (replaced if it exists).
        name: the model's name in the service (``[a-z0-9_-]``).
        class_names: label of each output index.
        input_size: ``(height, width)`` the model takes.
        color_mode: ``"rgb"`` or ``"grayscale"``.
        dataset: the training data: a :class:`dlweek.data.ArrayDataset` (its ``info()`` is
            recorded, checksum included) or a dict.
        metrics: evaluation results, e.g. ``{"test_accuracy": 0.93}``.
        description: one line for people.
        extra: anything else worth recording (recipe, epochs, seconds ...).

    Raises:
        BundleError: the model's input/output shape does not match the metadata, the name is
            not a valid identifier, or the model has a ``Lambda`` layer (it could not be
            loaded in safe mode).
    """
    path = Path(path)
    if not name or not all(c.isalnum() or c in "_-" for c in name) or name != name.lower():
        raise BundleError(f"Bundle name {name!r} must be lower-case letters, digits, '_' or '-'.")
    if color_mode not in ("rgb", "grayscale"):
        raise BundleError(f"color_mode must be 'rgb' or 'grayscale', not {color_mode!r}.")
    h, w = (int(v) for v in input_size)
    want = (h, w, 3 if color_mode == "rgb" else 1)
    got = _model_input_shape(model)
    if tuple(got) != want:
        raise BundleError(f"The model takes inputs of shape {got}, but the bundle says {want} "
                          f"(input_size={input_size!r}, color_mode={color_mode!r}).")
    units = model.outputs[0].shape[-1] if getattr(model, "outputs", None) else None
    if units != len(class_names):
        raise BundleError(f"The model has {units} outputs but {len(class_names)} class names.")
    if _contains_lambda(model):
        raise BundleError("The model contains a Lambda layer, which Keras refuses to load in "
                          "safe mode. Use built-in layers (e.g. Rescaling) instead.")
    if dataset is not None and hasattr(dataset, "info"):
        dataset = dataset.info()
    meta: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "name": name,
        "description": description,
        "labels": [str(c) for c in class_names],
        "num_classes": len(class_names),
        "input_size": [h, w],
        "color_mode": color_mode,
        "input": {"dtype": "float32", "shape": [None, *want], "value_range": [0, 255]},
        "output": {"kind": "probabilities", "shape": [None, len(class_names)]},
        "preprocessing": dict(PREPROCESSING),
        "dataset": dict(dataset) if dataset is not None else None,
        "metrics": {k: float(v) for k, v in (metrics or {}).items()},
        "parameters": int(model.count_params()),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "versions": library_versions(),
    }
    if extra:
        meta["extra"] = dict(extra)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}-", dir=path.parent))
    try:
        _serving_copy(model).save(tmp / MODEL_FILE)
        meta["model_file"] = {"name": MODEL_FILE, "sha256": file_digest(tmp / MODEL_FILE),
                              "bytes": (tmp / MODEL_FILE).stat().st_size}
        (tmp / METADATA_FILE).write_text(json.dumps(meta, indent=2) + "\n")
        tmp.chmod(0o755)  # mkdtemp makes it private; a bundle is read by other users too
        if path.exists():
            shutil.rmtree(path)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    log.info("saved bundle %s to %s", name, path)
    return path


# --- loading --------------------------------------------------------------------------------

def shipped_bundles() -> dict[str, Path]:
    """The bundles that ship inside the package: ``{name: folder}``."""
    if not SHIPPED_DIR.is_dir():
        return {}
    return {p.name: p for p in sorted(SHIPPED_DIR.iterdir())
            if (p / METADATA_FILE).is_file() and (p / MODEL_FILE).is_file()}


def resolve_bundle_path(ref: str | Path) -> Path:
    """A bundle folder from a path or the name of a shipped bundle.

    Raises:
        BundleError: neither a bundle folder nor a shipped bundle's name.
    """
    candidate = Path(ref).expanduser()
    if candidate.is_file() and candidate.name in (MODEL_FILE, METADATA_FILE):
        candidate = candidate.parent
    if (candidate / METADATA_FILE).is_file():
        return candidate
    shipped = shipped_bundles()
    if str(ref) in shipped:
        return shipped[str(ref)]
    raise BundleError(
        f"No model bundle at {ref!r}: expected a folder with {MODEL_FILE} and {METADATA_FILE}, "
        f"or the name of a shipped bundle ({', '.join(shipped) or 'none installed'})."
    )


REQUIRED_KEYS = ("name", "labels", "input_size", "color_mode")


def read_metadata(ref: str | Path) -> dict[str, Any]:
    """Read and check a bundle's ``metadata.json`` without loading the model (no TensorFlow).

    Raises:
        BundleError: missing files, unreadable JSON, missing keys or a newer format.
    """
    folder = resolve_bundle_path(ref)
    if not (folder / MODEL_FILE).is_file():
        raise BundleError(f"Bundle {folder} has no {MODEL_FILE}.")
    try:
        meta = json.loads((folder / METADATA_FILE).read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BundleError(f"{folder / METADATA_FILE} is not valid JSON: {exc}") from exc
    if not isinstance(meta, dict):
        raise BundleError(f"{folder / METADATA_FILE} must hold a JSON object.")
    missing = [k for k in REQUIRED_KEYS if k not in meta]
    if missing:
        raise BundleError(f"{folder / METADATA_FILE} lacks {', '.join(missing)}.")
    if int(meta.get("format_version", 1)) > FORMAT_VERSION:
        raise BundleError(f"Bundle {folder} has format {meta['format_version']}; this dlweek "
                          f"reads format {FORMAT_VERSION}. Upgrade dlweek.")
    if meta["color_mode"] not in ("rgb", "grayscale") or len(meta["input_size"]) != 2:
        raise BundleError(f"{folder / METADATA_FILE}: bad color_mode or input_size.")
    return meta


def load_bundle(ref: str | Path, *, verify_checksum: bool = True) -> Bundle:
    """Load a bundle folder (or a shipped bundle by name) with Keras ``safe_mode=True``.

    Raises:
        UnsafeBundleError: the model contains a ``Lambda`` layer or other unsafe code.
        BundleError: files missing or corrupt, checksum mismatch, or the model does not fit
            the metadata.
    """
    import keras

    folder = resolve_bundle_path(ref)
    meta = read_metadata(folder)
    model_path = folder / MODEL_FILE
    want_sha = (meta.get("model_file") or {}).get("sha256")
    if verify_checksum and want_sha and file_digest(model_path) != want_sha:
        raise BundleError(f"{model_path} does not match the sha256 in its metadata; the file "
                          "is damaged or was replaced. Re-export the bundle.")
    try:
        model = keras.saving.load_model(model_path, compile=False, safe_mode=True)
    except ValueError as exc:
        text = str(exc)
        if "Lambda" in text or "safe_mode" in text or "unsafe" in text.lower():
            raise UnsafeBundleError(
                f"Refusing to load {model_path}: it contains a Lambda layer (arbitrary Python "
                "code), which Keras only deserialises with safe_mode=False. Rebuild the model "
                "with built-in layers (e.g. keras.layers.Rescaling) and save the bundle again."
            ) from exc
        raise BundleError(f"Could not load {model_path}: {exc}") from exc
    except (OSError, TypeError, KeyError) as exc:
        raise BundleError(f"Could not load {model_path} ({type(exc).__name__}: {exc}).") from exc
    bundle = Bundle(model=model, metadata=meta, path=folder)
    got = _model_input_shape(model)
    if tuple(got) != bundle.input_shape:
        raise BundleError(f"{model_path} takes inputs {got}, but {METADATA_FILE} says "
                          f"{bundle.input_shape}.")
    return bundle


# --- export ---------------------------------------------------------------------------------

def export_savedmodel(bundle_ref: str | Path, out: str | Path) -> Path:
    """Export a bundle's model as a TensorFlow SavedModel that TensorFlow Serving can serve.

    The SavedModel's ``serving_default`` signature takes ``float32`` raw pixels
    ``(None, H, W, C)`` (0..255) and returns the class probabilities. For TensorFlow Serving,
    ``out`` is a numbered version folder, e.g. ``models/cats_vs_dogs/1``. The bundle's
    ``metadata.json`` is copied to ``out/assets.extra/`` (TF Serving ignores it).

    Raises:
        BundleError: the bundle cannot be loaded or ``out`` exists and is not empty.
    """
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise BundleError(f"{out} exists and is not empty; choose a new folder.")
    import keras
    import tensorflow as tf

    bundle = load_bundle(bundle_ref)
    if out.exists():
        out.rmdir()
    # Not ``model.export()``: it traces the model with ``training=None``, which leaves the
    # random augmentation layers (RandomFlip, ...) of a course model switched on.
    model = bundle.model
    archive = keras.export.ExportArchive()
    archive.track(model)
    spec = tf.TensorSpec([None, *bundle.input_shape], tf.float32, name="pixels")
    archive.add_endpoint(name="serve", fn=lambda x: model(x, training=False),
                         input_signature=[spec])
    archive.write_out(str(out), verbose=False)
    extra = out / "assets.extra"
    extra.mkdir(exist_ok=True)
    shutil.copyfile(bundle.path / METADATA_FILE, extra / METADATA_FILE)  # type: ignore[operator]
    log.info("exported %s as a SavedModel to %s", bundle.name, out)
    return out

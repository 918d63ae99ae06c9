"""Helpers for the bundle and serving tests: tiny models and generated image files."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

TINY_LABELS = ("dark", "bright")
TINY_SIZE = (32, 32)


def tiny_model(size: tuple[int, int] = TINY_SIZE, channels: int = 3,
               num_classes: int = 2):  # noqa: ANN201 -- keras.Model
    """A deterministic model that tells dark images (class 0) from bright ones (class 1).

    raw pixels -> Rescaling -> mean brightness -> Dense(2, softmax) with fixed weights.
    """
    import keras

    inputs = keras.Input((*size, channels), name="pixels")
    x = keras.layers.Rescaling(1.0 / 255, name="rescale")(inputs)
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    dense = keras.layers.Dense(num_classes, activation="softmax", name="head")
    out = dense(x)
    kernel = np.zeros((channels, num_classes), np.float32)
    kernel[:, 1] = 8.0 / channels  # logit1 - logit0 = 16 * (mean brightness - 0.5)
    kernel[:, 0] = -8.0 / channels
    bias = np.zeros(num_classes, np.float32)
    bias[:2] = (4.0, -4.0)
    dense.set_weights([kernel, bias])
    return keras.Model(inputs, out, name="tiny")


def save_tiny_bundle(path: Path, name: str = "tiny") -> Path:
    from dlweek.bundle import save_bundle

    return save_bundle(tiny_model(), path, name=name, class_names=TINY_LABELS,
                       input_size=TINY_SIZE, color_mode="rgb",
                       dataset={"name": "synthetic", "checksum": "0" * 64},
                       metrics={"test_accuracy": 1.0}, description="tiny test model")


def encode(img: Image.Image, fmt: str, **kwargs: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kwargs)
    return buf.getvalue()


def png(color: tuple[int, int, int] = (250, 250, 250), size: tuple[int, int] = (40, 30)
        ) -> bytes:
    return encode(Image.new("RGB", size, color), "PNG")


def jpeg(color: tuple[int, int, int] = (10, 10, 10), size: tuple[int, int] = (40, 30)) -> bytes:
    return encode(Image.new("RGB", size, color), "JPEG", quality=95)


def save_tiny_gray_bundle(path: Path, name: str = "tinygray") -> Path:
    from dlweek.bundle import save_bundle

    return save_bundle(tiny_model(channels=1), path, name=name, class_names=TINY_LABELS,
                       input_size=TINY_SIZE, color_mode="grayscale",
                       metrics={"test_accuracy": 1.0}, description="tiny grayscale model")


def make_app(tmp_path: Path, **settings: object):  # noqa: ANN201 -- flask.Flask
    """A Flask app serving the tiny bundles, loaded synchronously."""
    from dlweek.serving.app import create_app
    from dlweek.serving.settings import ServeSettings

    tiny = tmp_path / "tiny"
    gray = tmp_path / "tinygray"
    if not tiny.exists():
        save_tiny_bundle(tiny)
        save_tiny_gray_bundle(gray)
    values: dict[str, object] = {"models": (str(tiny), str(gray)), "load_in_background": False}
    values.update(settings)
    return create_app(ServeSettings(**values))  # type: ignore[arg-type]

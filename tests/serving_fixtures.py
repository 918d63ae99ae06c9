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


# --- real servers --------------------------------------------------------------------------

def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def http(method: str, url: str, body: bytes | None = None,
         headers: dict[str, str] | None = None, timeout: float = 30
         ) -> tuple[int, dict[str, str], bytes]:
    """One HTTP request with the standard library: (status, headers, body)."""
    import urllib.error
    import urllib.request

    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 -- localhost
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def multipart(fields: dict[str, str], filename: str, data: bytes,
              content_type: str = "image/jpeg") -> tuple[bytes, str]:
    """Encode a multipart/form-data body with one file field named ``file``."""
    boundary = "----dlweek-test-boundary-7d1f"
    parts = []
    for key, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n'
                     f"{value}\r\n".encode())
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
                 f'filename="{filename}"\r\nContent-Type: {content_type}\r\n\r\n'.encode()
                 + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def start_server(cmd: list[str], *, cwd: Path | None = None, env: dict[str, str] | None = None,
                 log_path: Path | None = None):  # noqa: ANN201 -- subprocess.Popen
    """Start a server process in its own process group (stopped by :func:`stop_server`)."""
    import os
    import subprocess

    log = open(log_path, "wb") if log_path else subprocess.DEVNULL  # noqa: SIM115
    return subprocess.Popen(cmd, cwd=cwd, env={**os.environ, **(env or {})}, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)


def wait_ready(base: str, proc, timeout: float = 180) -> None:  # noqa: ANN001
    """Poll ``/readyz`` until 200; fail early if the process died."""
    import time
    import urllib.error

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before it was ready")
        try:
            if http("GET", base + "/readyz", timeout=5)[0] == 200:
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            pass
        time.sleep(0.5)
    raise TimeoutError(f"{base} was not ready after {timeout} s")


def stop_server(proc) -> None:  # noqa: ANN001
    """SIGTERM the server's process group (gunicorn master and workers), then SIGKILL."""
    import os
    import signal
    import subprocess

    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    except ProcessLookupError:
        pass

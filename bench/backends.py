"""Backends (informative): the Day 4 model's epoch time on Keras's TensorFlow, JAX and torch.

Each backend runs in its own process (Keras picks its backend at import). A backend whose
package is not installed is reported as skipped.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
PACKAGE = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}
SAMPLES = 12_000


def _worker() -> None:
    """Runs inside the child: two epochs on SAMPLES images, report the second's seconds/epoch."""
    import time

    import keras
    import numpy as np

    from dlweek import models
    from dlweek.data import load_dataset

    ds = load_dataset("fashion_mnist", profile="full")
    x, y = ds.x_train[:SAMPLES], ds.y_train[:SAMPLES]
    model = models.fashion_cnn((28, 28, 1), 10)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    times = []

    class Clock(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
            self.t0 = time.perf_counter()

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            times.append(time.perf_counter() - self.t0)

    model.fit(x, y, batch_size=128, epochs=2, verbose=0, callbacks=[Clock()])
    per_full_epoch = times[-1] * len(ds.x_train) / SAMPLES
    print(json.dumps({"seconds_per_epoch": per_full_epoch, "first_epoch_seconds": times[0],
                      "keras_backend": keras.backend.backend(), "numpy": np.__version__}))


def run() -> dict[str, Any]:
    out: dict[str, Any] = {}
    for backend, package in PACKAGE.items():
        if importlib.util.find_spec(package) is None:
            out[backend] = {"skipped": f"{package} is not installed"}
            continue
        env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="2")
        done = subprocess.run([sys.executable, "-c", "from bench.backends import _worker; "
                               "_worker()"], cwd=REPO, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            out[backend] = {"error": done.stderr.strip().splitlines()[-1:]}
            continue
        out[backend] = json.loads(done.stdout.strip().splitlines()[-1])
    return out

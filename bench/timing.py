"""Shared measuring helpers: a Keras callback for time-to-accuracy, and robust summaries."""

from __future__ import annotations

import statistics
import time
from typing import Any

import numpy as np


def spread(values: list[float]) -> dict[str, float]:
    """Median with min and max, so that noise shows."""
    return {"median": statistics.median(values), "min": min(values), "max": max(values),
            "n": len(values)}


def make_epoch_clock(x_test: np.ndarray, y_test: np.ndarray, batch_size: int = 1024) -> Any:
    """A Keras callback timing each epoch's *training* (validation and test excluded).

    After every epoch it evaluates the model on the test set (outside the timed window) and
    records ``(cumulative training seconds, test accuracy)``.
    """
    import keras

    class EpochClock(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.train_seconds: list[float] = []
            self.test_accuracy: list[float] = []
            self._t0 = 0.0
            self._stopped = False

        def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
            self._t0, self._stopped = time.perf_counter(), False

        def _stop(self) -> None:
            if not self._stopped:
                self.train_seconds.append(time.perf_counter() - self._t0)
                self._stopped = True

        def on_test_begin(self, logs: dict | None = None) -> None:  # validation pass starts
            if self._t0 and not self._stopped:
                self._stop()

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            self._stop()
            probs = self.model.predict(x_test, batch_size=batch_size, verbose=0)
            self.test_accuracy.append(float(np.mean(np.argmax(probs, axis=1) == y_test)))

        def cumulative(self) -> list[float]:
            return list(np.cumsum(self.train_seconds))

    return EpochClock()


def seconds_to_reach(cumulative: list[float], accuracy: list[float], target: float
                     ) -> float | None:
    """Training seconds until the test accuracy first reaches ``target`` (None: never)."""
    for seconds, acc in zip(cumulative, accuracy, strict=True):
        if acc >= target:
            return float(seconds)
    return None

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


class Turns:
    """Lets training runs in threads take turns one epoch at a time (A B A B ...).

    Each run gets :meth:`callbacks` (first and last in its callback list): an epoch starts only
    on the run's turn, after every run has finished its setup (``on_train_begin``), and the
    turn passes on once the epoch, and whatever evaluation follows it, is over. So exactly
    one run uses the CPUs at a time, and the machine's drift hits all runs alike. Call
    :meth:`finish` when a run ends (also on error) so the others stop waiting for it.
    Call :meth:`begin_setup` before a run seeds and builds its model: setups then happen one
    at a time (until that run's ``on_train_begin``), so seeded runs stay reproducible.
    """

    def __init__(self, names: list[str]) -> None:
        import threading

        self._names = list(names)
        self._ready: set[str] = set()
        self._done: set[str] = set()
        self._turn = 0
        self._cond = threading.Condition()
        self._setup = threading.Lock()
        self._setup_holder: str | None = None

    def begin_setup(self, name: str) -> None:
        """Wait until no other run is setting up; ``name``'s setup ends at its first epoch."""
        self._setup.acquire()
        self._setup_holder = name

    def _end_setup(self, name: str) -> None:
        if self._setup_holder == name:
            self._setup_holder = None
            self._setup.release()

    def _current(self) -> str | None:
        if self._done.issuperset(self._names):
            return None
        while self._names[self._turn % len(self._names)] in self._done:
            self._turn += 1
        return self._names[self._turn % len(self._names)]

    def _ready_all(self) -> bool:
        return all(n in self._ready or n in self._done for n in self._names)

    def _begin(self, name: str) -> None:
        with self._cond:
            self._cond.wait_for(lambda: self._ready_all() and self._current() == name)

    def _ready_now(self, name: str) -> None:
        self._end_setup(name)
        with self._cond:
            self._ready.add(name)
            self._cond.notify_all()

    def _pass(self, name: str) -> None:
        with self._cond:
            if self._current() == name:
                self._turn += 1
            self._cond.notify_all()

    def finish(self, name: str) -> None:
        """``name`` has ended: the others no longer wait for it."""
        self._end_setup(name)
        with self._cond:
            self._done.add(name)
            self._cond.notify_all()

    def callbacks(self, name: str) -> tuple[Any, Any]:
        """``(first, last)``: Keras callbacks to put first and last in ``name``'s list."""
        import keras

        turns = self

        class Take(keras.callbacks.Callback):
            def on_train_begin(self, logs: dict | None = None) -> None:
                turns._ready_now(name)

            def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
                turns._begin(name)

        class Give(keras.callbacks.Callback):
            def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
                turns._pass(name)

        return Take(), Give()

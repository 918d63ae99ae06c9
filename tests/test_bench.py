"""The benchmark harness's own machinery: turn-taking, time-to-accuracy, spreads."""

from __future__ import annotations

import threading

import keras
import numpy as np
import pytest

from bench.timing import Turns, seconds_to_reach, spread
from bench.training import side_by_side


def _tiny_fit(name: str, epochs: int, log: list[str], turns: Turns,
              fail_at: int | None = None) -> dict:
    turns.begin_setup(name)
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy")
    x, y = np.random.default_rng(0).normal(size=(32, 4)), np.arange(32) % 2

    class Log(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
            if fail_at is not None and epoch == fail_at:
                raise RuntimeError(f"{name} broke")
            log.append(f"{name}{epoch}+")

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            log.append(f"{name}{epoch}-")

    take, give = turns.callbacks(name)
    model.fit(x, y, epochs=epochs, verbose=0, callbacks=[take, Log(), give])
    return {"epochs": epochs}


def test_runs_take_turns_epoch_by_epoch_and_the_longer_one_finishes_alone():
    log: list[str] = []
    out = side_by_side({"a": lambda *args: _tiny_fit("a", 3, log, args[-1]),
                        "b": lambda *args: _tiny_fit("b", 2, log, args[-1])}, ())
    assert out == {"a": {"epochs": 3}, "b": {"epochs": 2}}
    # never two epochs at once, strictly alternating while both run
    assert log == ["a0+", "a0-", "b0+", "b0-", "a1+", "a1-", "b1+", "b1-", "a2+", "a2-"]


def test_a_failing_run_raises_and_does_not_hang_the_other():
    log: list[str] = []
    result: dict = {}

    def go() -> None:
        with pytest.raises(RuntimeError, match="b broke"):
            side_by_side({"a": lambda *args: _tiny_fit("a", 3, log, args[-1]),
                          "b": lambda *args: _tiny_fit("b", 3, log, args[-1], fail_at=1)}, ())
        result["ok"] = True

    t = threading.Thread(target=go)
    t.start()
    t.join(timeout=120)
    assert result.get("ok"), "side_by_side hung after a run failed"
    assert log[-2:] == ["a2+", "a2-"], "the surviving run must finish its epochs"


def test_seconds_to_reach_and_spread():
    assert seconds_to_reach([10.0, 20.0, 30.0], [0.8, 0.9, 0.95], 0.9) == 20.0
    assert seconds_to_reach([10.0], [0.8], 0.9) is None
    assert spread([3.0, 1.0, 2.0]) == {"median": 2.0, "min": 1.0, "max": 3.0, "n": 3}

"""Training: time to accuracy on full Fashion-MNIST, keras-io's convnet vs dlweek's Day 4 recipe.

The baseline is the keras-io "Simple MNIST convnet" example exactly as published: pixels
scaled to [0, 1], one-hot labels, Conv32-Pool-Conv64-Pool-Flatten-Dropout(0.5)-Dense10,
categorical cross-entropy, Adam (defaults), batch 128, 15 epochs, validation_split 0.1.
Each recipe's model is evaluated on the test set after every epoch (outside the timed window).
The two recipes train side by side in two threads that take turns one epoch at a time
(baseline epoch 1, dlweek epoch 1, baseline epoch 2, ...; :class:`bench.timing.Turns`), so
only one uses the CPUs at any moment and the machine's drift hits both alike; repetitions
swap who goes first.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from bench.timing import Turns, make_epoch_clock, seconds_to_reach, spread

log = logging.getLogger(__name__)


def keras_io_model() -> Any:
    """The keras-io "Simple MNIST convnet" model, layer for layer."""
    import keras

    return keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        keras.layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
        keras.layers.MaxPooling2D(pool_size=(2, 2)),
        keras.layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
        keras.layers.MaxPooling2D(pool_size=(2, 2)),
        keras.layers.Flatten(),
        keras.layers.Dropout(0.5),
        keras.layers.Dense(10, activation="softmax"),
    ])


def keras_io_baseline(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray,
                      y_test: np.ndarray, seed: int, turns: Turns) -> dict[str, Any]:
    import keras

    turns.begin_setup("baseline")
    keras.utils.set_random_seed(seed)
    x = x_train.astype("float32") / 255
    xt = x_test.astype("float32") / 255
    y = keras.utils.to_categorical(y_train, 10)
    model = keras_io_model()
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    clock = make_epoch_clock(xt, y_test)
    take, give = turns.callbacks("baseline")
    model.fit(x, y, batch_size=128, epochs=15, validation_split=0.1, verbose=0,
              callbacks=[take, clock, give])
    return _summary("keras-io convnet", model, clock, len(x) * 0.9)


def dlweek_recipe(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray,
                  y_test: np.ndarray, seed: int, turns: Turns) -> dict[str, Any]:
    """dlweek's Day 4 recipe (dlweek.recipes) as shipped, fed the same 60k images and test set.

    The recipe trains on the dataset's own 55k/5k train/validation split of those 60k (the
    baseline's ``validation_split=0.1`` trains on 54k) and is timed the same way.
    """
    from dlweek import recipes
    from dlweek.data import load_dataset

    turns.begin_setup("dlweek")
    ds = load_dataset("fashion_mnist", profile="full", seed=seed)
    assert len(ds.y_train) + len(ds.y_val) == len(y_train), "the recipe must see all 60k"
    ds = dataclasses.replace(ds, x_test=x_test, y_test=y_test)
    clock = make_epoch_clock(x_test, y_test)
    take, give = turns.callbacks("dlweek")
    result = recipes.fashion_day4(profile="full", seed=seed, callbacks=[take, clock, give],
                                  data=ds)
    return _summary("dlweek day 4", result.model, clock, len(ds.y_train))


def side_by_side(fns: dict[str, Callable[..., dict[str, Any]]], args: tuple[Any, ...]
                 ) -> dict[str, dict[str, Any]]:
    """Run each ``fn(*args, turns)`` in its own thread, taking turns epoch by epoch."""
    turns = Turns(list(fns))
    results: dict[str, dict[str, Any]] = {}
    errors: list[BaseException] = []

    def one(name: str) -> None:
        try:
            results[name] = fns[name](*args, turns)
        except BaseException as exc:  # noqa: BLE001 -- re-raised in the caller's thread
            errors.append(exc)
        finally:
            turns.finish(name)

    threads = [threading.Thread(target=one, args=(n,), name=f"bench-{n}") for n in fns]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return results


def _summary(name: str, model: Any, clock: Any, n_train: float) -> dict[str, Any]:
    seconds = clock.cumulative()
    return {
        "name": name,
        "params": int(model.count_params()),
        "epoch_seconds": spread(list(clock.train_seconds)),
        "epochs": len(seconds),
        "cumulative_train_seconds": seconds,
        "test_accuracy": clock.test_accuracy,
        "final_test_acc": clock.test_accuracy[-1],
        "train_seconds": seconds[-1],
        "samples_per_second": n_train * len(seconds) / seconds[-1],
    }


def train_flops_per_sample(model: Any) -> float:
    """Training FLOPs per sample: 3 x forward FLOPs (forward + two backward matmuls).

    Forward FLOPs count 2 per multiply-add of Conv2D and Dense layers (the rest is noise).
    """
    total = 0.0
    for layer in _flat_layers(model):
        kind = type(layer).__name__
        if kind in ("Conv2D", "Dense"):
            kernel = layer.kernel.shape
            out = layer.output.shape
            positions = int(np.prod(out[1:-1])) if len(out) > 2 else 1
            total += 2.0 * positions * int(np.prod(kernel))
    return 3.0 * total


def _flat_layers(model: Any) -> list[Any]:
    out = []
    for layer in model.layers:
        out.extend(_flat_layers(layer) if hasattr(layer, "layers") else [layer])
    return out


def peak_gflops() -> dict[str, Any]:
    """Measured peak: the best of a few large float32 matmuls in TensorFlow on all cores."""
    import tensorflow as tf

    n = 2048
    a = tf.random.normal((n, n))
    b = tf.random.normal((n, n))
    matmul = tf.function(lambda: tf.linalg.matmul(a, b))
    matmul().numpy()
    best = 0.0
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(5):
            c = matmul()
        c.numpy()
        best = max(best, 5 * 2 * n**3 / (time.perf_counter() - t0) / 1e9)
    return {"gflops": best, "method": f"best of 5x5 float32 {n}x{n} tf.linalg.matmul"}


def run(reps: int = 1, seed: int = 42) -> dict[str, Any]:
    from dlweek.data import load_dataset

    ds = load_dataset("fashion_mnist", profile="full", seed=seed)
    x_train = np.concatenate([ds.x_train, ds.x_val])  # all 60k; each recipe splits its own
    y_train = np.concatenate([ds.y_train, ds.y_val])
    order = np.argsort(np.concatenate([ds.indices["train"], ds.indices["val"]]))
    x_train, y_train = x_train[order], y_train[order]  # the official order, as keras-io sees
    runs: dict[str, list[dict[str, Any]]] = {"baseline": [], "dlweek": []}
    competitors = {"baseline": keras_io_baseline, "dlweek": dlweek_recipe}
    for rep in range(reps):
        turn_order = list(competitors) if rep % 2 == 0 else list(competitors)[::-1]
        log.info("training rep %d: %s, taking turns epoch by epoch", rep + 1,
                 " / ".join(turn_order))
        done = side_by_side({k: competitors[k] for k in turn_order},
                            (x_train, y_train, ds.x_test, ds.y_test, seed + rep))
        for key in competitors:
            runs[key].append(done[key])
    target = float(np.median([r["final_test_acc"] for r in runs["baseline"]]))
    speedups, reach = [], {"baseline": [], "dlweek": []}
    for base, ours in zip(runs["baseline"], runs["dlweek"], strict=True):
        tb = seconds_to_reach(base["cumulative_train_seconds"], base["test_accuracy"], target)
        td = seconds_to_reach(ours["cumulative_train_seconds"], ours["test_accuracy"], target)
        reach["baseline"].append(tb)
        reach["dlweek"].append(td)
        if tb is not None and td is not None:
            speedups.append(tb / td)
    peak = peak_gflops()
    from dlweek import models

    flops = {"baseline": train_flops_per_sample(keras_io_model()), "dlweek": train_flops_per_sample(
        models.fashion_cnn((28, 28, 1), 10))}
    achieved = {k: flops[k] * float(np.median([r["samples_per_second"] for r in runs[k]])) / 1e9
                for k in runs}
    return {
        "target_accuracy": target,
        "speedup_to_baseline_acc": float(np.median(speedups)) if speedups else None,
        "speedup_spread": spread(speedups) if speedups else None,
        "seconds_to_target": reach,
        "dlweek_final_test_acc": float(np.median([r["final_test_acc"] for r in runs["dlweek"]])),
        "baseline_final_test_acc": target,
        "dlweek_params": runs["dlweek"][0]["params"],
        "baseline_params": runs["baseline"][0]["params"],
        "samples_per_second": {k: spread([r["samples_per_second"] for r in v])
                               for k, v in runs.items()},
        "train_gflops_achieved": achieved,
        "train_flops_per_sample": flops,
        "peak_gflops": peak,
        "fraction_of_peak": {k: v / peak["gflops"] for k, v in achieved.items()},
        "runs": runs,
    }


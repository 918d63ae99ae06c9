"""Named recipes: quick profile runs end to end on real data and learns."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from dlweek import models, recipes, runs
from dlweek.data import load_dataset

keras = pytest.importorskip("keras")


def test_fashion_day4_quick(mirror, tmp_path):
    result = recipes.fashion_day4(profile="quick", seed=0)
    assert isinstance(result, recipes.RecipeResult)
    assert result.dataset.name == "fashion_mnist" and result.dataset.profile == "quick"
    assert result.epochs == recipes.FASHION_EPOCHS[0]
    assert result.test_metrics["accuracy"] > 0.65, result.test_metrics
    assert result.seconds > 0
    assert result.model.count_params() < 150_000
    assert not models.has_lambda(result.model)
    record = runs.load_run_record(result.record(out_dir=tmp_path))
    assert record["name"] == "fashion_day4"
    assert record["dataset"]["checksum"] == result.dataset.checksum
    assert record["metrics"]["accuracy"] == pytest.approx(result.test_metrics["accuracy"])


def test_cifar10_cnn_quick_on_a_subset(mirror, tmp_path):
    ds = load_dataset("cifar10", profile="quick", seed=0)
    ds = dataclasses.replace(ds, x_train=ds.x_train[:1000], y_train=ds.y_train[:1000],
                             x_val=ds.x_val[:200], y_val=ds.y_val[:200],
                             x_test=ds.x_test[:300], y_test=ds.y_test[:300])
    result = recipes.cifar10_cnn(profile="quick", seed=0, data=ds)
    assert result.history.history["loss"][-1] < result.history.history["loss"][0]
    assert result.test_metrics["accuracy"] > 0.15  # chance is 0.10
    path = tmp_path / "c.keras"
    result.model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    x = ds.x_test[:4]
    np.testing.assert_allclose(loaded.predict(x, verbose=0), result.model.predict(x, verbose=0),
                               atol=1e-5)
    assert path.stat().st_size < 5_000_000


def test_cats_dogs_transfer_quick_with_imagenet_weights(mirror):
    result = recipes.cats_dogs_transfer(profile="quick", seed=0)
    assert result.dataset.name == "cats_vs_dogs"
    assert result.test_metrics["accuracy"] > 0.7, result.test_metrics
    assert not models.has_lambda(result.model)


def test_recipes_are_registered():
    assert set(recipes.RECIPES) == {"fashion_day4", "cifar10_cnn", "cats_dogs_transfer"}

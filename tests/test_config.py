"""Profiles, paths and seeding."""

from __future__ import annotations

import random

import numpy as np
import pytest

from dlweek import config


def test_profile_comes_from_argument_then_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DLWEEK_PROFILE", "quick")
    assert config.get_profile() == "quick"
    assert config.get_profile("FULL") == "full"
    monkeypatch.delenv("DLWEEK_PROFILE")
    assert config.get_profile() == "full"


def test_an_unknown_profile_says_what_to_use() -> None:
    with pytest.raises(config.ConfigError, match="quick, full"):
        config.get_profile("medium")


def test_same_seed_gives_the_same_numbers_everywhere() -> None:
    import keras

    def draw() -> tuple:
        config.seed_everything(123)
        return (random.random(), np.random.rand(3).tolist(),
                keras.random.uniform((3,)).numpy().tolist())

    first, second = draw(), draw()
    assert first == second
    config.seed_everything(124)
    assert np.random.rand(3).tolist() != first[1]


def test_paths_follow_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("DLWEEK_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "k"))
    monkeypatch.setenv("DLWEEK_RUNS_DIR", str(tmp_path / "r"))
    assert config.data_dir() == tmp_path.resolve()
    assert config.keras_home() == tmp_path / "k"
    assert config.runs_dir() == tmp_path / "r"

"""Profiles, paths and the one seeding function. Imports nothing heavy.

The profile switch (``DLWEEK_PROFILE``) decides how much data and how many epochs a
notebook uses: ``quick`` (CI: class-balanced subsets, seconds per notebook) or
``full`` (the real result, the default).

Example:
    >>> from dlweek import config
    >>> config.get_profile("quick")
    'quick'
"""

from __future__ import annotations

import logging
import os
import random
import sys
from pathlib import Path
from typing import Literal

import numpy as np

Profile = Literal["quick", "full"]
PROFILES: tuple[Profile, ...] = ("quick", "full")
DEFAULT_SEED = 42

log = logging.getLogger(__name__)


class ConfigError(ValueError):
    """A setting (environment variable or argument) has a value dlweek cannot use."""


def get_profile(profile: str | None = None) -> Profile:
    """Return the active profile: the argument, else ``$DLWEEK_PROFILE``, else ``"full"``."""
    value = (profile or os.environ.get("DLWEEK_PROFILE") or "full").strip().lower()
    if value not in PROFILES:
        raise ConfigError(
            f"Unknown profile {value!r}. Use one of {', '.join(PROFILES)}, "
            "e.g. `export DLWEEK_PROFILE=quick`."
        )
    return value  # type: ignore[return-value]


def data_dir() -> Path | None:
    """The offline data mirror named by ``$DLWEEK_DATA_DIR`` (layout of ``shared/data``), if set."""
    value = os.environ.get("DLWEEK_DATA_DIR")
    return Path(value).expanduser().resolve() if value else None


def keras_home() -> Path:
    """Keras's cache root: ``$KERAS_HOME`` or ``~/.keras`` (datasets/ and models/ live below it)."""
    return Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras").expanduser()


def runs_dir() -> Path:
    """Where run records go: ``$DLWEEK_RUNS_DIR`` or ``./runs``."""
    return Path(os.environ.get("DLWEEK_RUNS_DIR") or "runs").expanduser()


def seed_everything(
    seed: int = DEFAULT_SEED, *, keras: bool = True, deterministic: bool = False
) -> int:
    """Seed every random number generator the course uses; return the seed.

    Seeds Python's ``random``, NumPy's legacy global generator, Keras/TensorFlow (through
    ``keras.utils.set_random_seed``; ``keras=False`` skips it for numpy-only work and so
    avoids importing TensorFlow) and PyTorch when it is already imported. With
    ``deterministic=True`` TensorFlow also runs its ops deterministically (slower).

    Example:
        >>> seed_everything(7, keras=False)
        7
    """
    os.environ["PYTHONHASHSEED"] = str(seed)
    random.seed(seed)
    np.random.seed(seed)
    if keras:
        import keras as _keras

        _keras.utils.set_random_seed(seed)
        if deterministic:
            import tensorflow as tf

            tf.config.experimental.enable_op_determinism()
    if "torch" in sys.modules:
        import torch

        torch.manual_seed(seed)
    log.debug("seeded everything with %d", seed)
    return seed


"""Test settings: offline, quick profile, the shared data mirror, a private Keras home."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
_DEFAULT_MIRROR = REPO.parent / "shared" / "data"

os.environ["DLWEEK_OFFLINE"] = "1"  # tests never download
os.environ.setdefault("DLWEEK_PROFILE", "quick")
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# Tests never read or write the user's ~/.keras (set before anything imports keras).
os.environ["KERAS_HOME"] = tempfile.mkdtemp(prefix="dlweek-keras-home-")
if not os.environ.get("DLWEEK_DATA_DIR") and _DEFAULT_MIRROR.is_dir():
    os.environ["DLWEEK_DATA_DIR"] = str(_DEFAULT_MIRROR)


@pytest.fixture(scope="session")
def mirror() -> Path:
    """The offline data mirror (``$DLWEEK_DATA_DIR``); the tests need real data."""
    value = os.environ.get("DLWEEK_DATA_DIR")
    if not value or not Path(value, "mnist", "mnist.npz").is_file():
        pytest.fail("The tests need the offline data mirror: export DLWEEK_DATA_DIR=/path/to/"
                    "shared/data (or keep ../shared/data beside the repository).")
    return Path(value)


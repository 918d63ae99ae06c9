"""Run records: one JSON file per training run, saying exactly what produced a number.

A record holds the dataset facts (name, source, sha256 checksum, sizes, via
:meth:`dlweek.data.ArrayDataset.info`), the profile, the seed, library versions, the
hardware, wall time, epochs and the final metrics. Records are written atomically (a
temporary file renamed into place) into :func:`dlweek.config.runs_dir` or ``out_dir``.

This module never imports TensorFlow, Keras or PyTorch itself: it reports the versions of
those that the process has already imported (``tensorflow``/``keras`` are reported when
imported; ``torch`` only then, too).

Example:
    >>> path = write_run_record("demo", metrics={"accuracy": 0.9}, seed=42,
    ...                         wall_seconds=1.0, out_dir="/tmp/dlweek-runs")  # doctest: +SKIP
    >>> load_run_record(path)["metrics"]                                        # doctest: +SKIP
    {'accuracy': 0.9}
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import math
import os
import platform
import re
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dlweek import config

RECORD_VERSION = 1
_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")


class RunRecordError(ValueError):
    """A run record could not be written or read."""


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and one rename (never half-written)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def library_versions() -> dict[str, str]:
    """Versions of python and numpy, and of keras/tensorflow/torch when already imported."""
    import numpy as np  # noqa: PLC0415  (light, and always present)

    versions = {"python": platform.python_version(), "numpy": np.__version__}
    from importlib import metadata  # noqa: PLC0415

    for name in ("keras", "tensorflow", "torch", "sklearn", "pandas", "PIL"):
        module = sys.modules.get(name)
        if module is None:
            continue
        version = getattr(module, "__version__", None)
        if version is None:
            try:
                version = metadata.version(name)
            except metadata.PackageNotFoundError:
                version = "unknown"
        versions[name] = str(version)
    with contextlib.suppress(metadata.PackageNotFoundError):
        versions["dlweek"] = metadata.version("dlweek")
    return versions


def hardware() -> dict[str, Any]:
    """CPU count, processor, platform, and accelerators known to an imported tf/torch."""
    info: dict[str, Any] = {
        "cpu_count": os.cpu_count(),
        "processor": platform.processor() or platform.machine(),
        "platform": platform.platform(),
        "machine": platform.machine(),
    }
    with contextlib.suppress(AttributeError, OSError):
        info["cpus_usable"] = len(os.sched_getaffinity(0))
    gpus: list[str] = []
    tf = sys.modules.get("tensorflow")
    if tf is not None:
        with contextlib.suppress(AttributeError, RuntimeError):
            gpus += [f"tf:{d.name}" for d in tf.config.list_physical_devices("GPU")]
    torch = sys.modules.get("torch")
    if torch is not None:
        try:
            if torch.cuda.is_available():
                gpus += [f"torch:{torch.cuda.get_device_name(i)}"
                         for i in range(torch.cuda.device_count())]
        except (AttributeError, RuntimeError):
            pass
    info["gpus"] = gpus
    return info


def _jsonable(value: Any) -> Any:
    """numpy scalars/arrays, Paths, tuples and NaN → plain JSON values."""
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, bool | int | str) or value is None:
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if hasattr(value, "tolist"):  # numpy scalar or array
        return _jsonable(value.tolist())
    return str(value)


def _model_info(model: Any) -> dict[str, Any]:
    info: dict[str, Any] = {"name": getattr(model, "name", type(model).__name__),
                            "class": type(model).__name__}
    count = getattr(model, "count_params", None)
    if callable(count):
        try:
            info["params"] = int(count())
            info["trainable_params"] = int(sum(
                math.prod(int(d) for d in w.shape) for w in model.trainable_weights))
        except (ValueError, AttributeError, TypeError):
            pass
    return info


def build_run_record(name: str, *, dataset: Any = None, metrics: Mapping[str, Any],
                     seed: int | None, epochs: int | None = None, wall_seconds: float,
                     model: Any = None, extra: Mapping[str, Any] | None = None,
                     profile: str | None = None) -> dict[str, Any]:
    """The record as a dict (what :func:`write_run_record` writes)."""
    if dataset is None:
        data_info: dict[str, Any] | None = None
    elif isinstance(dataset, Mapping):
        data_info = dict(dataset)
    elif hasattr(dataset, "info"):
        data_info = dict(dataset.info())
    else:
        raise RunRecordError(f"dataset must be an ArrayDataset, a dict or None, not "
                             f"{type(dataset).__name__}.")
    prof = profile or (data_info or {}).get("profile") or config.get_profile()
    now = _dt.datetime.now(_dt.UTC)
    record = {
        "record_version": RECORD_VERSION,
        "name": name,
        "created": now.isoformat(timespec="seconds"),
        "profile": prof,
        "seed": seed,
        "dataset": data_info,
        "epochs": epochs,
        "wall_seconds": round(float(wall_seconds), 3),
        "metrics": dict(metrics),
        "model": _model_info(model) if model is not None else None,
        "versions": library_versions(),
        "hardware": hardware(),
        "extra": dict(extra or {}),
    }
    return _jsonable(record)


def write_run_record(name: str, *, dataset: Any = None, metrics: Mapping[str, Any],
                     seed: int | None, epochs: int | None = None, wall_seconds: float,
                     model: Any = None, extra: Mapping[str, Any] | None = None,
                     out_dir: str | os.PathLike[str] | None = None) -> Path:
    """Write a run record as JSON and return its path.

    The file is ``<out_dir or runs_dir()>/<name>-<UTC timestamp>-<pid>.json``, written to a
    temporary file in the same folder and renamed into place (never half-written).

    Args:
        name: what ran (e.g. a recipe name).
        dataset: an :class:`~dlweek.data.ArrayDataset` (its ``info()`` is stored, including
            the sha256 checksum) or an equivalent dict, or None.
        metrics: final metrics, e.g. ``{"accuracy": 0.93, "loss": 0.2}``.
        seed: the seed the run used.
        epochs: epochs trained.
        wall_seconds: training wall time.
        model: a Keras model (its name and parameter counts are stored).
        extra: anything else JSON-able (hyper-parameters...).
        out_dir: folder to write into (default :func:`dlweek.config.runs_dir`).

    Raises:
        RunRecordError: the folder cannot be created or written.
    """
    record = build_run_record(name, dataset=dataset, metrics=metrics, seed=seed, epochs=epochs,
                              wall_seconds=wall_seconds, model=model, extra=extra)
    folder = Path(out_dir) if out_dir is not None else config.runs_dir()
    stamp = _dt.datetime.now(_dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    path = folder / f"{_SAFE.sub('_', name) or 'run'}-{stamp}-{os.getpid()}.json"
    try:
        atomic_write_text(path, json.dumps(record, indent=2) + "\n")
    except OSError as exc:
        raise RunRecordError(f"Could not write the run record into {folder} ({exc}). Set "
                             "DLWEEK_RUNS_DIR to a writable folder or pass out_dir.") from exc
    return path


def load_run_record(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a run record written by :func:`write_run_record`."""
    try:
        record = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise RunRecordError(f"Could not read run record {path}: {exc}") from exc
    if not isinstance(record, dict) or "metrics" not in record:
        raise RunRecordError(f"{path} is not a dlweek run record (no 'metrics').")
    return record


def list_run_records(folder: str | os.PathLike[str] | None = None,
                     name: str | None = None) -> list[Path]:
    """Run-record files in ``folder`` (default runs_dir()), oldest first, optionally by name."""
    root = Path(folder) if folder is not None else config.runs_dir()
    if not root.is_dir():
        return []
    pattern = f"{_SAFE.sub('_', name)}-*.json" if name else "*.json"
    return sorted(root.glob(pattern), key=lambda p: p.stat().st_mtime)

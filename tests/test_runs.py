"""Run records: content, atomic writing, and no TensorFlow import."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from dlweek import runs
from dlweek.data import load_dataset


@pytest.fixture(scope="module")
def mnist(mirror):
    return load_dataset("mnist", profile="quick", seed=0)


def test_run_record_content(mnist, tmp_path):
    path = runs.write_run_record("demo run", dataset=mnist, metrics={"accuracy": 0.91,
                                 "loss": float("nan")}, seed=0, epochs=3, wall_seconds=12.3456,
                                 extra={"lr": 1e-3, "shape": (28, 28, 1)}, out_dir=tmp_path)
    assert path.parent == tmp_path and path.suffix == ".json"
    assert path.name.startswith("demo_run-")
    assert not list(tmp_path.glob(".*.tmp")), "no temporary file left behind"
    record = runs.load_run_record(path)
    assert record["name"] == "demo run"
    assert record["dataset"]["checksum"] == mnist.checksum
    assert record["dataset"]["source"] == mnist.source.kind
    assert record["dataset"]["name"] == "mnist"
    assert record["profile"] == "quick" and record["seed"] == 0 and record["epochs"] == 3
    assert record["wall_seconds"] == pytest.approx(12.346)
    assert record["metrics"] == {"accuracy": 0.91, "loss": None}
    assert record["extra"] == {"lr": 1e-3, "shape": [28, 28, 1]}
    assert {"python", "numpy"} <= set(record["versions"])
    hw = record["hardware"]
    assert hw["cpu_count"] == os.cpu_count() and hw["platform"] and "gpus" in hw
    assert record["created"].endswith("+00:00")
    assert runs.list_run_records(tmp_path) == [path]


def test_run_record_with_model_and_default_dir(tmp_path, monkeypatch):
    keras = pytest.importorskip("keras")
    from dlweek import models

    monkeypatch.setenv("DLWEEK_RUNS_DIR", str(tmp_path / "runs"))
    model = models.lenet5((28, 28, 1), 10)
    path = runs.write_run_record("m", dataset={"name": "custom", "profile": "full"},
                                 metrics={"accuracy": 0.5}, seed=1, wall_seconds=1.0, model=model)
    record = json.loads(path.read_text())
    assert path.parent == tmp_path / "runs"
    assert record["model"]["params"] == model.count_params()
    assert record["profile"] == "full"
    assert record["versions"]["keras"] == keras.__version__
    assert "tensorflow" in record["versions"]


def test_run_record_errors(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]")
    with pytest.raises(runs.RunRecordError):
        runs.load_run_record(bad)
    with pytest.raises(runs.RunRecordError):
        runs.write_run_record("x", dataset=object(), metrics={}, seed=0, wall_seconds=0,
                              out_dir=tmp_path)


def test_runs_imports_no_tensorflow_and_reports_only_imported_libraries(tmp_path):
    code = (
        "import sys, json; from dlweek import runs\n"
        "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules\n"
        "assert 'torch' not in sys.modules\n"
        f"p = runs.write_run_record('n', metrics={{}}, seed=0, wall_seconds=0, "
        f"out_dir={str(tmp_path)!r})\n"
        "v = json.load(open(p))['versions']\n"
        "assert 'torch' not in v and 'tensorflow' not in v, v\n"
        "assert 'tensorflow' not in sys.modules\n"
    )
    env = {**os.environ, "DLWEEK_PROFILE": "quick"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr

"""The course runner: executes day notebooks in order, collects outputs, names failures."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from dlweek import cli, course

RECORD_CELL = """import os
from dlweek import runs
assert os.environ["DLWEEK_PROFILE"] == "quick"
runs.write_run_record("day1_demo", dataset={"name": "toy", "checksum": "abcdef0123456789"},
                      metrics={"test_accuracy": 0.75}, seed=1, wall_seconds=2.5,
                      extra={"model": "toy net", "parameters": 1234, "headline": True})"""
FIGURE_CELL = """%matplotlib inline
from matplotlib.figure import Figure
fig = Figure(figsize=(2, 2))
fig.subplots().plot([0, 1], [1, 0])
fig"""


def _write(folder: Path, name: str, *sources: str) -> Path:
    nb = new_notebook(cells=[new_markdown_cell("# demo")] + [new_code_cell(s) for s in sources],
                      metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                               "language": "python"}})
    path = folder / name
    nbformat.write(nb, path)
    return path


def test_find_notebooks_orders_by_day_number(tmp_path: Path) -> None:
    for name in ("day10_x.ipynb", "day2_b.ipynb", "day1_a.ipynb", "notes.ipynb"):
        _write(tmp_path, name, "1")
    found = course.find_notebooks(tmp_path)
    assert [p.name for p in found] == ["day1_a.ipynb", "day2_b.ipynb", "day10_x.ipynb"]
    assert [p.name for p in course.find_notebooks(tmp_path, days=[2])] == ["day2_b.ipynb"]
    with pytest.raises(course.CourseError, match="day"):
        course.find_notebooks(tmp_path / "empty")


def test_summary_row_reads_run_records() -> None:
    record = {"name": "day4_fashion_cnn", "dataset": {"name": "fashion_mnist",
                                                      "checksum": "c6f5c719deadbeef"},
              "model": {"name": "fashion_cnn", "params": 104906}, "wall_seconds": 61.23,
              "metrics": {"loss": 0.3, "test_accuracy": 0.9312}}
    row = course.summary_row(record)
    assert row == {"dataset": "fashion_mnist (c6f5c719)", "model": "fashion_cnn",
                   "parameters": "104,906", "metric": "test_accuracy 0.9312",
                   "time": "61.2 s", "run": "day4_fashion_cnn"}
    assert course.pick_headline([{"name": "a"}, {"name": "b", "extra": {"headline": True}},
                                 {"name": "c"}])["name"] == "b"


@pytest.mark.slow
def test_run_course_collects_outputs_and_names_the_failing_cell(tmp_path: Path) -> None:
    nbs = tmp_path / "notebooks"
    nbs.mkdir()
    _write(nbs, "day1_ok.ipynb", RECORD_CELL, FIGURE_CELL)
    _write(nbs, "day2_broken.ipynb", "x = 1", "assert x == 2, 'learning broke'", "y = 3")
    out = tmp_path / "out"
    old = out / "runs" / "day1_older-run.json"  # another run's record: kept, not summarised
    old.parent.mkdir(parents=True)
    old.write_text('{"name": "day1_older", "metrics": {"test_accuracy": 0.1}}')
    os.utime(old, (1_000_000_000, 1_000_000_000))
    result = course.run_course("quick", out, notebooks=nbs, progress=False, timeout=120)
    assert old.is_file() and "day1_older" not in result.summary.read_text()
    ok, broken = result.notebooks
    assert ok.ok and not broken.ok and not result.ok
    assert broken.failed_cell == 2
    assert "day2_broken.ipynb, cell 2" in broken.error and "learning broke" in broken.error
    assert (out / "notebooks" / "day1_ok.ipynb").is_file()
    assert (out / "html" / "day2_broken.html").is_file()  # rendered up to the failure
    assert len(ok.figures) == 1 and ok.figures[0].read_bytes()[:4] == b"\x89PNG"
    summary = result.summary.read_text()
    assert "| 1 | day1_ok.ipynb | ok | toy (abcdef01) | toy net | 1,234 | test_accuracy 0.7500" \
        in summary
    assert "FAILED at cell 2" in summary and "learning broke" in summary
    machine = json.loads((out / "summary.json").read_text())
    assert machine["profile"] == result.profile and machine["ok"] is False
    assert sorted(machine["per_notebook"]) == ["day1_ok.ipynb", "day2_broken.ipynb"]


def test_course_command_is_registered() -> None:
    parser = cli.build_parser()
    args = parser.parse_args(["course", "--profile", "quick", "--out", "x", "--days", "1,3"])
    assert args.profile == "quick" and args.out == "x" and callable(args.func)
    assert course._parse_days("1, 3") == [1, 3]
    with pytest.raises(argparse.ArgumentTypeError):
        course._parse_days("one")


def test_course_command_reports_missing_notebooks(tmp_path: Path, capsys) -> None:
    code = cli.main(["course", "--profile", "quick", "--notebooks", str(tmp_path),
                     "--out", str(tmp_path / "out")])
    assert code == 2 and "No dayN_" in capsys.readouterr().err

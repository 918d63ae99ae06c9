"""``make course``: run the seven notebooks headlessly and collect what they produce.

For each ``notebooks/dayN_*.ipynb`` (in day order) the runner starts a fresh kernel with
``DLWEEK_PROFILE`` set, executes the cells one by one with a progress bar, and writes to
the output folder:

- ``notebooks/dayN_*.ipynb`` — the executed notebook (also when it fails, up to the failing cell);
- ``html/dayN_*.html`` — an HTML rendering (nbconvert);
- ``figures/dayN_cellNN_K.png`` — every picture the notebook drew;
- ``runs/*.json`` — the run records the notebooks wrote (``DLWEEK_RUNS_DIR`` points here);
- ``summary.md`` — one row per day (dataset, model, parameters, metric, time) from the run
  records, plus the wall time of every notebook.

A failing cell stops that notebook; the error names the notebook, the cell number and its
first line. The other notebooks still run, and the exit status is non-zero.

Example:
    $ dlweek course --profile quick --out build/course
"""

from __future__ import annotations

import argparse
import base64
import json
import logging
import os
import re
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from dlweek import config

log = logging.getLogger(__name__)

DAY_PATTERN = re.compile(r"^day(\d+)_.*\.ipynb$")
DEFAULT_TIMEOUT_S = 3600


class CourseError(RuntimeError):
    """The course could not start (no notebooks found, bad arguments)."""


@dataclass
class NotebookResult:
    """What happened to one notebook."""

    day: int
    path: Path
    seconds: float
    ok: bool
    error: str = ""
    failed_cell: int | None = None
    figures: list[Path] = field(default_factory=list)
    executed: Path | None = None
    html: Path | None = None


@dataclass
class CourseResult:
    """Every notebook's result and the summary file."""

    profile: str
    out: Path
    notebooks: list[NotebookResult]
    summary: Path

    @property
    def ok(self) -> bool:
        return all(nb.ok for nb in self.notebooks)


def repo_root() -> Path:
    """The repository holding this (editable) package: ``src/dlweek`` → two levels up."""
    return Path(__file__).resolve().parents[2]


def find_notebooks(folder: Path | None = None, days: Sequence[int] | None = None) -> list[Path]:
    """``dayN_*.ipynb`` files in ``folder`` (default ``./notebooks`` or the repo's), by day.

    Raises:
        CourseError: when the folder has no day notebooks (or none of ``days``).
    """
    candidates = [folder] if folder else [Path("notebooks"), repo_root() / "notebooks"]
    for candidate in candidates:
        found = sorted(
            (int(m.group(1)), p) for p in candidate.glob("day*_*.ipynb")
            if (m := DAY_PATTERN.match(p.name))
        )
        if found:
            picked = [p for day, p in found if not days or day in days]
            if not picked:
                raise CourseError(f"No notebook for day(s) {list(days or [])} in {candidate}.")
            return picked
    raise CourseError("No dayN_*.ipynb notebooks found in "
                      + " or ".join(str(c) for c in candidates)
                      + ". Run from the repository root or pass --notebooks.")


def kernel_environment(profile: str, runs_dir: Path) -> dict[str, str]:
    """The environment the notebooks run in: profile, run-record folder, offline data mirror."""
    env = dict(os.environ)
    env["DLWEEK_PROFILE"] = profile
    env["DLWEEK_RUNS_DIR"] = str(runs_dir.resolve())
    env.pop("MPLBACKEND", None)  # let the kernel use its inline backend so figures are kept
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    mirror = repo_root().parent / "shared" / "data"
    if not env.get("DLWEEK_DATA_DIR") and mirror.is_dir():
        env["DLWEEK_DATA_DIR"] = str(mirror)
    return env


@contextmanager
def _environment(env: dict[str, str]) -> Iterator[None]:
    """Temporarily replace ``os.environ`` (the kernel inherits it when it starts)."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _first_line(source: str) -> str:
    for line in source.splitlines():
        if line.strip():
            return line.strip()[:80]
    return "(empty cell)"


def extract_figures(nb: object, stem: str, folder: Path) -> list[Path]:
    """Write every PNG output of an executed notebook to ``folder``; return the paths."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for index, cell in enumerate(nb.cells):  # type: ignore[attr-defined]
        pngs = [o["data"]["image/png"] for o in cell.get("outputs", [])
                if "data" in o and "image/png" in o["data"]]
        for k, data in enumerate(pngs):
            path = folder / f"{stem}_cell{index:02d}_{k}.png"
            path.write_bytes(base64.b64decode(data))
            written.append(path)
    return written


def run_notebook(path: Path, out: Path, *, profile: str, timeout: int = DEFAULT_TIMEOUT_S,
                 progress: bool = True) -> NotebookResult:
    """Execute one notebook in a fresh kernel (cwd = its folder); save notebook, HTML, figures."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
    from nbconvert import HTMLExporter
    from tqdm.auto import tqdm

    day = int(DAY_PATTERN.match(path.name).group(1))  # type: ignore[union-attr]
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent.resolve())}})
    result = NotebookResult(day, path, 0.0, True)
    code_cells = [(i, c) for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    start = time.perf_counter()
    bar = tqdm(total=len(code_cells), desc=f"day {day}: {path.stem}", unit="cell",
               disable=not progress, file=sys.stderr, leave=True)
    with _environment(kernel_environment(profile, out / "runs")):
        try:
            with client.setup_kernel():
                for index, cell in code_cells:
                    bar.set_postfix_str(_first_line(cell.source)[:40])
                    try:
                        client.execute_cell(cell, index)
                    except (CellExecutionError, CellTimeoutError, DeadKernelError) as exc:
                        result.ok, result.failed_cell = False, index
                        kind = type(exc).__name__
                        detail = (getattr(exc, "ename", "") + ": " + getattr(exc, "evalue", "")
                                  ).strip(": ") or str(exc).strip().splitlines()[-1]
                        result.error = (f"{path.name}, cell {index} "
                                        f"({_first_line(cell.source)!r}): {kind}: {detail}")
                        break
                    bar.update(1)
        except (RuntimeError, OSError) as exc:  # the kernel did not start
            result.ok, result.error = False, f"{path.name}: kernel failed: {exc}"
        finally:
            bar.close()
    result.seconds = time.perf_counter() - start
    executed = out / "notebooks" / path.name
    executed.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, executed)
    result.executed = executed
    html = out / "html" / (path.stem + ".html")
    html.parent.mkdir(parents=True, exist_ok=True)
    body, _ = HTMLExporter().from_notebook_node(nb)
    html.write_text(body, encoding="utf-8")
    result.html = html
    result.figures = extract_figures(nb, path.stem, out / "figures")
    return result


# --- summary -----------------------------------------------------------------------------

def _records(runs_dir: Path, since: float = 0.0) -> list[dict]:
    """Run records in ``runs_dir`` written at or after ``since`` (a ``time.time()``)."""
    records = []
    for path in sorted(runs_dir.glob("*.json")):
        if path.stat().st_mtime < since:
            continue
        try:
            record = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            log.warning("skipping unreadable run record %s: %s", path, exc)
            continue
        if isinstance(record, dict) and "metrics" in record and "name" in record:
            record.setdefault("_file", path.name)
            records.append(record)
    return records


def _record_day(record: dict) -> int | None:
    match = re.match(r"^day(\d+)", str(record.get("name", "")))
    return int(match.group(1)) if match else None


def _headline_metric(metrics: dict) -> str:
    for key in ("test_accuracy", "val_accuracy", "accuracy", "test_auc"):
        if isinstance(metrics.get(key), int | float):
            return f"{key} {metrics[key]:.4f}"
    numeric = [(k, v) for k, v in metrics.items() if isinstance(v, int | float)]
    return f"{numeric[0][0]} {numeric[0][1]:.4g}" if numeric else "-"


def _model_fields(record: dict) -> tuple[str, str]:
    model = record.get("model")
    extra = record.get("extra") or {}
    name, params = "-", None
    if isinstance(model, dict):
        name = str(model.get("name") or model.get("class") or "-")
        params = model.get("parameters", model.get("params", model.get("count_params")))
    elif isinstance(model, str):
        name = model
    name = str(extra.get("model", name))
    params = extra.get("parameters", params)
    return name, (f"{int(params):,}" if isinstance(params, int | float) else "-")


def summary_row(record: dict) -> dict[str, str]:
    """The summary table's cells for one run record."""
    dataset = record.get("dataset") or {}
    data_name = dataset.get("name", "-") if isinstance(dataset, dict) else str(dataset)
    checksum = dataset.get("checksum", "") if isinstance(dataset, dict) else ""
    model, params = _model_fields(record)
    seconds = record.get("wall_seconds", record.get("seconds"))
    return {
        "dataset": f"{data_name} ({checksum[:8]})" if checksum else str(data_name),
        "model": model,
        "parameters": params,
        "metric": _headline_metric(record.get("metrics") or {}),
        "time": f"{seconds:.1f} s" if isinstance(seconds, int | float) else "-",
        "run": str(record.get("name", record.get("_file", "-"))),
    }


def pick_headline(records: list[dict]) -> dict | None:
    """A day's headline record: the one marked ``extra.headline``, else the last written."""
    marked = [r for r in records if (r.get("extra") or {}).get("headline")]
    return (marked or records or [None])[-1]


def write_summary(out: Path, profile: str, notebooks: list[NotebookResult],
                  since: float = 0.0) -> Path:
    """Write ``summary.md``: one row per day from the run records (those written since
    ``since``), then every record; and ``summary.json`` with each notebook's wall time."""
    records = _records(out / "runs", since)
    by_day: dict[int, list[dict]] = {}
    for record in records:
        day = _record_day(record)
        if day is not None:
            by_day.setdefault(day, []).append(record)
    lines = [f"# dlweek course — profile `{profile}`", "",
             "| day | notebook | status | dataset | model | parameters | metric | train time |"
             " notebook time |",
             "|---|---|---|---|---|---:|---|---:|---:|"]
    for nb in notebooks:
        head = pick_headline(by_day.get(nb.day, []))
        row = summary_row(head) if head else dict.fromkeys(
            ("dataset", "model", "parameters", "metric", "time"), "-")
        status = "ok" if nb.ok else f"FAILED at cell {nb.failed_cell}"
        lines.append(f"| {nb.day} | {nb.path.name} | {status} | {row['dataset']} | "
                     f"{row['model']} | {row['parameters']} | {row['metric']} | {row['time']} |"
                     f" {nb.seconds:.0f} s |")
    total = sum(nb.seconds for nb in notebooks)
    lines += ["", f"Total notebook time: {total / 60:.1f} min.", ""]
    failures = [nb for nb in notebooks if not nb.ok]
    if failures:
        lines += ["## Failures", ""] + [f"- {nb.error}" for nb in failures] + [""]
    if records:
        lines += ["## All run records", "", "| run | dataset | model | parameters | metric | "
                  "time |", "|---|---|---|---:|---|---:|"]
        for record in records:
            row = summary_row(record)
            lines.append(f"| {row['run']} | {row['dataset']} | {row['model']} | "
                         f"{row['parameters']} | {row['metric']} | {row['time']} |")
        lines.append("")
    path = out / "summary.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    (out / "summary.json").write_text(json.dumps({  # the machine-readable twin (make bench)
        "profile": profile, "total_seconds": total, "ok": not failures,
        "per_notebook": {nb.path.name: nb.seconds for nb in notebooks},
    }, indent=2), encoding="utf-8")
    return path


def run_course(profile: str | None = None, out: Path | str = "build/course", *,
               notebooks: Path | None = None, days: Sequence[int] | None = None,
               timeout: int = DEFAULT_TIMEOUT_S, progress: bool = True) -> CourseResult:
    """Execute the day notebooks in order and write everything to ``out`` (see module doc)."""
    prof = config.get_profile(profile)
    out = Path(out)
    paths = find_notebooks(notebooks, days)
    out.mkdir(parents=True, exist_ok=True)
    (out / "runs").mkdir(exist_ok=True)
    started = time.time()  # the summary is about this run's records only (older ones stay)
    results = []
    for path in paths:
        log.info("running %s (%s profile)", path, prof)
        result = run_notebook(path, out, profile=prof, timeout=timeout, progress=progress)
        if not result.ok:
            log.error("%s", result.error)
        results.append(result)
    summary = write_summary(out, prof, results, since=started - 1)
    return CourseResult(prof, out, results, summary)


# --- command line ------------------------------------------------------------------------

def _parse_days(text: str | None) -> list[int] | None:
    if not text:
        return None
    try:
        return [int(d) for d in text.replace(" ", "").split(",") if d]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"--days takes numbers like 1,2,5 (got {text!r})") \
            from exc


def main(args: argparse.Namespace) -> int:
    """Handler of ``dlweek course``."""
    try:
        result = run_course(args.profile, args.out, notebooks=args.notebooks,
                            days=_parse_days(args.days), timeout=args.timeout,
                            progress=not args.no_progress)
    except (CourseError, config.ConfigError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for nb in result.notebooks:
        state = "ok    " if nb.ok else "FAILED"
        print(f"{state} {nb.path.name:<40} {nb.seconds:7.1f} s  {len(nb.figures)} figures")
    for nb in result.notebooks:
        if not nb.ok:
            print(f"error: {nb.error}\n  executed notebook (up to the failure): {nb.executed}",
                  file=sys.stderr)
    print(f"summary: {result.summary}")
    return 0 if result.ok else 1

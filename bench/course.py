"""Course: wall time of each notebook under nbval (quick profile), and the last full course.

The full course takes far longer than `make bench` may (20 minutes), so its per-notebook times
are read from the most recent `make course` output (build/course/) when it exists.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


def nbval_quick() -> dict[str, Any]:
    per_notebook: dict[str, float] = {}
    failed: list[str] = []
    env = dict(os.environ, DLWEEK_PROFILE="quick", DLWEEK_OFFLINE="1")
    for nb in sorted((REPO / "notebooks").glob("day*.ipynb")):
        t0 = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "pytest", "-q", "--nbval-lax", str(nb),
                               "-p", "no:cacheprovider"], cwd=REPO, env=env,
                              capture_output=True, text=True)
        per_notebook[nb.name] = time.perf_counter() - t0
        if done.returncode != 0:
            failed.append(nb.name)
    return {"nbval_quick_seconds": sum(per_notebook.values()), "per_notebook": per_notebook,
            "failed": failed}


def last_full_course() -> dict[str, Any] | None:
    summary = REPO / "build" / "course" / "summary.json"
    if not summary.is_file():
        return None
    data = json.loads(summary.read_text())
    return data if data.get("profile") == "full" else None


def run() -> dict[str, Any]:
    out = nbval_quick()
    out["full_course"] = last_full_course()
    return out

"""The package installs as documented and stays light to import."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[1]


def _requirements(lines: list[str]) -> dict[str, str]:
    """{normalised name: specifier}; tensorflow-cpu counts as tensorflow, markers dropped."""
    out = {}
    for line in lines:
        if line.startswith("-e"):
            continue
        req = Requirement(line)
        name = canonicalize_name(req.name)
        out["tensorflow" if name == "tensorflow-cpu" else name] = str(req.specifier)
    return out


def _pyproject() -> dict[str, str]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    lines = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        lines += extra
    return _requirements(lines)


def _environment() -> dict[str, str]:
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    return _requirements(next(d["pip"] for d in env["dependencies"] if isinstance(d, dict)))


def test_environment_yml_lists_the_same_packages_and_versions_as_pyproject() -> None:
    wanted, listed = _pyproject(), _environment()
    assert sorted(listed) == sorted(wanted), (
        f"only in environment.yml: {sorted(set(listed) - set(wanted))}; "
        f"only in pyproject.toml: {sorted(set(wanted) - set(listed))}")
    drift = {n: (wanted[n], listed[n]) for n in wanted if wanted[n] != listed[n]}
    assert drift == {}, f"version specifiers differ (pyproject, environment.yml): {drift}"


def test_import_dlweek_does_not_import_tensorflow_or_torch() -> None:
    code = ("import sys, time; t = time.perf_counter(); import dlweek, dlweek.config, "
            "dlweek.data, dlweek.sources, dlweek.cli; dt = time.perf_counter() - t; "
            "heavy = [m for m in ('tensorflow', 'keras', 'torch') if m in sys.modules]; "
            "print(repr(heavy), dt)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out[0] == "[]", f"import dlweek pulled in {out[0]}"
    assert float(out[1]) < 2.0  # ~0.3 s here; a TensorFlow import alone takes ~5 s


def test_console_script_help_is_fast_and_lists_data() -> None:
    done = subprocess.run([sys.executable, "-m", "dlweek.cli", "--help"], capture_output=True,
                          text=True, check=True)
    assert "data" in done.stdout

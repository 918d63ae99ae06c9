"""A small load generator for the local service: latency percentiles and throughput.

Only talks to the local machine (127.0.0.1 / localhost) and sends a bounded number of
requests. Each thread keeps one HTTP/1.1 keep-alive connection.

    python -m dlweek.serving.loadgen --url http://127.0.0.1:8000 --concurrency 1 16 \\
        --requests 400 --image cat.jpg
"""

from __future__ import annotations

import argparse
import http.client
import json
import logging
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np

log = logging.getLogger(__name__)
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
MAX_REQUESTS = 20_000


@dataclass
class LoadResult:
    """One load level's numbers (latencies in milliseconds)."""

    concurrency: int
    requests: int
    errors: int
    seconds: float
    throughput_rps: float
    p50_ms: float
    p90_ms: float
    p95_ms: float
    p99_ms: float
    mean_batch: float


def run_load(url: str, image: bytes, *, concurrency: int, requests: int,
             model: str | None = None, content_type: str = "image/jpeg",
             warmup: int = 5) -> LoadResult:
    """POST ``image`` to ``url``/api/v1/predict ``requests`` times from ``concurrency`` threads.

    Raises:
        ValueError: the URL is not on this machine, or the request count is out of bounds.
    """
    parts = urlsplit(url)
    if parts.hostname not in LOCAL_HOSTS:
        raise ValueError(f"loadgen only targets this machine (127.0.0.1), not {parts.hostname}")
    if not 1 <= requests <= MAX_REQUESTS or concurrency < 1:
        raise ValueError(f"requests must be 1..{MAX_REQUESTS} and concurrency >= 1")
    path = "/api/v1/predict" + (f"?model={model}" if model else "")
    headers = {"Content-Type": content_type, "Connection": "keep-alive"}
    latencies: list[float] = []
    batches: list[int] = []
    errors = 0
    lock = threading.Lock()
    counter = iter(range(requests))

    def one(conn: http.client.HTTPConnection) -> tuple[int, dict]:
        conn.request("POST", path, body=image, headers=headers)
        resp = conn.getresponse()
        return resp.status, json.loads(resp.read() or b"{}")

    def worker() -> None:
        nonlocal errors
        conn = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=60)
        try:
            while True:
                with lock:
                    if next(counter, None) is None:
                        return
                t0 = time.perf_counter()
                try:
                    status, body = one(conn)
                except (OSError, http.client.HTTPException):
                    conn.close()
                    conn = http.client.HTTPConnection(parts.hostname, parts.port or 80,
                                                      timeout=60)
                    status, body = 0, {}
                dt = (time.perf_counter() - t0) * 1000
                with lock:
                    if status == 200:
                        latencies.append(dt)
                        batches.append(int(body.get("batch_size", 1)))
                    else:
                        errors += 1
        finally:
            conn.close()

    warm = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=60)
    for _ in range(warmup):
        one(warm)
    warm.close()
    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - t0
    lat = np.asarray(latencies) if latencies else np.asarray([np.nan])
    return LoadResult(concurrency, requests, errors, round(seconds, 3),
                      round(len(latencies) / seconds, 1),
                      *(round(float(np.percentile(lat, q)), 2) for q in (50, 90, 95, 99)),
                      round(float(np.mean(batches)) if batches else 0.0, 2))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Latency/throughput of a local dlweek serve.")
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--image", type=Path, required=True)
    parser.add_argument("--model", default=None)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16])
    parser.add_argument("--requests", type=int, default=400, help="per concurrency level")
    parser.add_argument("--json", action="store_true", help="print JSON lines")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    data = args.image.read_bytes()
    for c in args.concurrency:
        result = run_load(args.url, data, concurrency=c, requests=args.requests,
                          model=args.model)
        if args.json:
            sys.stdout.write(json.dumps(asdict(result)) + "\n")
        else:
            log.info("concurrency %3d: %5d requests, %d errors, %.1f req/s, p50 %.1f ms, "
                     "p90 %.1f ms, p99 %.1f ms, mean batch %.2f", c, result.requests,
                     result.errors, result.throughput_rps, result.p50_ms, result.p90_ms,
                     result.p99_ms, result.mean_batch)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""A bounded closed-loop HTTP load generator, run as its own process (127.0.0.1 only).

``python -m bench.loadgen URL CONCURRENCY REQUESTS IMAGE [IMAGE ...]`` posts each image as
multipart field ``file`` over keep-alive connections from CONCURRENCY threads until REQUESTS
requests are done (or 120 s pass), then prints one JSON line: throughput, latencies, errors.
"""

from __future__ import annotations

import http.client
import json
import sys
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlparse

DEADLINE_S = 120.0


def multipart(image: bytes, name: str) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
            f"filename=\"{name}\"\r\nContent-Type: image/jpeg\r\n\r\n").encode()
    body += image + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def run(url: str, concurrency: int, total: int, images: list[Path]) -> dict:
    target = urlparse(url)
    if target.hostname not in ("127.0.0.1", "localhost"):
        raise SystemExit("loadgen only targets 127.0.0.1")
    bodies = [multipart(p.read_bytes(), p.name) for p in images]
    latencies: list[float] = []
    errors: dict[str, int] = {}
    lock = threading.Lock()
    counter = iter(range(total))
    start = time.perf_counter()

    def worker() -> None:
        conn = http.client.HTTPConnection(target.hostname, target.port, timeout=60)
        while time.perf_counter() - start < DEADLINE_S:
            with lock:
                i = next(counter, None)
            if i is None:
                break
            body, ctype = bodies[i % len(bodies)]
            t0 = time.perf_counter()
            try:
                conn.request("POST", target.path, body=body, headers={"Content-Type": ctype})
                resp = conn.getresponse()
                resp.read()
                status = str(resp.status)
            except (OSError, http.client.HTTPException) as exc:
                status = type(exc).__name__
                conn.close()
                conn = http.client.HTTPConnection(target.hostname, target.port, timeout=60)
            dt = (time.perf_counter() - t0) * 1000
            with lock:
                if status == "200":
                    latencies.append(dt)
                else:
                    errors[status] = errors.get(status, 0) + 1
        conn.close()

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    return {"concurrency": concurrency, "ok": len(latencies), "errors": errors,
            "seconds": elapsed, "rps": len(latencies) / elapsed, "latencies_ms": latencies}


if __name__ == "__main__":
    url, conc, total, *files = sys.argv[1:]
    print(json.dumps(run(url, int(conc), int(total), [Path(f) for f in files])))

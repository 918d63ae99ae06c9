"""`python -m bench [--only training|serving|course|backends]` → bench/results.json, RESULTS.md.

Parts run in the order training, serving, backends, course. With --only, the other parts'
previous results in results.json are kept, so the report always shows the latest of each.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import time
from pathlib import Path
from typing import Any

from bench import report

HERE = Path(__file__).resolve().parent
PARTS = ("training", "serving", "backends", "course")


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--only", choices=PARTS, action="append",
                        help="run one part (repeatable); default: all")
    parser.add_argument("--reps", type=int, default=2,
                        help="serving: repetitions per competitor (default 2)")
    parser.add_argument("--train-reps", type=int, default=1,
                        help="training: interleaved baseline/dlweek pairs (default 1, ~10 min "
                             "each on 2 cores)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    os.environ.setdefault("DLWEEK_OFFLINE", "1")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    path = HERE / "results.json"
    results: dict[str, Any] = json.loads(path.read_text()) if path.is_file() else {}
    for part in args.only or PARTS:
        t0 = time.perf_counter()
        logging.info("bench: %s", part)
        if part == "training":
            from bench import training

            results["training"] = training.run(reps=args.train_reps)
        elif part == "serving":
            from bench import serving

            results["serving"] = serving.run(reps=args.reps)
        elif part == "backends":
            from bench import backends

            results["backends"] = backends.run()
        else:
            from bench import course

            results["course"] = course.run()
        results[part]["bench_seconds"] = time.perf_counter() - t0
        results["machine"] = {"cpus": os.cpu_count(), "platform": platform.platform(),
                              "processor": report.cpu_model(), "date": time.strftime("%F")}
        path.write_text(json.dumps(results, indent=2, default=str))
        report.write(results, HERE)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""``dlweek serve`` and ``dlweek export``: argument parsing only; the work is imported lazily."""

from __future__ import annotations

import argparse
import logging
import sys

log = logging.getLogger(__name__)


def _serve(args: argparse.Namespace) -> int:
    from dlweek.serving.errors import ModelLoadError
    from dlweek.serving.server import ServerOptions, check, run_dev, run_gunicorn
    from dlweek.serving.settings import ServeSettings

    logging.getLogger("dlweek").setLevel(logging.INFO)
    try:
        settings = ServeSettings.from_env(
            models=tuple(args.model) if args.model else None,
            default_model=args.default_model,
            max_request_bytes=int(args.max_request_mb * 1024 * 1024)
            if args.max_request_mb else None,
            max_pixels=args.max_pixels, max_batch=args.max_batch, max_wait_ms=args.max_wait_ms,
            queue_size=args.queue_size, timeout_s=args.timeout)
        specs = check(settings)
    except (ModelLoadError, ValueError) as exc:
        print(f"error: {getattr(exc, 'message', exc)}", file=sys.stderr)
        return 2
    options = ServerOptions(host=args.host, port=args.port, workers=args.workers,
                            threads=args.threads, access_log=args.access_log)
    log.info("serving %s", ", ".join(f"{s.name} ({s.kind})" for s in specs))
    if args.dev:
        run_dev(settings, options)
    else:
        run_gunicorn(settings, options)
    return 0


def register_serve(sub: argparse._SubParsersAction) -> None:
    """``dlweek serve``: the image-classifier service (gunicorn; ``--dev``: Flask's server)."""
    p = sub.add_parser(
        "serve", help="serve image classifiers over HTTP (REST API, upload page, /metrics)",
        description="Serve model bundles over HTTP. Without --model: every bundle shipped in "
                    "the package (cats_vs_dogs, cifar10_cnn), offline. Settings can also come "
                    "from DLWEEK_SERVE_* environment variables.")
    p.add_argument("--model", action="append", metavar="SPEC",
                   help="bundle folder, shipped bundle name, imagenet:resnet50 or "
                        "imagenet:mobilenet_v2; NAME=SPEC to rename; repeat for several")
    p.add_argument("--default-model", help="model used when a request names none")
    p.add_argument("--host", default="127.0.0.1", help="bind address (0.0.0.0 in Docker)")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--workers", type=int, default=1, help="gunicorn worker processes")
    p.add_argument("--threads", type=int, default=16, help="request threads per worker")
    p.add_argument("--dev", action="store_true", help="Flask's development server instead")
    p.add_argument("--max-request-mb", type=float, help="request size limit (default 10)")
    p.add_argument("--max-pixels", type=int, help="decoded image limit (default 40M)")
    p.add_argument("--max-batch", type=int, help="images per forward pass (default 16)")
    p.add_argument("--max-wait-ms", type=float, help="batching wait (default 4 ms)")
    p.add_argument("--queue-size", type=int, help="queued images per model before 503")
    p.add_argument("--timeout", type=float, help="seconds before a request gets 504")
    p.add_argument("--access-log", action="store_true", help="log every request")
    p.set_defaults(func=_serve)


def _export(args: argparse.Namespace) -> int:
    from dlweek.bundle import BundleError, export_savedmodel

    try:
        out = export_savedmodel(args.bundle, args.out)
    except BundleError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"SavedModel written to {out} (signature serving_default: float32 pixels 0..255 "
          "-> probabilities). TensorFlow Serving: put it in <model_base_path>/<version>/.")
    return 0


def register_export(sub: argparse._SubParsersAction) -> None:
    """``dlweek export BUNDLE --format savedmodel OUT``."""
    p = sub.add_parser("export", help="export a model bundle (e.g. as a TensorFlow SavedModel)")
    p.add_argument("bundle", help="bundle folder or shipped bundle name")
    p.add_argument("out", help="output folder (for TF Serving: .../<name>/<version>)")
    p.add_argument("--format", choices=("savedmodel",), default="savedmodel",
                   help="export format (savedmodel: TensorFlow SavedModel for TF Serving)")
    p.set_defaults(func=_export)

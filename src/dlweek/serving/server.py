"""Run the service: gunicorn in production, Flask's server with ``--dev``.

Models are built *after* gunicorn forks its workers (no ``preload_app``): TensorFlow started
in a parent process does not survive a fork (a model built in the master hangs in the worker).
The master only parses the model specs and checks their files (no TensorFlow import), so a
missing bundle or missing ImageNet weights fail fast with a clear message.

Each worker is a ``gthread`` worker: ``threads`` request threads share one copy of each model
and one micro-batcher, which is what makes batching work; add ``workers`` only when one
process cannot keep the CPUs busy (every worker holds its own models).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from dlweek.serving.registry import ModelSpec, preflight
from dlweek.serving.settings import ServeSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServerOptions:
    """Process-level options (the app's own limits live in :class:`ServeSettings`)."""

    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    threads: int = 16
    timeout: int = 120
    access_log: bool = False
    log_level: str = "info"


def check(settings: ServeSettings) -> list[ModelSpec]:
    """Parse and pre-flight the model specs in the parent process (no TensorFlow).

    Raises:
        dlweek.serving.errors.ModelLoadError: with the message to show the user.
    """
    from dlweek.bundle import shipped_bundles
    from dlweek.serving.errors import ModelLoadError
    from dlweek.serving.registry import DEFAULT_SHIPPED

    wanted = list(settings.models) or [n for n in DEFAULT_SHIPPED if n in shipped_bundles()]
    if not wanted:
        raise ModelLoadError("No models to serve: pass --model (a bundle folder, a shipped "
                             "bundle's name, or imagenet:resnet50).")
    specs = [ModelSpec.parse(s) for s in wanted]
    preflight(specs, imagenet_weights=settings.imagenet_weights)
    names = [s.name for s in specs]
    if settings.default_model and settings.default_model not in names:
        raise ModelLoadError(f"--default-model {settings.default_model!r} is not among the "
                             f"served models ({', '.join(names)}).")
    return specs


def run_gunicorn(settings: ServeSettings, options: ServerOptions) -> None:
    """Serve with gunicorn (gthread workers; the app and its models are built per worker)."""
    from gunicorn.app.base import BaseApplication

    class _Service(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            cfg: dict[str, Any] = {
                "bind": f"{options.host}:{options.port}",
                "workers": options.workers,
                "threads": options.threads,
                "worker_class": "gthread",
                "preload_app": False,  # never build TensorFlow models before the fork
                "timeout": options.timeout,
                "graceful_timeout": 15,
                "keepalive": 5,
                "loglevel": options.log_level,
                "errorlog": "-",
                "accesslog": "-" if options.access_log else None,
                "proc_name": "dlweek-serve",
                "limit_request_line": 8190,
                "limit_request_fields": 100,
                "forwarded_allow_ips": "127.0.0.1",
            }
            for key, value in cfg.items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            from dlweek.serving.app import create_app

            return create_app(settings)

    log.info("gunicorn on %s:%d, %d worker(s) x %d threads", options.host, options.port,
             options.workers, options.threads)
    _Service().run()


def run_dev(settings: ServeSettings, options: ServerOptions) -> None:
    """Flask's development server (threaded), for local work only."""
    from dlweek.serving.app import create_app

    app = create_app(settings)
    app.run(host=options.host, port=options.port, threaded=True, use_reloader=False)

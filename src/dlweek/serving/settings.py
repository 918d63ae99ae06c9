"""Service settings: one dataclass, filled from ``dlweek serve`` flags or ``DLWEEK_SERVE_*``."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from typing import Any

from dlweek.images import MAX_PIXELS

DEFAULT_MAX_REQUEST_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True)
class ServeSettings:
    """How the service runs. Every field can be set with ``DLWEEK_SERVE_<FIELD>``.

    Attributes:
        models: model specs: a bundle folder, a shipped bundle's name, ``imagenet:resnet50``
            or ``imagenet:mobilenet_v2``; ``alias=spec`` renames one. Empty: every shipped
            bundle.
        default_model: the model a request gets when it names none (default: the first).
        max_request_bytes: request body limit (413 above it).
        max_pixels: decoded image limit in pixels (413 above it).
        max_batch: most images in one forward pass.
        max_wait_ms: how long the batcher waits for more requests once one is queued (only
            while other requests are on their way).
        queue_size: most images waiting per model; beyond it requests get 503 + Retry-After.
        timeout_s: most seconds a request waits for its prediction (504 after).
        max_instances: most images in one TF-Serving style ``:predict`` request.
        imagenet_weights: ``"imagenet"`` (real weights) or ``None`` (random: tests only).
        load_in_background: load models in a thread so /healthz answers at once.
    """

    models: tuple[str, ...] = ()
    default_model: str | None = None
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES
    max_pixels: int = MAX_PIXELS
    max_batch: int = 16
    max_wait_ms: float = 4.0
    queue_size: int = 64
    timeout_s: float = 10.0
    max_instances: int = 32
    imagenet_weights: str | None = "imagenet"
    load_in_background: bool = True
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        problems = []
        if self.max_request_bytes < 1024:
            problems.append("max_request_bytes must be at least 1024")
        if self.max_pixels < 1:
            problems.append("max_pixels must be positive")
        if not 1 <= self.max_batch <= 1024:
            problems.append("max_batch must be 1..1024")
        if not 0 <= self.max_wait_ms <= 1000:
            problems.append("max_wait_ms must be 0..1000")
        if self.queue_size < 1:
            problems.append("queue_size must be positive")
        if self.timeout_s <= 0:
            problems.append("timeout_s must be positive")
        if problems:
            raise ValueError("Invalid serve settings: " + "; ".join(problems) + ".")

    @classmethod
    def from_env(cls, **overrides: Any) -> ServeSettings:
        """Settings from ``DLWEEK_SERVE_*`` variables, then ``overrides`` (not None) on top."""
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = os.environ.get(f"DLWEEK_SERVE_{f.name.upper()}")
            if raw is None or f.name == "extra":
                continue
            if f.name == "models":
                values[f.name] = tuple(s.strip() for s in raw.split(",") if s.strip())
            elif f.name in ("default_model", "imagenet_weights"):
                values[f.name] = raw or None
            elif f.name == "load_in_background":
                values[f.name] = raw.lower() in ("1", "true", "yes")
            elif f.name in ("max_wait_ms", "timeout_s"):
                values[f.name] = float(raw)
            else:
                values[f.name] = int(raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return replace(cls(), **values)

    def limit_text(self) -> str:
        """The request size limit for people, e.g. ``10 MB``."""
        mb = self.max_request_bytes / (1024 * 1024)
        return f"{mb:g} MB" if mb >= 1 else f"{self.max_request_bytes // 1024} KB"

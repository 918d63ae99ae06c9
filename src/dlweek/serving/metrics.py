"""A small, thread-safe Prometheus text-format writer (counters, gauges, histograms).

Exposition format 0.0.4: https://prometheus.io/docs/instrumenting/exposition_formats/
Each gunicorn worker process keeps its own numbers (the default is one worker with threads).
"""

from __future__ import annotations

import bisect
import math
import threading
from collections.abc import Callable, Sequence

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128)

Labels = tuple[tuple[str, str], ...]


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _fmt_labels(labels: Labels, extra: Labels = ()) -> str:
    items = labels + extra
    if not items:
        return ""
    return "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in items) + "}"


def _fmt_value(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value)) if not float(value).is_integer() else str(int(value))


class _Metric:
    kind = "untyped"

    def __init__(self, name: str, help_text: str, label_names: Sequence[str] = ()) -> None:
        self.name, self.help, self.label_names = name, help_text, tuple(label_names)
        self._lock = threading.Lock()

    def _key(self, labels: dict[str, str]) -> Labels:
        if set(labels) != set(self.label_names):
            raise ValueError(f"{self.name} takes labels {self.label_names}, got {tuple(labels)}")
        return tuple((k, str(labels[k])) for k in self.label_names)

    def header(self) -> list[str]:
        return [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} {self.kind}"]


class Counter(_Metric):
    """A monotonically increasing count per label set."""

    kind = "counter"

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._values: dict[Labels, float] = {}

    def inc(self, amount: float = 1.0, **labels: str) -> None:
        key = self._key(labels)
        with self._lock:
            self._values[key] = self._values.get(key, 0.0) + amount

    def value(self, **labels: str) -> float:
        return self._values.get(self._key(labels), 0.0)

    def render(self) -> list[str]:
        with self._lock:
            items = sorted(self._values.items())
        return self.header() + [f"{self.name}{_fmt_labels(k)} {_fmt_value(v)}" for k, v in items]


class Gauge(_Metric):
    """A value read when /metrics is scraped (a callback per label set) or set directly."""

    kind = "gauge"

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._values: dict[Labels, float | Callable[[], float]] = {}

    def set(self, value: float | Callable[[], float], **labels: str) -> None:
        with self._lock:
            self._values[self._key(labels)] = value

    def render(self) -> list[str]:
        with self._lock:
            items = sorted(self._values.items(), key=lambda kv: kv[0])
        lines = self.header()
        for key, value in items:
            v = value() if callable(value) else value
            lines.append(f"{self.name}{_fmt_labels(key)} {_fmt_value(v)}")
        return lines


class Histogram(_Metric):
    """Cumulative buckets, sum and count per label set."""

    kind = "histogram"

    def __init__(self, name: str, help_text: str, label_names: Sequence[str] = (),
                 buckets: Sequence[float] = LATENCY_BUCKETS) -> None:
        super().__init__(name, help_text, label_names)
        self.buckets = tuple(sorted(buckets))
        self._values: dict[Labels, list[float]] = {}  # counts per bucket, +Inf, sum

    def observe(self, value: float, **labels: str) -> None:
        key = self._key(labels)
        i = bisect.bisect_left(self.buckets, value)
        with self._lock:
            row = self._values.setdefault(key, [0.0] * (len(self.buckets) + 2))
            row[i] += 1  # i == len(buckets): only +Inf
            row[-1] += value

    def count(self, **labels: str) -> int:
        row = self._values.get(self._key(labels))
        return int(sum(row[:-1])) if row else 0

    def render(self) -> list[str]:
        with self._lock:
            items = sorted((k, list(v)) for k, v in self._values.items())
        lines = self.header()
        for key, row in items:
            cumulative = 0.0
            for bound, n in zip((*self.buckets, math.inf), row[:-1], strict=True):
                cumulative += n
                lines.append(f"{self.name}_bucket{_fmt_labels(key, (('le', _fmt_value(bound)),))}"
                             f" {_fmt_value(cumulative)}")
            lines.append(f"{self.name}_sum{_fmt_labels(key)} {_fmt_value(row[-1])}")
            lines.append(f"{self.name}_count{_fmt_labels(key)} {_fmt_value(cumulative)}")
        return lines


class ServiceMetrics:
    """Every metric the service exports."""

    def __init__(self) -> None:
        self.requests = Counter("dlweek_http_requests_total", "HTTP requests by route, method "
                                "and status.", ("route", "method", "status"))
        self.latency = Histogram("dlweek_http_request_duration_seconds", "HTTP request latency "
                                 "by route.", ("route",))
        self.queue_depth = Gauge("dlweek_queue_depth", "Images waiting for a forward pass.",
                                 ("model",))
        self.batch_size = Histogram("dlweek_batch_size", "Images per forward pass.", ("model",),
                                    BATCH_BUCKETS)
        self.inference = Histogram("dlweek_inference_seconds", "Forward-pass time per batch.",
                                   ("model",))
        self.queue_wait = Histogram("dlweek_queue_wait_seconds", "Time an image waits in the "
                                    "queue.", ("model",))
        self.rejected = Counter("dlweek_rejected_total", "Images refused because the queue was "
                                "full.", ("model",))
        self.ready = Gauge("dlweek_ready", "1 when every model is loaded and warmed.")

    def render(self) -> str:
        parts: list[str] = []
        for metric in (self.requests, self.latency, self.queue_depth, self.batch_size,
                       self.inference, self.queue_wait, self.rejected, self.ready):
            parts.extend(metric.render())
        return "\n".join(parts) + "\n"

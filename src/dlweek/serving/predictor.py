"""Predictor: one compiled forward function per model, warmed up, behind a micro-batcher.

Request threads decode their image (in parallel: Pillow releases the GIL) and hand the pixels
to :meth:`Predictor.submit`. One batcher thread per model takes everything queued (up to
``max_batch``), waits up to ``max_wait_ms`` for more *only while other requests are still
decoding*, runs one forward pass and answers every request of the batch. A request alone
therefore pays no batching delay, and concurrent requests share forward passes. The queue is
bounded: when it is full, :meth:`submit` raises :class:`~dlweek.serving.errors.Overloaded`
(HTTP 503 with Retry-After).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dlweek.bundle import Bundle, compiled_forward
from dlweek.serving.errors import InferenceTimeout, Overloaded, ServingError
from dlweek.serving.metrics import ServiceMetrics

log = logging.getLogger(__name__)


@dataclass
class Timing:
    """Where one request's time went (milliseconds)."""

    queue_ms: float = 0.0
    inference_ms: float = 0.0
    batch_size: int = 0


@dataclass
class Ticket:
    """Images announced to a predictor and not yet submitted."""

    pending: int


@dataclass
class _Item:
    pixels: np.ndarray
    future: Future = field(default_factory=Future)
    enqueued: float = field(default_factory=time.perf_counter)


class Predictor:
    """Serve one bundle: compiled forward pass, warm-up and a bounded micro-batching queue.

    Args:
        bundle: the loaded bundle (model + metadata).
        max_batch: most images per forward pass.
        max_wait_ms: how long to wait for more images while other requests are in flight.
        queue_size: most images waiting; more raise :class:`Overloaded`.
        metrics: where to count batch sizes, queue depth and inference time.
    """

    def __init__(self, bundle: Bundle, *, max_batch: int = 16, max_wait_ms: float = 4.0,
                 queue_size: int = 64, metrics: ServiceMetrics | None = None) -> None:
        self.bundle = bundle
        self.name = bundle.name
        self.max_batch = max_batch
        self.max_wait = max_wait_ms / 1000.0
        self.queue_size = queue_size
        self.metrics = metrics
        self._queue: deque[_Item] = deque()
        self._cond = threading.Condition()
        self._incoming = 0  # requests announced (decoding) but not yet queued
        self._thread: threading.Thread | None = None
        self._stop = False
        self._forward: Any = None
        self.warm = False
        self.batches = 0
        if metrics is not None:
            metrics.queue_depth.set(lambda: float(len(self._queue)), model=self.name)

    # -- life cycle --------------------------------------------------------------------------
    def start(self) -> Predictor:
        """Compile the forward function, warm it up at several batch sizes, start batching."""
        t0 = time.perf_counter()
        self._forward = compiled_forward(self.bundle.model, self.bundle.input_shape)
        sizes = sorted({1, 2, 4, 8, self.max_batch} & set(range(1, self.max_batch + 1)))
        for n in sizes:
            self._run(np.zeros((n, *self.bundle.input_shape), np.float32))
        self.warm = True
        self._thread = threading.Thread(target=self._loop, name=f"batcher-{self.name}",
                                        daemon=True)
        self._thread.start()
        log.info("model %s warmed up (batch sizes %s) in %.2f s", self.name, sizes,
                 time.perf_counter() - t0)
        return self

    def close(self) -> None:
        """Stop the batcher thread (pending requests get an error)."""
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=5)

    # -- requests ----------------------------------------------------------------------------
    @contextmanager
    def incoming(self, n: int = 1) -> Iterator[Ticket]:
        """Announce ``n`` images that are being decoded, so the batcher waits for them.

        Pass the yielded ticket to :meth:`submit`; whatever was not submitted when the block
        ends is withdrawn (e.g. the image could not be decoded).
        """
        ticket = Ticket(n)
        with self._cond:
            self._incoming += n
        try:
            yield ticket
        finally:
            if ticket.pending:
                with self._cond:
                    self._incoming -= ticket.pending
                    ticket.pending = 0
                    self._cond.notify_all()

    def submit(self, pixels: np.ndarray, ticket: Ticket | None = None) -> Future:
        """Queue one image (H, W, C) for the next forward pass; returns its future.

        Raises:
            Overloaded: the queue is full (HTTP 503, Retry-After).
        """
        item = _Item(np.asarray(pixels, dtype=np.float32).reshape(self.bundle.input_shape))
        with self._cond:
            if ticket is not None and ticket.pending:
                ticket.pending -= 1
                self._incoming -= 1
            if self._stop:
                raise ServingError(f"Model {self.name} is shutting down.", status=503,
                                   code="shutting_down", retry_after=1)
            if len(self._queue) >= self.queue_size:
                if self.metrics is not None:
                    self.metrics.rejected.inc(model=self.name)
                raise Overloaded(
                    f"The server is busy: {len(self._queue)} images are already waiting for "
                    f"model {self.name}. Retry in a second.", retry_after=1)
            self._queue.append(item)
            self._cond.notify_all()
        return item.future

    def predict(self, pixels: np.ndarray, timeout: float = 10.0) -> tuple[np.ndarray, Timing]:
        """Probabilities for one image (H, W, C), through the batcher."""
        return self.wait(self.submit(pixels), timeout)

    @staticmethod
    def wait(future: Future, timeout: float) -> tuple[np.ndarray, Timing]:
        """Wait for a submitted image's answer.

        Raises:
            InferenceTimeout: no answer within ``timeout`` seconds (HTTP 504).
        """
        try:
            return future.result(timeout=timeout)
        except FutureTimeout as exc:
            future.cancel()
            raise InferenceTimeout(
                f"The prediction took longer than {timeout:g} s; the server is overloaded. "
                "Retry later.") from exc

    def predict_batch_direct(self, batch: np.ndarray) -> np.ndarray:
        """Probabilities for a whole batch in one forward pass, bypassing the queue."""
        return self._run(np.asarray(batch, np.float32))

    # -- the batcher -------------------------------------------------------------------------
    def _run(self, batch: np.ndarray) -> np.ndarray:
        return np.asarray(self._forward(batch))

    def _take_batch(self) -> list[_Item] | None:
        with self._cond:
            while not self._queue and not self._stop:
                self._cond.wait()
            if self._stop:
                return None
            deadline = time.perf_counter() + self.max_wait
            while (len(self._queue) < self.max_batch and self._incoming > 0
                   and not self._stop):
                remaining = deadline - time.perf_counter()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)
            n = min(self.max_batch, len(self._queue))
            return [self._queue.popleft() for _ in range(n)]

    def _loop(self) -> None:
        while True:
            items = self._take_batch()
            if items is None:
                break
            items = [it for it in items if it.future.set_running_or_notify_cancel()]
            if not items:
                continue
            start = time.perf_counter()
            try:
                probs = self._run(np.stack([it.pixels for it in items]))
            except Exception as exc:  # noqa: BLE001 -- hand the failure to every waiter
                log.exception("forward pass of %s failed", self.name)
                for it in items:
                    it.future.set_exception(ServingError(
                        f"Model {self.name} failed on this batch ({type(exc).__name__}).",
                        code="inference_failed", status=500))
                continue
            end = time.perf_counter()
            self.batches += 1
            if self.metrics is not None:
                self.metrics.batch_size.observe(len(items), model=self.name)
                self.metrics.inference.observe(end - start, model=self.name)
            for i, it in enumerate(items):
                if self.metrics is not None:
                    self.metrics.queue_wait.observe(start - it.enqueued, model=self.name)
                it.future.set_result((probs[i], Timing((start - it.enqueued) * 1000,
                                                       (end - start) * 1000, len(items))))
        with self._cond:
            while self._queue:
                item = self._queue.popleft()
                if item.future.set_running_or_notify_cancel():
                    item.future.set_exception(ServingError("The server is shutting down.",
                                                           status=503, code="shutting_down",
                                                           retry_after=1))

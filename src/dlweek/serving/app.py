"""The Flask app: REST API, TF-Serving-compatible routes, upload page, health and metrics.

``create_app(settings)`` builds the app and starts loading the models (in a background thread
by default, so ``/healthz`` answers at once and ``/readyz`` says 503 until every model is
warm). Under gunicorn the factory runs in each worker, *after* the fork.

Every error is JSON ``{"error": {"code": "<snake_case>", "message": "..."}}``.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np
from flask import Flask, Response, g, jsonify, render_template, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed, RequestEntityTooLarge

from dlweek.images import ImageDecodeError
from dlweek.serving.errors import (
    BadRequest,
    InvalidParameter,
    PayloadTooLarge,
    ServingError,
    UnsupportedMediaType,
)
from dlweek.serving.metrics import CONTENT_TYPE, ServiceMetrics
from dlweek.serving.predictor import Predictor
from dlweek.serving.registry import ModelRegistry
from dlweek.serving.settings import ServeSettings

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
OPENAPI_FILE = HERE / "openapi.json"
IMAGE_CONTENT_TYPES = frozenset({
    "image/jpeg", "image/jpg", "image/pjpeg", "image/png", "image/webp", "image/gif",
    "image/bmp", "image/x-bmp", "image/x-ms-bmp", "application/octet-stream",
})
DECODE_STATUS = {"unsupported_format": 415, "image_too_large": 413, "undecodable_image": 400}
HTTP_CODES = {400: "bad_request", 404: "not_found", 405: "method_not_allowed",
              413: "request_too_large", 415: "unsupported_media_type", 429: "too_many_requests",
              500: "internal_error", 503: "unavailable"}
TOP_K_MAX = 20


def _error_response(status: int, code: str, message: str, retry_after: int | None = None
                    ) -> Response:
    resp = jsonify({"error": {"code": code, "message": message}})
    resp.status_code = status
    if retry_after is not None:
        resp.headers["Retry-After"] = str(retry_after)
    return resp


def _decode(pred: Predictor, data: bytes, max_pixels: int) -> np.ndarray:
    """Bytes → the model's input pixels (H, W, C) via the bundle's own preprocessing."""
    try:
        return pred.bundle.preprocess(data, max_pixels=max_pixels)[0]
    except ImageDecodeError as exc:
        raise ServingError(str(exc), code=exc.code, status=DECODE_STATUS.get(exc.code, 400)
                           ) from exc


def _top_k(raw: str | None, default: int = 5) -> int:
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidParameter(f"top_k must be a whole number from 1 to {TOP_K_MAX}, "
                               f"not {raw[:40]!r}.") from None
    if not 1 <= value <= TOP_K_MAX:
        raise InvalidParameter(f"top_k must be from 1 to {TOP_K_MAX}, not {value}.")
    return value


def create_app(settings: ServeSettings | None = None, *,
               registry: ModelRegistry | None = None) -> Flask:
    """Build the service. Models load in a background thread unless told otherwise.

    Args:
        settings: limits, models and batching (default: ``ServeSettings.from_env()``).
        registry: an already-built registry (tests); default: one from ``settings``.
    """
    settings = settings or ServeSettings.from_env()
    metrics = registry.metrics if registry is not None else ServiceMetrics()
    registry = registry or ModelRegistry(settings, metrics)
    app = Flask(__name__, template_folder=str(HERE / "templates"),
                static_folder=str(HERE / "static"), static_url_path="/static")
    app.config["MAX_CONTENT_LENGTH"] = settings.max_request_bytes
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions["dlweek"] = registry
    openapi = json.loads(OPENAPI_FILE.read_text())

    def limit_message() -> str:
        return (f"The request is larger than the limit of {settings.limit_text()} "
                f"({settings.max_request_bytes:,} bytes). Send a smaller image.")

    # -- errors: JSON, always ------------------------------------------------------------
    @app.errorhandler(ServingError)
    def _serving_error(exc: ServingError) -> Response:
        return _error_response(exc.status, exc.code, exc.message, exc.retry_after)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
        status = exc.code or 500
        if isinstance(exc, RequestEntityTooLarge):
            return _error_response(413, PayloadTooLarge.code, limit_message())
        message = {
            404: f"There is no route {request.path!r}. See /openapi.json for the API.",
            405: f"{request.method} is not allowed on {request.path}; allowed: "
                 f"{', '.join(sorted(getattr(exc, 'valid_methods', None) or []))}.",
        }.get(status, exc.description or exc.name)
        resp = _error_response(status, HTTP_CODES.get(status, "http_error"), message)
        if status == 405 and getattr(exc, "valid_methods", None):
            resp.headers["Allow"] = ", ".join(exc.valid_methods)  # type: ignore[arg-type]
        return resp

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return _error_response(500, "internal_error", "Something went wrong on the server "
                               f"({type(exc).__name__}); it has been logged. Please retry.")

    # -- metrics around every request ---------------------------------------------------
    @app.before_request
    def _start_timer() -> None:
        g.t0 = time.perf_counter()

    @app.after_request
    def _count(resp: Response) -> Response:
        route = request.url_rule.rule if request.url_rule is not None else "unmatched"
        metrics.requests.inc(route=route, method=request.method, status=str(resp.status_code))
        if "t0" in g:
            metrics.latency.observe(time.perf_counter() - g.t0, route=route)
        return resp

    # -- the upload page, docs, health --------------------------------------------------
    @app.get("/")
    def index() -> str:
        return render_template("index.html", max_bytes=settings.max_request_bytes,
                               limit=settings.limit_text(), top_k_max=TOP_K_MAX)

    @app.get("/openapi.json")
    def openapi_json() -> Response:
        return jsonify(openapi)

    @app.get("/healthz")
    def healthz() -> Response:
        return jsonify({"status": "alive"})

    @app.get("/readyz")
    def readyz() -> Response:
        if registry.ready.is_set():
            return jsonify({"status": "ready", "models": list(registry.predictors)})
        code = "model_load_failed" if registry.error else "not_ready"
        return _error_response(503, code, registry.not_ready_message(), retry_after=2)

    @app.get("/metrics")
    def metrics_route() -> Response:
        return Response(metrics.render(), mimetype=None, content_type=CONTENT_TYPE)

    # -- the REST API -------------------------------------------------------------------
    @app.get("/api/v1/models")
    def list_models() -> Response:
        return jsonify({"default": registry.default, "models": registry.describe()})

    @app.post("/api/v1/predict")
    def predict() -> Response:
        t0 = g.t0
        mimetype = (request.mimetype or "").lower()
        if mimetype == "multipart/form-data":
            params = request.form
            upload = request.files.get("file")
            if upload is None:
                raise BadRequest("No image: send it in a multipart form field named 'file'.",
                                 code="missing_file")
            model_name = params.get("model") or request.args.get("model")
            top_k_raw = params.get("top_k") or request.args.get("top_k")
            reader: Any = upload.read
        elif mimetype in IMAGE_CONTENT_TYPES:
            model_name, top_k_raw = request.args.get("model"), request.args.get("top_k")
            reader = request.get_data
        elif mimetype.startswith("image/"):
            raise UnsupportedMediaType(
                f"Content-Type {mimetype} is not accepted. Send JPEG, PNG, WebP, GIF or BMP.",
                code="unsupported_format")
        else:
            raise UnsupportedMediaType(
                f"Content-Type {mimetype or '(none)'} is not accepted. Send multipart/form-data "
                "with the image in a field named 'file', or the raw image bytes with an image "
                "Content-Type such as image/jpeg.")
        top_k = _top_k(top_k_raw)
        pred = registry.get(model_name)
        with pred.incoming() as ticket:
            data = reader()
            if not data:
                raise BadRequest("The image is empty: upload an image file.", code="empty_file")
            pixels = _decode(pred, data, settings.max_pixels)
            t_decoded = time.perf_counter()
            future = pred.submit(pixels, ticket)
        probs, timing = pred.wait(future, settings.timeout_s)
        k = min(top_k, len(probs))
        order = np.argsort(-probs, kind="stable")[:k]
        labels = pred.bundle.class_names
        total = (time.perf_counter() - t0) * 1000
        return jsonify({
            "model": pred.name,
            "predictions": [{"label": labels[i], "index": int(i), "score": float(probs[i])}
                            for i in order],
            "timing_ms": {"decode": round((t_decoded - t0) * 1000, 3),
                          "queue": round(timing.queue_ms, 3),
                          "inference": round(timing.inference_ms, 3),
                          "total": round(total, 3)},
            "batch_size": timing.batch_size,
        })

    # -- TensorFlow Serving compatible ---------------------------------------------------
    @app.get("/v1/models/<name>")
    def tfs_status(name: str) -> Response:
        if name.endswith(":predict"):  # GET on the :predict route
            raise MethodNotAllowed(valid_methods=["POST"])
        _known(registry, name)
        state = "AVAILABLE" if name in registry.predictors else "LOADING"
        return jsonify({"model_version_status": [{
            "version": "1", "state": state,
            "status": {"error_code": "OK", "error_message": ""}}]})

    @app.get("/v1/models/<name>/metadata")
    def tfs_metadata(name: str) -> Response:
        pred = registry.get(name)
        h, w, c = pred.bundle.input_shape
        return jsonify({
            "model_spec": {"name": name, "signature_name": "", "version": "1"},
            "metadata": {"signature_def": {"signature_def": {"serving_default": {
                "inputs": {"images": {"dtype": "DT_STRING", "tensor_shape": {
                    "dim": [{"size": "-1", "name": ""}]},
                    "name": "images (base64 image file bytes, {'b64': ...})"}},
                "outputs": {"probabilities": {"dtype": "DT_FLOAT", "tensor_shape": {
                    "dim": [{"size": "-1", "name": ""},
                            {"size": str(len(pred.bundle.class_names)), "name": ""}]},
                    "name": "probabilities"}},
                "method_name": "tensorflow/serving/predict"}}}},
            "dlweek": {"labels": list(pred.bundle.class_names), "input_shape": [h, w, c],
                       "color_mode": pred.bundle.color_mode},
        })

    @app.post("/v1/models/<name>:predict")
    def tfs_predict(name: str) -> Response:
        body = request.get_json(force=True, silent=True)
        if not isinstance(body, dict):
            raise BadRequest('The body must be JSON like {"instances": [{"b64": "..."}]}.',
                             code="invalid_json")
        instances = body.get("instances", body.get("inputs"))
        if not isinstance(instances, list) or not instances:
            raise BadRequest('"instances" must be a non-empty list, e.g. '
                             '{"instances": [{"b64": "<base64 image>"}]}.', code="bad_request")
        if len(instances) > settings.max_instances:
            raise InvalidParameter(f"At most {settings.max_instances} instances per request, "
                                   f"got {len(instances)}.")
        pred = registry.get(name)
        with pred.incoming(len(instances)) as ticket:
            futures = [pred.submit(_instance_pixels(pred, inst, i, settings.max_pixels), ticket)
                       for i, inst in enumerate(instances)]
        rows = [pred.wait(f, settings.timeout_s)[0] for f in futures]
        return jsonify({"predictions": [[float(p) for p in row] for row in rows]})

    if settings.load_in_background:
        registry.load_in_background()
    else:
        registry.load()
    return app


def _known(registry: ModelRegistry, name: str) -> None:
    """Raise UnknownModel if ``name`` is not configured (models may still be loading)."""
    from dlweek.serving.errors import UnknownModel

    if name not in [s.name for s in registry.specs]:
        raise UnknownModel(f"There is no model {name!r}. Available: "
                           f"{', '.join(s.name for s in registry.specs)}.")


def _instance_pixels(pred: Predictor, inst: Any, i: int, max_pixels: int) -> np.ndarray:
    """One TF-Serving instance: ``{"b64": ...}``, ``{"<input>": {"b64": ...}}`` or pixels."""
    if isinstance(inst, dict) and len(inst) == 1 and "b64" not in inst:
        inst = next(iter(inst.values()))
    if isinstance(inst, dict) and "b64" in inst:
        if not isinstance(inst["b64"], str):
            raise BadRequest(f"instances[{i}].b64 must be a base64 string.")
        try:
            data = base64.b64decode(inst["b64"], validate=True)
        except (binascii.Error, ValueError):
            raise BadRequest(f"instances[{i}].b64 is not valid base64.",
                             code="invalid_base64") from None
        if not data:
            raise BadRequest(f"instances[{i}] is empty.", code="empty_file")
        return _decode(pred, data, max_pixels)
    if isinstance(inst, list):
        try:
            arr = np.asarray(inst, dtype=np.float32)
        except (TypeError, ValueError):
            raise BadRequest(f"instances[{i}] is not a numeric array.") from None
        want = pred.bundle.input_shape
        if arr.shape != want or not np.isfinite(arr).all():
            raise InvalidParameter(f"instances[{i}] has shape {arr.shape}; expected {want} "
                                   "raw pixels (0..255), or {\"b64\": \"<image file>\"}.")
        return arr
    raise BadRequest(f'instances[{i}] must be {{"b64": "<base64 image>"}} or a pixel array.')

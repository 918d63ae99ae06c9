"""The Flask app through its test client: every route and every error is JSON."""

from __future__ import annotations

import base64
import io
import threading
from pathlib import Path

import numpy as np
import pytest
from serving_fixtures import TINY_LABELS, jpeg, make_app, png

from dlweek.serving.registry import ModelRegistry
from dlweek.serving.settings import ServeSettings

BRIGHT, DARK = png((250, 250, 250)), jpeg((5, 5, 5))


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    app = make_app(tmp_path_factory.mktemp("bundles"))
    yield app
    app.extensions["dlweek"].close()


@pytest.fixture()
def client(app):  # noqa: ANN001, ANN201
    return app.test_client()


def _error(resp, status: int, code: str) -> dict:  # noqa: ANN001
    assert resp.status_code == status, resp.get_data(as_text=True)
    assert resp.mimetype == "application/json"
    body = resp.get_json()
    assert set(body) == {"error"} and body["error"]["code"] == code, body
    assert len(body["error"]["message"]) > 10
    return body["error"]


def _post(client, data: bytes, **fields: str):  # noqa: ANN001, ANN201
    form = {"file": (io.BytesIO(data), "image.bin"), **fields}
    return client.post("/api/v1/predict", data=form, content_type="multipart/form-data")


def test_health_ready_page_static_openapi(client) -> None:  # noqa: ANN001
    assert client.get("/healthz").get_json() == {"status": "alive"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.get_json()["models"] == ["tiny", "tinygray"]
    page = client.get("/")
    assert page.status_code == 200 and b'id="file"' in page.data and b"http" not in page.data
    assert client.get("/static/app.js").status_code == 200
    assert client.get("/static/style.css").status_code == 200
    spec = client.get("/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")


def test_openapi_documents_every_route(app) -> None:  # noqa: ANN001
    import json

    from dlweek.serving.app import OPENAPI_FILE

    paths = json.loads(OPENAPI_FILE.read_text())["paths"]
    rules = {r.rule.replace("<name>", "{name}") for r in app.url_map.iter_rules()
             if r.endpoint != "static"}
    assert rules == set(paths)


def test_predict_multipart_and_raw(client) -> None:  # noqa: ANN001
    resp = _post(client, BRIGHT)
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["model"] == "tiny"
    assert [p["label"] for p in body["predictions"]] == ["bright", "dark"]
    assert body["predictions"][0]["index"] == 1
    assert sum(p["score"] for p in body["predictions"]) == pytest.approx(1.0, abs=1e-5)
    assert set(body["timing_ms"]) == {"decode", "queue", "inference", "total"}
    raw = client.post("/api/v1/predict?top_k=1", data=DARK, content_type="image/jpeg")
    assert raw.status_code == 200
    assert [p["label"] for p in raw.get_json()["predictions"]] == ["dark"]


def test_models_and_per_request_choice(client) -> None:  # noqa: ANN001
    body = client.get("/api/v1/models").get_json()
    assert body["default"] == "tiny"
    names = {m["name"]: m for m in body["models"]}
    assert set(names) == {"tiny", "tinygray"}
    assert names["tinygray"]["color_mode"] == "grayscale"
    assert names["tiny"]["labels"] == list(TINY_LABELS)
    assert names["tiny"]["metadata"]["metrics"] == {"test_accuracy": 1.0}
    assert names["tiny"]["state"] == "ready"
    resp = _post(client, BRIGHT, model="tinygray", top_k="1")
    assert resp.get_json()["model"] == "tinygray"
    assert resp.get_json()["predictions"][0]["label"] == "bright"


def test_parameter_errors(client) -> None:  # noqa: ANN001
    for bad in ("0", "21", "abc", "1.5", "-3"):
        _error(_post(client, BRIGHT, top_k=bad), 422, "invalid_parameter")
    _error(_post(client, BRIGHT, model="nope"), 404, "unknown_model")
    _error(client.post("/api/v1/predict?model=nope", data=BRIGHT, content_type="image/png"),
           404, "unknown_model")
    _error(client.post("/api/v1/predict", data={"other": "x"},
                       content_type="multipart/form-data"), 400, "missing_file")
    _error(_post(client, b""), 400, "empty_file")
    _error(client.post("/api/v1/predict", data=b"", content_type="image/png"), 400,
           "empty_file")


def test_media_type_errors(client) -> None:  # noqa: ANN001
    _error(client.post("/api/v1/predict", data=b"hello", content_type="text/plain"), 415,
           "unsupported_media_type")
    _error(client.post("/api/v1/predict", json={"file": "x"}), 415, "unsupported_media_type")
    _error(client.post("/api/v1/predict", data=BRIGHT), 415, "unsupported_media_type")
    _error(client.post("/api/v1/predict", data=BRIGHT, content_type="image/tiff"), 415,
           "unsupported_format")


def test_route_and_method_errors(client) -> None:  # noqa: ANN001
    _error(client.get("/nope"), 404, "not_found")
    _error(client.get("/api/v1/nope"), 404, "not_found")
    err = client.get("/api/v1/predict")
    _error(err, 405, "method_not_allowed")
    assert "POST" in err.headers["Allow"]
    _error(client.delete("/api/v1/models"), 405, "method_not_allowed")
    _error(client.get("/v1/models/nope"), 404, "unknown_model")


def test_body_size_limit_default_and_configured(tmp_path: Path) -> None:
    app = make_app(tmp_path, max_request_bytes=64 * 1024)
    try:
        client = app.test_client()
        big = b"\xff\xd8" + b"\0" * (70 * 1024)
        err = _error(_post(client, big), 413, "request_too_large")
        assert "64 KB" in err["message"]
        _error(client.post("/api/v1/predict", data=big, content_type="image/jpeg"), 413,
               "request_too_large")
        assert _post(client, BRIGHT).status_code == 200
    finally:
        app.extensions["dlweek"].close()
    assert ServeSettings().max_request_bytes == 10 * 1024 * 1024
    assert ServeSettings().limit_text() == "10 MB"


def test_tf_serving_routes_match_v1(client) -> None:  # noqa: ANN001
    status = client.get("/v1/models/tiny").get_json()
    assert status["model_version_status"][0]["state"] == "AVAILABLE"
    meta = client.get("/v1/models/tiny/metadata").get_json()
    assert meta["model_spec"]["name"] == "tiny" and meta["dlweek"]["labels"] == list(TINY_LABELS)
    images = [BRIGHT, DARK, png((120, 130, 140))]
    resp = client.post("/v1/models/tiny:predict",
                       json={"instances": [{"b64": base64.b64encode(b).decode()} for b in images]})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    preds = np.asarray(resp.get_json()["predictions"])
    assert preds.shape == (3, 2)
    for row, image in zip(preds, images, strict=True):
        v1 = _post(client, image, top_k="2").get_json()["predictions"]
        by_index = np.zeros(2)
        for p in v1:
            by_index[p["index"]] = p["score"]
        np.testing.assert_allclose(row, by_index, rtol=1e-5, atol=1e-6)
    # named input and raw pixel instances are accepted too
    named = client.post("/v1/models/tiny:predict",
                        json={"instances": [{"image": {"b64": base64.b64encode(BRIGHT).decode()}}]})
    np.testing.assert_allclose(named.get_json()["predictions"][0], preds[0], rtol=1e-5)
    pixels = np.full((32, 32, 3), 250.0).tolist()
    raw = client.post("/v1/models/tiny:predict", json={"instances": [pixels]})
    assert np.argmax(raw.get_json()["predictions"][0]) == 1


def test_tf_serving_errors(client, app) -> None:  # noqa: ANN001
    good = {"instances": [{"b64": base64.b64encode(BRIGHT).decode()}]}
    _error(client.post("/v1/models/nope:predict", json=good), 404, "unknown_model")
    _error(client.post("/v1/models/tiny:predict", data=b"{nope", content_type="application/json"),
           400, "invalid_json")
    _error(client.post("/v1/models/tiny:predict", json={"instances": []}), 400, "bad_request")
    _error(client.post("/v1/models/tiny:predict", json={"instances": [{"b64": "!!!"}]}), 400,
           "invalid_base64")
    _error(client.post("/v1/models/tiny:predict",
                       json={"instances": [{"b64": base64.b64encode(b"junk").decode()}]}),
           400, "undecodable_image")
    _error(client.post("/v1/models/tiny:predict", json={"instances": [[1, 2, 3]]}), 422,
           "invalid_parameter")
    _error(client.post("/v1/models/tiny:predict", json={"instances": good["instances"] * 33}),
           422, "invalid_parameter")
    _error(client.get("/v1/models/tiny:predict"), 405, "method_not_allowed")


def test_metrics_prometheus_text(client) -> None:  # noqa: ANN001
    _post(client, BRIGHT)
    _error(client.get("/nope"), 404, "not_found")
    resp = client.get("/metrics")
    assert resp.status_code == 200 and resp.content_type.startswith("text/plain; version=0.0.4")
    text = resp.get_data(as_text=True)
    assert ('dlweek_http_requests_total{route="/api/v1/predict",method="POST",status="200"}'
            in text)
    assert 'dlweek_http_requests_total{route="unmatched",method="GET",status="404"}' in text
    assert 'dlweek_http_request_duration_seconds_bucket{route="/api/v1/predict",le="+Inf"}' in text
    assert 'dlweek_queue_depth{model="tiny"} 0' in text
    assert 'dlweek_batch_size_count{model="tiny"}' in text
    assert "dlweek_ready 1" in text
    for line in text.splitlines():
        assert line.startswith("#") or len(line.rsplit(" ", 1)) == 2


def test_readyz_503_while_loading(tmp_path: Path) -> None:
    from serving_fixtures import save_tiny_bundle

    from dlweek.serving.app import create_app

    settings = ServeSettings(models=(str(save_tiny_bundle(tmp_path / "t")),))
    registry = ModelRegistry(settings)
    gate = threading.Event()
    real_load = registry.load

    def slow_load() -> None:
        gate.wait(30)
        real_load()

    registry.load = slow_load  # type: ignore[method-assign]
    app = create_app(settings, registry=registry)
    client = app.test_client()
    try:
        assert client.get("/healthz").status_code == 200
        err = client.get("/readyz")
        _error(err, 503, "not_ready")
        assert err.headers["Retry-After"]
        _error(_post(client, BRIGHT), 503, "not_ready")
        assert client.get("/api/v1/models").get_json()["models"][0]["state"] == "loading"
        gate.set()
        assert registry.wait_ready(30)
        assert client.get("/readyz").status_code == 200
    finally:
        gate.set()
        registry.close()


def _blocked(app, tmp_path: Path):  # noqa: ANN001, ANN202
    pred = app.extensions["dlweek"].get("tiny")
    gate, entered = threading.Event(), threading.Event()
    real = pred._forward

    def slow(batch):  # noqa: ANN001, ANN202
        entered.set()
        gate.wait(30)
        return real(batch)

    pred._forward = slow
    pred.entered = entered
    return pred, gate


def test_overloaded_503_with_retry_after(tmp_path: Path) -> None:
    app = make_app(tmp_path, queue_size=2, max_batch=1, timeout_s=30)
    pred, gate = _blocked(app, tmp_path)
    client = app.test_client()
    first: dict = {}
    t = threading.Thread(target=lambda: first.setdefault("r", _post(app.test_client(), BRIGHT)))
    try:
        t.start()
        assert pred.entered.wait(10)  # the first request is in the (blocked) forward pass
        futures = [pred.submit(np.zeros((32, 32, 3))) for _ in range(2)]  # fill the queue
        err = _post(client, BRIGHT)
        _error(err, 503, "overloaded")
        assert err.headers["Retry-After"] == "1"
        assert 'dlweek_rejected_total{model="tiny"} 1' in client.get("/metrics").get_data(True)
        gate.set()
        t.join(30)
        assert first["r"].status_code == 200
        assert all(f.result(10)[0].shape == (2,) for f in futures)
    finally:
        gate.set()
        app.extensions["dlweek"].close()


def test_timeout_504(tmp_path: Path) -> None:
    app = make_app(tmp_path, timeout_s=0.3)
    _, gate = _blocked(app, tmp_path)
    try:
        err = _post(app.test_client(), BRIGHT)
        _error(err, 504, "timeout")
    finally:
        gate.set()
        app.extensions["dlweek"].close()

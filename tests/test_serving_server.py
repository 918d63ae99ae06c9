"""A real server: ``dlweek serve`` (gunicorn) on a free 127.0.0.1 port, over HTTP and in a
real browser (Playwright driving Debian's chromium)."""

from __future__ import annotations

import base64
import json
import re
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from serving_fixtures import free_port, http, multipart, start_server, stop_server, wait_ready

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    log = tmp_path_factory.mktemp("server") / "server.log"
    proc = start_server([sys.executable, "-m", "dlweek.cli", "serve", "--host", "127.0.0.1",
                         "--port", str(port), "--threads", "16", "--max-wait-ms", "4"],
                        cwd=REPO, log_path=log)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base, proc)
        yield base
    except (RuntimeError, TimeoutError) as exc:
        pytest.fail(f"{exc}\n{log.read_text()[-4000:]}")
    finally:
        stop_server(proc)


@pytest.fixture(scope="module")
def photos() -> list[tuple[Path, str]]:
    """Validation photos (path, true label) that the cats_vs_dogs bundle gets right."""
    from dlweek.bundle import load_bundle
    from dlweek.serving.shipped import validation_files

    bundle = load_bundle("cats_vs_dogs")
    files, labels = validation_files()
    picked = [f for f in files[:12]] + [f for f in files[-12:]]
    truth = [bundle.class_names[labels[files.index(f)]] for f in picked]
    probs = bundle.predict_proba(np.concatenate([bundle.preprocess(f) for f in picked]))
    right = [(f, t) for f, t, p in zip(picked, truth, probs, strict=True)
             if bundle.class_names[int(p.argmax())] == t]
    assert {t for _, t in right} == {"cats", "dogs"}
    return right


def _predict(base: str, path: Path, **fields: str) -> tuple[int, dict]:
    body, ctype = multipart(fields, path.name, path.read_bytes())
    status, _, data = http("POST", base + "/api/v1/predict", body, {"Content-Type": ctype})
    return status, json.loads(data)


def test_health_models_and_a_cat(server: str, photos: list[tuple[Path, str]]) -> None:
    assert http("GET", server + "/healthz")[0] == 200
    status, _, data = http("GET", server + "/api/v1/models")
    models = json.loads(data)
    assert status == 200 and models["default"] == "cats_vs_dogs"
    assert all(m["state"] == "ready" for m in models["models"])
    cat = next(p for p, t in photos if t == "cats")
    status, body = _predict(server, cat)
    assert status == 200 and body["model"] == "cats_vs_dogs"
    assert body["predictions"][0]["label"] == "cats"
    assert body["timing_ms"]["total"] > 0
    raw = http("POST", server + "/api/v1/predict?top_k=1", cat.read_bytes(),
               {"Content-Type": "image/jpeg"})
    assert raw[0] == 200 and json.loads(raw[2])["predictions"][0]["label"] == "cats"


def test_errors_are_json_over_http(server: str) -> None:
    for method, path, body, headers, status, code in [
        ("GET", "/nope", None, {}, 404, "not_found"),
        ("GET", "/api/v1/predict", None, {}, 405, "method_not_allowed"),
        ("POST", "/api/v1/predict", b"not an image", {"Content-Type": "image/jpeg"}, 400,
         "undecodable_image"),
        ("POST", "/api/v1/predict", b"x", {"Content-Type": "text/plain"}, 415,
         "unsupported_media_type"),
        ("POST", "/api/v1/predict?top_k=99", b"x", {"Content-Type": "image/png"}, 422,
         "invalid_parameter"),
        ("POST", "/api/v1/predict?model=zebra", b"x", {"Content-Type": "image/png"}, 404,
         "unknown_model"),
    ]:
        got, hdrs, data = http(method, server + path, body, headers)
        assert got == status, (path, data)
        assert hdrs["Content-Type"].startswith("application/json")
        assert json.loads(data)["error"]["code"] == code


def test_tf_serving_route_matches_v1(server: str, photos: list[tuple[Path, str]]) -> None:
    paths = [p for p, _ in photos[:3]] + [p for p, _ in photos[-3:]]
    body = json.dumps({"instances": [{"b64": base64.b64encode(p.read_bytes()).decode()}
                                     for p in paths]}).encode()
    status, _, data = http("POST", server + "/v1/models/cats_vs_dogs:predict", body,
                           {"Content-Type": "application/json"})
    assert status == 200, data
    preds = np.asarray(json.loads(data)["predictions"])
    for row, path in zip(preds, paths, strict=True):
        _, v1 = _predict(server, path, top_k="2")
        by_index = np.zeros(2)
        for p in v1["predictions"]:
            by_index[p["index"]] = p["score"]
        np.testing.assert_allclose(row, by_index, atol=1e-4)
    assert json.loads(http("GET", server + "/v1/models/cats_vs_dogs")[2])[
        "model_version_status"][0]["state"] == "AVAILABLE"


def test_concurrency_16_threads_x_20_requests(server: str,
                                              photos: list[tuple[Path, str]]) -> None:
    reference = {p: _predict(server, p)[1]["predictions"][0] for p, _ in photos}
    failures: list[str] = []
    batch_sizes: list[int] = []
    lock = threading.Lock()

    def worker(i: int) -> None:
        for j in range(20):
            path, truth = photos[(i * 20 + j) % len(photos)]
            try:
                status, body = _predict(server, path)
            except OSError as exc:  # connection problems count as failures
                with lock:
                    failures.append(f"{path.name}: {exc!r}")
                continue
            top = body.get("predictions", [{}])[0]
            ok = (status == 200 and top.get("label") == truth
                  and abs(top["score"] - reference[path]["score"]) < 1e-4)
            with lock:
                if not ok:
                    failures.append(f"{path.name}: {status} {body}")
                else:
                    batch_sizes.append(body["batch_size"])

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    assert not failures, failures[:5]
    assert len(batch_sizes) == 320
    assert max(batch_sizes) > 1  # concurrent requests shared forward passes
    metrics = http("GET", server + "/metrics")[2].decode()
    count = float(re.search(r'dlweek_batch_size_count\{model="cats_vs_dogs"\} (\S+)',
                            metrics).group(1))
    total = float(re.search(r'dlweek_batch_size_sum\{model="cats_vs_dogs"\} (\S+)',
                            metrics).group(1))
    assert total > count
    assert 'route="/api/v1/predict",method="POST",status="200"' in metrics


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs /usr/bin/chromium")
def test_upload_page_in_a_real_browser(server: str, photos: list[tuple[Path, str]],
                                       tmp_path: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    cat = next(p for p, t in photos if t == "cats")
    dog = next(p for p, t in photos if t == "dogs")
    not_image = tmp_path / "notes.jpg"
    not_image.write_text("this is not a photo")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-gpu",
                  "--disable-background-networking", "--disable-component-update",
                  "--no-first-run"])
        try:
            page = browser.new_page()
            requests: list[str] = []
            page.on("request", lambda r: requests.append(r.url))
            page.goto(server + "/")
            page.wait_for_selector("#model option[value='cats_vs_dogs']", state="attached")
            page.set_input_files("#file", str(cat))
            assert page.is_visible("#preview")
            page.click("#submit")
            page.wait_for_selector("#results li")
            assert page.inner_text("#results li .label") == "cats"
            assert "%" in page.inner_text("#results li .score")
            # drag and drop a dog photo onto the drop zone
            data = list(dog.read_bytes())
            page.evaluate(
                """([bytes, name]) => {
                    const dt = new DataTransfer();
                    dt.items.add(new File([new Uint8Array(bytes)], name, {type: "image/jpeg"}));
                    document.getElementById("drop").dispatchEvent(
                        new DragEvent("drop", {dataTransfer: dt, bubbles: true}));
                }""", [data, dog.name])
            page.click("#submit")
            page.wait_for_function(
                "document.querySelector('#results li .label')?.textContent === 'dogs'")
            # an error in plain words
            page.set_input_files("#file", str(not_image))
            page.click("#submit")
            page.wait_for_selector("#error:not([hidden])")
            assert "could not be decoded" in page.inner_text("#error") or \
                "not an image" in page.inner_text("#error")
            assert all(u.startswith(server) or u.startswith("blob:") for u in requests)
        finally:
            browser.close()

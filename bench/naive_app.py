"""The design every "Flask + Keras" demo ships: Flask's dev server, model.predict per request.

Run: ``python -m bench.naive_app BUNDLE_DIR PORT``, then POST an image body to
/api/v1/predict. It loads the same bundle as dlweek serve
(``model.keras`` + ``metadata.json``) and does what the tutorials do: decode with Pillow,
resize, ``model.predict`` on a batch of one, ``jsonify`` the top label.
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import numpy as np


def create_app(bundle_dir: Path):  # noqa: ANN201 (Flask app)
    import keras
    from flask import Flask, jsonify, request
    from PIL import Image

    meta = json.loads((bundle_dir / "metadata.json").read_text())
    model = keras.models.load_model(bundle_dir / "model.keras")
    labels = meta.get("labels") or meta.get("class_names")
    height, width = meta["input_size"][:2] if "input_size" in meta else (160, 160)
    app = Flask(__name__)

    @app.post("/api/v1/predict")
    def predict():  # noqa: ANN202
        img = Image.open(io.BytesIO(request.get_data())).convert("RGB")
        x = np.asarray(img.resize((width, height)), dtype="float32")[None]
        probs = model.predict(x, verbose=0)[0]
        top = int(np.argmax(probs))
        return jsonify({"label": labels[top], "score": float(probs[top])})

    @app.get("/ready")
    def ready():  # noqa: ANN202
        return "ok"

    return app


if __name__ == "__main__":
    create_app(Path(sys.argv[1])).run(host="127.0.0.1", port=int(sys.argv[2]))

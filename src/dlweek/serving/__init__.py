"""The image-classifier service: predictor with a micro-batcher, Flask app, gunicorn launcher.

Nothing here imports TensorFlow at import time: models are built inside the worker process
(after gunicorn forks), when :func:`dlweek.serving.app.create_app` starts loading them.

    dlweek serve                        # the shipped bundles, gunicorn on 127.0.0.1:8000
    dlweek serve --dev --port 5000      # Flask's development server

Modules: ``settings`` (ServeSettings), ``predictor`` (compiled forward + micro-batcher),
``registry`` (model specs, loading, readiness), ``app`` (Flask factory), ``server``
(gunicorn/dev launchers), ``metrics`` (Prometheus text), ``shipped`` (trains the shipped
bundles), ``loadgen`` (latency/throughput probe), ``commands`` (CLI).
"""

"""The image-classifier service: predictor with a micro-batcher, Flask app, gunicorn launcher.

Nothing here imports TensorFlow at import time: models are built inside the worker process
(after gunicorn forks), when :func:`dlweek.serving.app.create_app` starts loading them.

    dlweek serve                        # the shipped bundles, gunicorn on :8000
    dlweek serve --dev --port 5000      # Flask's development server
"""

from dlweek.serving.settings import ServeSettings

__all__ = ["ServeSettings"]

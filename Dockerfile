# dlweek image-classifier service: `dlweek serve` (gunicorn) with the shipped model bundles.
#   docker build -t dlweek-serve .
#   docker run --rm -p 8000:8000 dlweek-serve        # then open http://localhost:8000/

# --- build: a wheel of dlweek and its CPU-only dependencies in a virtual environment ---------
FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
# CPU builds of TensorFlow (via tensorflow-cpu in pyproject) and PyTorch.
RUN pip install --index-url https://download.pytorch.org/whl/cpu "torch==2.13.0"
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip wheel --no-deps --wheel-dir /wheels . \
    && pip install /wheels/dlweek-*.whl

# --- runtime: slim, non-root, models baked in (inside the package) --------------------------
FROM python:3.11-slim-bookworm AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    TF_CPP_MIN_LOG_LEVEL=2 \
    KERAS_HOME=/home/dlweek/.keras \
    DLWEEK_OFFLINE=1
RUN groupadd --system --gid 10001 dlweek \
    && useradd --system --uid 10001 --gid dlweek --create-home --home-dir /home/dlweek dlweek
COPY --from=build /opt/venv /opt/venv
USER 10001:10001
WORKDIR /home/dlweek
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=2).status == 200 else 1)"]
ENTRYPOINT ["dlweek"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]

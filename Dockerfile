# syntax=docker/dockerfile:1
# The API image: `docker build -t trading-api .`; compose.yaml runs it as the API, the arq worker
# and the migration step. tests/deploy/test_image.py runs these steps outside Docker.
ARG PYTHON_VERSION=3.11

# uv, pinned to the version that wrote uv.lock.
FROM ghcr.io/astral-sh/uv:0.13.9 AS uv

# Builder: the locked runtime dependencies in a virtualenv at the path the runtime uses.
FROM python:${PYTHON_VERSION}-slim-bookworm AS builder
COPY --from=uv /uv /usr/local/bin/uv
ENV UV_PYTHON_DOWNLOADS=never \
    UV_PYTHON=/usr/local/bin/python3
WORKDIR /src
COPY pyproject.toml uv.lock ./
COPY deploy/build.sh deploy/build.sh
RUN --mount=type=cache,target=/root/.cache/uv deploy/build.sh /opt/venv

# Runtime: the same Python, the virtualenv and the application; no uv, no compilers.
FROM python:${PYTHON_VERSION}-slim-bookworm AS runtime
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --no-create-home --home-dir /nonexistent app
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    ENVIRONMENT=production \
    WEB_CONCURRENCY=4
COPY --from=builder /opt/venv /opt/venv
WORKDIR /app
# Owned by root and read-only to the app user: the process cannot rewrite its own code.
COPY . /app
# Numeric, so orchestrators can verify it is not root (runAsNonRoot).
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
# uvicorn (web/server.py: with the connection timeouts and WebSocket message limit of the
# settings) starts $WEB_CONCURRENCY worker processes; open WebSockets get 5 s to close on stop.
# The app logs one structured line per request: uvicorn's access log would double it.
CMD ["python", "-m", "web.server", "--host", "0.0.0.0", "--port", "8000", "--timeout-graceful-shutdown", "5", "--no-access-log"]

#!/bin/sh
# Installs the locked runtime dependencies (uv.lock, without the dev group) into a new virtualenv
# at $1. The Dockerfile's builder stage runs it; tests/deploy/test_image.py runs it outside Docker.
set -eu
venv="${1:?usage: deploy/build.sh VENV_DIR (run from the directory holding uv.lock)}"
echo "- installing the dependencies locked in uv.lock (no dev group) into $venv"
# --frozen: install exactly the lock file, fail rather than re-resolve when it is out of date.
UV_PROJECT_ENVIRONMENT="$venv" "${UV:-uv}" sync --frozen --no-dev --no-install-project \
  --compile-bytecode --link-mode copy
echo "- $venv is ready"

# Every target creates what it needs: `make run` and `make test` work on a fresh clone.
SHELL := /bin/bash
HOST ?= 127.0.0.1
PORT ?= 8000
# The address `make run` prints: localhost reaches 127.0.0.1, and it is the host dev servers
# (Vite) use, which a page must share with the API for the session cookie (SameSite=Lax). A
# server listening on every interface (HOST=0.0.0.0 or ::) answers there too; an IPv6 address
# goes in brackets.
URL_HOST := $(if $(filter 127.0.0.1 0.0.0.0 ::,$(HOST)),localhost,$(if $(findstring :,$(HOST)),[$(HOST)],$(HOST)))
# uv from the PATH, else a private copy bootstrapped into .tools/ with the system Python.
UV := $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
RUN := $(UV) run --frozen

.PHONY: run migrate worker test lint format schema install bench-live vendor

$(UV):
	python3 -m venv .tools
	.tools/bin/pip install --quiet uv

install: $(UV)
	@echo "- installing dependencies from uv.lock into .venv"
	@$(UV) sync --frozen --quiet --compile-bytecode

# Migrates DATABASE_URL (default: SQLite ./trading.db), loads the demo data in development, serves
# on HOST:PORT (make run PORT=8001, make run HOST=0.0.0.0).
run: install
	@$(RUN) python manage.py prepare
	@echo "- serving on http://$(URL_HOST):$(PORT)$(if $(filter 0.0.0.0 ::,$(HOST)), (listening on every interface))"
	@echo "  live page: http://$(URL_HOST):$(PORT)/"
	@echo "  GraphiQL:  http://$(URL_HOST):$(PORT)/graphql   (sign in on the page's top bar)"
	@echo "  REST docs: http://$(URL_HOST):$(PORT)/docs and http://$(URL_HOST):$(PORT)/redoc"
	@echo "  your own pages: serve them on $(URL_HOST) too (http://$(URL_HOST):5173): the sign-in cookie is per host"
	@echo "- starting uvicorn: python -m web.server (Ctrl-C stops it)"
	@$(RUN) python -m web.server --host $(HOST) --port $(PORT) --no-access-log

# Applies the migrations to DATABASE_URL (default: SQLite ./trading.db); `make run` does it too.
migrate: install
	@$(RUN) python manage.py migrate

# An arq worker for the API's jobs (needs REDIS_URL; without it the API runs them itself).
worker: install
	@$(RUN) python -m workers

test: install
	@$(RUN) pytest

# lint-imports checks the layers of pyproject.toml's [tool.importlinter]: imports only point down.
lint: install
	$(RUN) ruff check .
	$(RUN) ruff format --check .
	$(RUN) mypy .
	$(RUN) lint-imports

format: install
	$(RUN) ruff check --fix .
	$(RUN) ruff format .

# The browser libraries GraphiQL, /docs, /redoc and the live page load, at the versions
# web/vendor/package-lock.json pins (needs npm and the registry): copied into web/vendor/assets/,
# which is committed, so `make run` needs neither. web/vendor/README.md says how to upgrade.
vendor:
	cd web/vendor && npm ci --ignore-scripts --no-audit --no-fund && node copy.mjs

# The served schema, exported for review; tests fail when it drifts from this file.
schema: install
	$(RUN) python manage.py export-schema

# The production processes without Docker (needs PostgreSQL, Redis and DATABASE_URL, REDIS_URL,
# JWT_SECRET in the environment or .env): migrate, WORKERS uvicorn workers on HOST:PORT, one arq
# worker, all with ENVIRONMENT=production; Ctrl-C stops every one of them.
WORKERS ?= 2
.PHONY: run-prod
run-prod: install
	@$(RUN) python -m deploy.run_prod --host $(HOST) --port $(PORT) --workers $(WORKERS)

# Live-trade fan-out: 100 and 1,000 subscribers on one and two processes (needs PostgreSQL, Redis),
# latency from the write's answer; ARGS="--compression deflate none" runs with and without
# permessage-deflate, ARGS="--subscribers 50 --seconds 3" is a short run.
bench-live: install
	$(RUN) python -m bench.live $(ARGS)

# Side-by-side HTTP benchmark against PostGraphile and the ceiling, plus statements per request,
# scaling at 10x data and live fan-out; writes bench/RESULTS.md (needs PostgreSQL, Redis, npm).
# D (seconds per run) and C (connections) tune the load; ARGS=--quick for a shorter run,
# ARGS="--rounds N" for other than three rounds of every server.
.PHONY: bench
bench: install
	$(RUN) python -m bench.compare $(ARGS)

# What each attack of the bounded-work issue costs one server process, the code before the bounds
# and this checkout side by side, then an overload run (needs PostgreSQL); ARGS="--only 3 5".
.PHONY: bench-abuse
bench-abuse: install
	$(RUN) python -m bench.abuse $(ARGS)

# Faults (issue 13): its own PostgreSQL and Redis, two API processes and a worker under writers,
# subscribers, readers and report requests, while each scenario kills or restarts one part;
# prints recovery times, client errors and delivery delays, and writes them into
# bench/RESULTS.md. The tests run the same scenarios shorter (tests/faults/). ARGS="--only
# api-kill worker-kill", "--writers 8 --subscribers 50", "--keep" (logs), "--no-write".
.PHONY: bench-faults
bench-faults: install
	$(RUN) python -m bench.faults $(ARGS)

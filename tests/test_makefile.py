"""The make targets the README shows, typed as a newcomer types them: `make migrate`,
`make worker`, `make run PORT=... HOST=...`."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from db.revision import migration_head
from tests.utils.databases import ROOT, sqlite_url
from tests.utils.ports import free_port
from tests.utils.servers import user_environment
from tests.utils.settings import TEST_SECRET

RUN_TIMEOUT = 120.0
START_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0


def environment(**settings: str) -> dict[str, str]:
    env = user_environment()
    return {**env, "JWT_SECRET": TEST_SECRET, **settings}


def make(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - make on PATH, fixed targets
        ["make", "--no-print-directory", *args],  # noqa: S607
        cwd=ROOT,
        env=env or environment(),
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )


def test_make_migrate_brings_database_url_to_the_newest_migration(tmp_path: Path) -> None:
    database = tmp_path / "fresh.db"
    done = make("migrate", env=environment(DATABASE_URL=sqlite_url(database)))
    assert done.returncode == 0, done.stdout + done.stderr
    with sqlite3.connect(database) as connection:
        versions = connection.execute("SELECT version_num FROM alembic_version").fetchall()
    assert versions == [(migration_head(),)]


def test_make_worker_without_redis_says_no_worker_is_needed() -> None:
    done = make("worker")
    assert done.returncode != 0
    (line,) = [line for line in done.stderr.splitlines() if not line.startswith("make: ")]
    assert line.startswith("error: REDIS_URL is not set")
    assert "no worker is needed" in line


def test_make_worker_runs_the_worker_that_rides_out_redis_outages() -> None:
    dry_run = make("-n", "worker")
    assert dry_run.returncode == 0, dry_run.stderr
    assert dry_run.stdout.strip().splitlines()[-1].endswith("python -m workers")


@pytest.mark.parametrize(
    ("args", "url", "listening"),
    [
        ((), "http://localhost:8000", "127.0.0.1 8000"),
        (("PORT=8001",), "http://localhost:8001", "127.0.0.1 8001"),
        # Every interface: a browser on this machine opens it on localhost.
        (("HOST=0.0.0.0",), "http://localhost:8000", "0.0.0.0 8000"),
        (("HOST=::1", "PORT=9000"), "http://[::1]:9000", "::1 9000"),
    ],
)
def test_make_run_prints_the_urls_to_open(args: tuple[str, ...], url: str, listening: str) -> None:
    dry_run = make("-n", "run", *args)
    assert dry_run.returncode == 0, dry_run.stderr
    lines = dry_run.stdout.splitlines()
    echoed = "\n".join(line for line in lines if line.startswith("echo"))
    assert f"serving on {url}" in echoed
    for path in ("/", "/graphql", "/docs", "/redoc"):
        assert f"{url}{path}" in echoed
    host, port = listening.split()
    assert lines[-1].endswith(f"python -m web.server --host {host} --port {port} --no-access-log")


def test_make_run_serves_on_the_host_and_port_given(tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "make-run.log"
    env = environment(DATABASE_URL=sqlite_url(tmp_path / "run.db"), DEMO_DATA="false")
    with log.open("wb") as out:
        # A session of its own: Ctrl-C goes to make, uv and the server, as in a terminal.
        process = subprocess.Popen(  # noqa: S603 - make on PATH, a fixed target
            ["make", "--no-print-directory", "run", f"PORT={port}", "HOST=0.0.0.0"],  # noqa: S607
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not _healthy(f"http://127.0.0.1:{port}/healthz"):
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
    finally:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    output = log.read_text()
    assert f"serving on http://localhost:{port} (listening on every interface)" in output
    assert f"GraphiQL:  http://localhost:{port}/graphql" in output
    assert f"Uvicorn running on http://0.0.0.0:{port}" in output


def _healthy(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1.0).status_code == 200
    except httpx.TransportError:
        return False

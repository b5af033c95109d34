"""Real uvicorn processes for the tests: started on free ports from environment variables."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.utils.databases import ROOT, copy_sqlite
from tests.utils.ports import free_port
from tests.utils.settings import ADMIN_EMAIL, ADMIN_PASSWORD, APP_ORIGIN, TEST_SECRET

START_TIMEOUT = 20.0
STOP_TIMEOUT = 10.0


@dataclass
class Server:
    base_url: str
    process: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


# The settings a start-up test decides itself, and make's own variables: under `make test`,
# MAKELEVEL would make a nested `make` speak as `make[1]:`, not as the user's `make:`.
_DECIDED = ("DATABASE_URL", "REDIS_URL", "JWT_SECRET", "ENVIRONMENT", "LOG_LEVEL", "FIRST_ADMIN_")
_MAKES_OWN = frozenset({"MAKELEVEL", "MAKEFLAGS", "MFLAGS", "MAKEOVERRIDES"})


def user_environment() -> dict[str, str]:
    """This process's environment as a user's shell would have it, without the settings the
    test sets itself."""
    return {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(_DECIDED) and name not in _MAKES_OWN
    }


def wait_until_serving(server: Server) -> None:
    """Poll until the server answers, for at most START_TIMEOUT seconds."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(f"uvicorn exited with {server.process.returncode}:\n{server.output()}")
        try:
            if httpx.get(f"{server.base_url}/healthz", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    pytest.fail(f"uvicorn did not answer within {START_TIMEOUT} s:\n{server.output()}")


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL if it does not exit in time; always reaps the process."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=STOP_TIMEOUT)


def start_uvicorn(
    database_url: str,
    log: Path,
    *,
    launcher: str = "web.server",
    port: int | None = None,
    **overrides: str,
) -> Server:
    """`python -m web.server` (uvicorn as deployed), configured only through environment
    variables; `launcher="uvicorn"` for plain uvicorn (`main:app`), without the launcher's
    connection limits. `port`: a given one (a restart where the last process listened)."""
    port = port or free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "JWT_SECRET": TEST_SECRET,
        "FIRST_ADMIN_EMAIL": ADMIN_EMAIL,
        "FIRST_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "ENVIRONMENT": "development",
        "CORS_ORIGINS": APP_ORIGIN,
    }
    env.pop("REDIS_URL", None)
    env.update({name.upper(): value for name, value in overrides.items()})
    command = [sys.executable, "-m", launcher, *(["main:app"] if launcher == "uvicorn" else [])]
    command += ["--host", "127.0.0.1"]
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: S603 - a fixed command line
            [*command, "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return Server(base_url=f"http://127.0.0.1:{port}", process=process, log=log)


@contextmanager
def uvicorn_servers(
    database_url: str, *logs: Path, launcher: str = "web.server", **overrides: str
) -> Iterator[list[Server]]:
    """One server per log file, all started at once on the same database, stopped at exit."""
    servers: list[Server] = []
    try:
        for log in logs:
            servers.append(
                start_uvicorn(database_url, log, launcher=launcher, port=None, **overrides)
            )
        for server in servers:
            wait_until_serving(server)
        yield servers
    finally:
        for server in servers:
            stop(server.process)


@contextmanager
def sqlite_server(template: Path, directory: Path, **overrides: str) -> Iterator[Server]:
    """One uvicorn process on a copy of the migrated SQLite template, logging into `directory`."""
    database = copy_sqlite(template, directory / "server.db")
    with uvicorn_servers(database, directory / "uvicorn.log", **overrides) as (server,):
        yield server


def graphql_data(base_url: str, token: str, query: str, **variables: Any) -> dict[str, Any]:
    """`data` of a GraphQL request to a running server, asserting it had no errors."""
    response = httpx.post(
        f"{base_url}/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body
    data: dict[str, Any] = body["data"]
    return data

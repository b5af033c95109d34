"""What the browser tests share: Debian's Chromium, the pinned playwright-core driver, a server."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.databases import ROOT
from tests.node import install_node_tool
from tests.servers import Server, sqlite_server

DRIVER_DIRECTORY = ROOT / "tests" / "browser"
ARTIFACTS = DRIVER_DIRECTORY / "artifacts"  # git-ignored; CI keeps it


@pytest.fixture(scope="session")
def driver() -> Path:
    """The folder of the drivers (*.mjs), with playwright-core from the npm registry, pinned by
    its lock file, installed on first use."""
    install_node_tool(DRIVER_DIRECTORY, "playwright-core", "the browser test")
    return DRIVER_DIRECTORY


@pytest.fixture(scope="module")
def server(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with sqlite_server(sqlite_template, tmp_path_factory.mktemp("browser")) as server:
        yield server


def bearer_token(http: httpx.Client, email: str, password: str) -> str:
    response = http.post("/auth/token", data={"username": email, "password": password})
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def run_driver(script: Path, config: dict[str, Any], server: Server) -> dict[str, Any]:
    """Run one driver to its end; what it printed (JSON), or a failure with its log and the
    server's."""
    node = shutil.which("node")
    assert node is not None
    ARTIFACTS.mkdir(exist_ok=True)
    run = subprocess.run(  # noqa: S603 - a fixed command line
        [node, str(script), json.dumps(config)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, f"{run.stderr}\n--- server log ---\n{server.output()}"
    seen: dict[str, Any] = json.loads(run.stdout)
    return seen

"""Running the browser drivers (*.mjs) against a server, and the token they sign in with."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx

from tests.utils.databases import ROOT
from tests.utils.servers import Server

DRIVER_DIRECTORY = ROOT / "tests" / "browser"
ARTIFACTS = DRIVER_DIRECTORY / "artifacts"  # git-ignored; CI keeps it


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

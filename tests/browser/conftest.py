"""What the browser tests share: Debian's Chromium, the pinned playwright-core driver, a server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser.drivers import DRIVER_DIRECTORY
from tests.utils.node import install_node_tool
from tests.utils.servers import Server, sqlite_server


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

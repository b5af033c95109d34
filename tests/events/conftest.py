"""The in-process client of the subscription tests: Starlette's TestClient speaks WebSocket."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from main import create_app
from settings import Settings


@pytest.fixture
def sync_client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as client:
        yield client

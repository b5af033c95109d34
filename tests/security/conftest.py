"""Limits and request checks act before any query runs, so one database (SQLite) is enough here;
the bad-input battery, which checks what the database holds, runs on both."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.utils.databases import copy_sqlite
from tests.utils.live import Account, Live, start_live


@pytest.fixture
def database_url(sqlite_template: Path, tmp_path: Path) -> str:
    return copy_sqlite(sqlite_template, tmp_path / "test.db")


@pytest.fixture(scope="module")
def live(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """A live uvicorn process with the default settings, for one module's attacks."""
    yield from start_live(sqlite_template, tmp_path_factory.mktemp("attacked"))


@pytest.fixture(scope="module")
def alice(live: Live, request: pytest.FixtureRequest) -> Account:
    return live.sign_up(f"alice-{request.module.__name__.rsplit('.', 1)[-1]}@example.com")

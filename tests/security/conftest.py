"""Limits and request checks act before any query runs, so one database (SQLite) is enough here;
the bad-input battery, which checks what the database holds, runs on both."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.databases import copy_sqlite


@pytest.fixture
def database_url(sqlite_template: Path, tmp_path: Path) -> str:
    return copy_sqlite(sqlite_template, tmp_path / "test.db")

"""The live tests' server: one real uvicorn process per module (tests/utils/live.py drives it)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.utils.live import Live, start_live


@pytest.fixture(scope="module")
def live(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """One server with the default settings, shared by a module's tests."""
    yield from start_live(sqlite_template, tmp_path_factory.mktemp("live"))

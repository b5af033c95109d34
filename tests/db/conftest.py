"""A PostgreSQL server of the tests' own, which they may stop, restart and crash."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.utils.databases import migrate
from tests.utils.needs import needed
from tests.utils.postgres_server import PostgresServer

DATABASE = "trading"


@pytest.fixture(scope="session")
def restartable_cluster() -> Iterator[PostgresServer]:
    """initdb once per session (~1 s); the database `trading`, migrated. Skipped (failed in CI)
    where PostgreSQL's programs are missing. Its directory is not under pytest's (readable by
    root only): the server runs as `postgres`."""
    if (reason := PostgresServer.unavailable()) is not None:
        needed(reason)
    directory = Path(tempfile.mkdtemp(prefix="own-postgres-"))
    try:
        with PostgresServer(directory) as server:
            server.create_database(DATABASE)
            migrate(server.url(DATABASE))
            yield server
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def restartable_postgres(restartable_cluster: PostgresServer) -> Iterator[PostgresServer]:
    """The cluster, running at the start of the test and again after it, whatever it did."""
    if not restartable_cluster.running():
        restartable_cluster.start()
    yield restartable_cluster
    if not restartable_cluster.running():
        restartable_cluster.start()


@pytest.fixture
def restartable_database_url(restartable_postgres: PostgresServer) -> str:
    """The cluster's migrated database `trading`."""
    return restartable_postgres.url(DATABASE)

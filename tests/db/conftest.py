"""A PostgreSQL server of the tests' own, which they may stop, restart and crash."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.databases import migrate
from tests.own_postgres import OwnPostgres, own_postgres

DATABASE = "trading"


@pytest.fixture(scope="session")
def restartable_cluster() -> Iterator[OwnPostgres]:
    """initdb once per session (~1 s); the database `trading`, migrated."""
    with own_postgres() as server:
        server.create_database(DATABASE)
        migrate(server.url(DATABASE))
        yield server


@pytest.fixture
def restartable_postgres(restartable_cluster: OwnPostgres) -> Iterator[OwnPostgres]:
    """The cluster, running at the start of the test and again after it, whatever it did."""
    if not restartable_cluster.running():
        restartable_cluster.start()
    yield restartable_cluster
    if not restartable_cluster.running():
        restartable_cluster.start()

"""db.engine.refusal on what a real server answers a connection it refuses: no such database, a
role that does not exist, may not log in, or gives a wrong password; and start-up's line for the
wrong password (the shared server trusts every local connection, so only a server of the tests'
own, told to ask this role for its password, can refuse one)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from db.engine import database_trouble, refusal
from startup import StartupProblem, database_problems
from tests.db.statements import execute, failure
from tests.utils.ports import free_port
from tests.utils.postgres_server import PostgresServer

PASSWORD = f"right-{uuid.uuid4().hex}"
WRONG_PASSWORD = f"wrong-{uuid.uuid4().hex}"


async def connect_error(url: str) -> BaseException:
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        return await failure(execute(engine))
    finally:
        await engine.dispose()


async def admin(postgres: PostgresServer, *statements: str) -> None:
    engine = create_async_engine(postgres.url(), poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        for statement in statements:
            await execute(engine, statement)
    finally:
        await engine.dispose()


def with_user(postgres: PostgresServer, user: str, password: str | None = None) -> str:
    url = make_url(postgres.url()).set(username=user, password=password)
    return url.render_as_string(hide_password=False)


@pytest.fixture
async def password_role(restartable_postgres: PostgresServer) -> AsyncIterator[str]:
    """A role this server asks for its password (scram), every other connection still trusted:
    pg_hba.conf takes the first line that matches."""
    role = f"pw_{uuid.uuid4().hex[:8]}"
    hba = restartable_postgres.data / "pg_hba.conf"
    trusted = hba.read_text()
    await admin(restartable_postgres, f"CREATE ROLE {role} LOGIN PASSWORD '{PASSWORD}'")
    hba.write_text(f"host all {role} 127.0.0.1/32 scram-sha-256\n{trusted}")
    await admin(restartable_postgres, "SELECT pg_reload_conf()")
    yield role
    hba.write_text(trusted)
    await admin(restartable_postgres, "SELECT pg_reload_conf()", f"DROP ROLE {role}")


async def test_a_missing_database_is_refused(restartable_postgres: PostgresServer) -> None:
    error = await connect_error(restartable_postgres.url(f"missing_{uuid.uuid4().hex[:8]}"))
    assert refusal(error) == "no database"
    assert database_trouble(error) is None  # not an outage: retrying does not heal it


async def test_an_unknown_role_and_one_without_login_are_refused(
    restartable_postgres: PostgresServer,
) -> None:
    assert refusal(await connect_error(with_user(restartable_postgres, "nobody_here"))) == (
        "not authorized"
    )
    role = f"nologin_{uuid.uuid4().hex[:8]}"
    await admin(restartable_postgres, f"CREATE ROLE {role} NOLOGIN")
    try:
        error = await connect_error(with_user(restartable_postgres, role))
    finally:
        await admin(restartable_postgres, f"DROP ROLE {role}")
    assert refusal(error) == "not authorized"


async def test_a_wrong_password_is_told_without_it(
    restartable_postgres: PostgresServer, password_role: str
) -> None:
    url = with_user(restartable_postgres, password_role, WRONG_PASSWORD)
    error = await connect_error(url)
    assert refusal(error) == "not authorized"
    with pytest.raises(StartupProblem) as told, database_problems(url):
        raise error
    line = str(told.value)
    assert f'password authentication failed for user "{password_role}"' in line
    assert "correct the user or password in DATABASE_URL" in line
    assert WRONG_PASSWORD not in line and ":***@" in line
    # The right one is let in: the refusal was the password's.
    right = create_async_engine(with_user(restartable_postgres, password_role, PASSWORD))
    try:
        await execute(right)
    finally:
        await right.dispose()


async def test_nothing_listening_is_an_outage_not_a_refusal() -> None:
    error = await connect_error(f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/x")
    assert refusal(error) is None
    assert database_trouble(error) == "unavailable"

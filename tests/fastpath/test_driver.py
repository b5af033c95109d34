"""Compiled statements go straight to asyncpg on PostgreSQL (fastpath/driver.py): a pooled
connection the server dropped costs one request the general path's answer, is thrown out of the
pool, and the compiled path answers again from the next request on."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from settings import Settings
from tests.utils.api import Api
from tests.utils.app import serve
from tests.utils.settings import make_settings
from tests.utils.statements import answered_by

QUERY = "{ me { id name } trades(limit: 2) { id } }"


@pytest.fixture
def settings(database_url: str) -> Settings:
    if not database_url.startswith("postgresql"):
        pytest.skip("the driver is asyncpg's on PostgreSQL only")
    return make_settings(database_url, cache_ttl_seconds=0)


async def test_a_dropped_connection_is_replaced_and_the_compiled_path_answers_again(
    settings: Settings,
) -> None:
    async with serve(settings) as (client, app):
        api = Api(client)
        user_id, token = await api.signup("alice@example.com", "Alice")
        expected = {"data": {"me": {"id": user_id, "name": "Alice"}, "trades": []}}
        with answered_by() as paths:
            assert await api.gql(QUERY, token=token) == expected
        assert paths == [True]

        async with app.state.services.engine.connect() as connection:
            await connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
        with answered_by() as paths:
            for _ in range(3):
                assert await api.gql(QUERY, token=token) == expected
        assert paths[1:] == [True, True], paths


async def test_the_compiled_statements_run_with_generic_plans(settings: Settings) -> None:
    """Planned once per connection, not again for each request's values (db/engine.py)."""
    async with serve(settings) as (_, app), app.state.services.reader.connect() as connection:
        mode = await connection.scalar(text("SHOW plan_cache_mode"))
    assert mode == "force_generic_plan"

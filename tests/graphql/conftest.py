"""Fixtures of the GraphQL tests: signed-in accounts on top of tests/conftest.py's `api`."""

from __future__ import annotations

import pytest

from tests.utils.accounts import Account, sign_up
from tests.utils.api import Api
from tests.utils.settings import ADMIN_EMAIL


@pytest.fixture(params=["compiled", "general"])
def path(request: pytest.FixtureRequest) -> str:
    """Which path answers signed-in queries: the compiled one (fastpath/) or Strawberry's."""
    name: str = request.param
    return name


@pytest.fixture
async def alice(api: Api) -> Account:
    return await sign_up(api, "alice@example.com", "Alice")


@pytest.fixture
async def bob(api: Api) -> Account:
    return await sign_up(api, "bob@example.com", "Bob")


@pytest.fixture
async def admin(api: Api) -> Account:
    """The admin created at start-up."""
    token = await api.admin_token()
    body = await api.gql("{ me { id name } }", token=token)
    me = body["data"]["me"]
    return Account(id=me["id"], token=token, email=ADMIN_EMAIL, name=me["name"])

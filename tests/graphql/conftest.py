"""Fixtures of the GraphQL tests: signed-in accounts on top of tests/conftest.py's `api`."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.conftest import ADMIN_EMAIL, Api


@pytest.fixture(params=["compiled", "general"])
def path(request: pytest.FixtureRequest) -> str:
    """Which path answers signed-in queries: the compiled one (fastpath/) or Strawberry's."""
    name: str = request.param
    return name


@dataclass(frozen=True)
class Account:
    id: int
    token: str
    email: str
    name: str


async def sign_up(api: Api, email: str, name: str) -> Account:
    user_id, token = await api.signup(email, name)
    return Account(id=user_id, token=token, email=email, name=name)


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

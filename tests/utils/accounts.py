"""Signed-up accounts of the in-process app, as the GraphQL tests use them."""

from __future__ import annotations

from dataclasses import dataclass

from tests.utils.api import Api


@dataclass(frozen=True)
class Account:
    id: int
    token: str
    email: str
    name: str


async def sign_up(api: Api, email: str, name: str) -> Account:
    user_id, token = await api.signup(email, name)
    return Account(id=user_id, token=token, email=email, name=name)

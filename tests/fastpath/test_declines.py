"""The compiled path declines a request without a valid session before it reads the body: the
general path answers it (`me` null signed out, UNAUTHENTICATED with a bad token) and decodes it
once, so an anonymous 1 MB body is not decoded twice."""

from __future__ import annotations

from typing import Any

import pytest

import fastpath.middleware
from tests.utils.api import Api
from tests.utils.statements import answered_by
from web.json_input import decode_json

QUERY = "{ me { id } }"


@pytest.fixture
def decoded(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """What the compiled path decoded as a request body."""
    seen: list[object] = []

    def spy(data: str | bytes) -> Any:
        seen.append(data)
        return decode_json(data)

    monkeypatch.setattr(fastpath.middleware, "decode_json", spy)
    return seen


@pytest.mark.parametrize("token", [None, "not-a-token"], ids=["anonymous", "bad-token"])
async def test_a_request_without_a_session_is_not_read_by_the_compiled_path(
    api: Api, decoded: list[object], token: str | None
) -> None:
    with answered_by() as paths:
        answer = await api.gql(QUERY, token=token)
    if token is None:
        assert answer == {"data": {"me": None}}
    else:
        assert answer["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED", answer
    assert paths == [False]
    assert decoded == []


async def test_a_signed_in_request_is_read_once_by_the_compiled_path(
    api: Api, decoded: list[object]
) -> None:
    user_id, token = await api.signup("alice@example.com", "Alice")
    with answered_by() as paths:
        assert await api.gql(QUERY, token=token) == {"data": {"me": {"id": user_id}}}
    assert paths == [True]
    assert len(decoded) == 1

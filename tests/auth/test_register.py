"""POST /auth/register: the new user, any email case at login, duplicates (409) and invalid
input (422) that stores nothing."""

from __future__ import annotations

from datetime import datetime

import httpx
import pytest

from db.models import User
from schema.models import MAX_PASSWORD_LENGTH
from services import Services
from tests.auth.cookies import PASSWORD, login
from tests.utils.api import Api
from tests.utils.graphql import count_rows


async def test_register_returns_the_new_user(client: httpx.AsyncClient) -> None:
    """Email is stored lower-cased and the name stripped; the password never comes back."""
    response = await client.post(
        "/auth/register",
        json={"email": "Alice.Smith@Example.COM", "password": PASSWORD, "name": "  Alice  "},
    )
    assert response.status_code == 201, response.text
    user = response.json()
    assert set(user) == {"id", "name", "role", "email", "registered_at"}
    assert isinstance(user["id"], int)
    assert user["email"] == "alice.smith@example.com"
    assert user["name"] == "Alice"
    assert user["role"] == "user"
    assert datetime.fromisoformat(user["registered_at"]).tzinfo is not None


async def test_registered_user_can_log_in_with_any_email_case(
    api: Api, client: httpx.AsyncClient
) -> None:
    await api.register("carol@example.com")
    response = await login(client, "CAROL@Example.com")
    assert response.status_code == 204, response.text


@pytest.mark.parametrize("second", ["dave@example.com", "DAVE@Example.Com"])
async def test_register_duplicate_email_is_409(
    api: Api, client: httpx.AsyncClient, services: Services, second: str
) -> None:
    """A second account for the same email (in any case) is refused and stores nothing."""
    await api.register("dave@example.com")
    before = await count_rows(services, User)

    response = await client.post(
        "/auth/register", json={"email": second, "password": "other-secret-2", "name": "Imposter"}
    )

    assert response.status_code == 409, response.text
    assert response.json() == {
        "detail": "That email is already registered",
        "code": "CONFLICT",
        "errors": [{"field": "email", "message": "That email is already registered"}],
    }
    assert await count_rows(services, User) == before
    # The first account keeps its password; the imposter's password does not work.
    assert (await login(client, "dave@example.com")).status_code == 204
    assert (await login(client, "dave@example.com", "other-secret-2")).status_code == 401


INVALID_REGISTRATIONS = {
    "common password": ({"password": "qwertyuiop"}, "password"),
    "common password, other case": ({"password": "LetMeIn123"}, "password"),
    "too few distinct characters": ({"password": "abababababab"}, "password"),
    "password too short": ({"password": "Xy7!abcde"}, "password"),
    "password too long": ({"password": "Xy7!" + "a" * 125}, "password"),
    "malformed email": ({"email": "not-an-email"}, "email"),
    "email without domain": ({"email": "someone@"}, "email"),
    "email without local part": ({"email": "@example.com"}, "email"),
    "empty name": ({"name": ""}, "name"),
    "blank name": ({"name": "   "}, "name"),
    "name too long": ({"name": "n" * 101}, "name"),
    "missing email": ({"email": None}, "email"),
    "missing password": ({"password": None}, "password"),
    "missing name": ({"name": None}, "name"),
}


@pytest.mark.parametrize(
    ("changes", "field"), INVALID_REGISTRATIONS.values(), ids=INVALID_REGISTRATIONS.keys()
)
async def test_register_invalid_input_is_422_and_stores_nothing(
    client: httpx.AsyncClient, services: Services, changes: dict[str, str | None], field: str
) -> None:
    payload: dict[str, str | None] = {
        "email": "erin@example.com",
        "password": PASSWORD,
        "name": "Erin",
    }
    payload.update(changes)
    body = {key: value for key, value in payload.items() if value is not None}
    before = await count_rows(services, User)

    response = await client.post("/auth/register", json=body)

    assert response.status_code == 422, response.text
    assert response.json()["code"] == "BAD_USER_INPUT"
    assert field in [error["field"] for error in response.json()["errors"]], response.text
    assert await count_rows(services, User) == before
    if "email" in body and "@" in body["email"] and "password" in body:
        # A password longer than any account can have is refused before it is verified.
        refused = 422 if len(body["password"]) > MAX_PASSWORD_LENGTH else 401
        assert (await login(client, body["email"], body["password"])).status_code == refused

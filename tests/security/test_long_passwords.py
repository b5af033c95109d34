"""Passwords longer than registration allows are refused with 422 before any hashing, on every
auth route, and no answer repeats the password sent."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.security.live import cost_of
from tests.utils.live import Live, start_live

EMAIL = "long@example.com"
MAX_LENGTH = 128  # schema/models.py MAX_PASSWORD_LENGTH
ONE_MB = 1_000_000
REFUSAL_CPU_SECONDS = 0.1


@pytest.fixture(scope="module")
def live(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    for live in start_live(sqlite_template, tmp_path_factory.mktemp("long-passwords")):
        live.sign_up(EMAIL)
        yield live


@pytest.mark.parametrize(
    ("route", "length"),
    [("/auth/token", 4_097), ("/auth/token", ONE_MB), ("/auth/login", ONE_MB)],
)
def test_sign_in_refuses_an_over_long_password(live: Live, route: str, length: int) -> None:
    password = "p" * (length - 1) + "!"
    with live.http() as http, cost_of(live) as cost:
        response = http.post(route, data={"username": EMAIL, "password": password})
    assert response.status_code == 422, response.text[:200]
    assert response.json() == {
        "detail": "The password is longer than 128 characters",
        "code": "BAD_USER_INPUT",
        "errors": [{"field": "password", "message": "The password is longer than 128 characters"}],
    }
    assert "set-cookie" not in response.headers
    assert cost.cpu_seconds < REFUSAL_CPU_SECONDS, cost.cpu_seconds


def test_the_longest_registrable_password_is_still_verified(live: Live) -> None:
    with live.http() as http:
        response = http.post("/auth/token", data={"username": EMAIL, "password": "p" * MAX_LENGTH})
    assert response.status_code == 401


@pytest.mark.parametrize("password", ["p" * (ONE_MB - 1) + "!", "short-1!"], ids=["1-MB", "short"])
def test_registration_refuses_without_echoing_the_password(live: Live, password: str) -> None:
    body = {"email": "new@example.com", "password": password, "name": "New"}
    with live.http() as http, cost_of(live) as cost:
        response = http.post("/auth/register", json=body)
    assert response.status_code == 422
    assert password not in response.text and len(response.content) < 1_000, response.text[:200]
    [error] = response.json()["errors"]
    assert error["field"] == "password" and set(error) == {"field", "message"}, error
    assert cost.cpu_seconds < REFUSAL_CPU_SECONDS, cost.cpu_seconds

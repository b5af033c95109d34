"""Every answer of the auth routes and of /users/me says `Cache-Control: no-store`: tokens,
cookies and personal data must not be kept by a browser's or a proxy's cache."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.utils.live import PASSWORD, Account, Live, start_live

EMAIL = "cached@example.com"
Request = Callable[[httpx.Client, Account], httpx.Response]
CROSS_SITE = {"origin": "https://evil.example", "sec-fetch-site": "cross-site"}


@pytest.fixture(scope="module")
def live(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    yield from start_live(
        sqlite_template, tmp_path_factory.mktemp("auth-headers"), login_max_failures_per_account="2"
    )


@pytest.fixture(scope="module")
def account(live: Live) -> Account:
    return live.sign_up(EMAIL)


def bearer(account: Account) -> dict[str, str]:
    return {"Authorization": f"Bearer {account.token}"}


def sign_in(route: str, password: str = PASSWORD) -> Request:
    return lambda http, _: http.post(route, data={"username": EMAIL, "password": password})


def register(email: str, password: str = PASSWORD) -> Request:
    body = {"email": email, "password": password, "name": "New"}
    return lambda http, _: http.post("/auth/register", json=body)


CASES: dict[str, tuple[Request, int]] = {
    "register": (register("fresh@example.com"), 201),
    "register-taken": (register(EMAIL), 409),
    "register-invalid": (register("bad@example.com", "short"), 422),
    "token": (sign_in("/auth/token"), 200),
    "token-wrong": (sign_in("/auth/token", "wrong-password-1"), 401),
    "token-too-long": (sign_in("/auth/token", "p" * 129), 422),
    "login": (sign_in("/auth/login"), 204),
    "cross-site": (lambda http, _: http.post("/auth/login", headers=CROSS_SITE), 403),
    "me": (lambda http, account: http.get("/users/me", headers=bearer(account)), 200),
    "me-signed-out": (lambda http, _: http.get("/users/me"), 401),
    "logout": (lambda http, _: http.post("/auth/logout"), 204),
    "logout-all-signed-out": (lambda http, _: http.post("/auth/logout-all"), 401),
}


@pytest.mark.parametrize("case", CASES)
def test_auth_answers_are_never_cached(live: Live, account: Account, case: str) -> None:
    request, status = CASES[case]
    with live.http() as http:
        response = request(http, account)
    assert response.status_code == status, response.text
    assert response.headers["cache-control"] == "no-store"


def test_a_throttled_sign_in_is_not_cached_either(live: Live, account: Account) -> None:
    with live.http() as http:
        for _ in range(2):
            sign_in("/auth/token", "wrong-password-1")(http, account)
        response = sign_in("/auth/token")(http, account)
    assert response.status_code == 429
    assert response.headers["cache-control"] == "no-store"

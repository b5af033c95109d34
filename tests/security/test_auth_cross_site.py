"""Login CSRF: a page on another site cannot sign a browser into an account (or out of one) by
posting a form to the auth routes. Browsers' own headers (Sec-Fetch-Site, Origin) say where a
request comes from; this site's pages and the CORS_ORIGINS pages keep working, and clients that
are not browsers (no such headers) are unaffected."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.utils.live import PASSWORD, Account, Live, start_live
from tests.utils.settings import APP_ORIGIN
from web.cross_site import COOKIE_ACROSS_SITES

ATTACKER = "attacker@example.com"
EVIL = "https://evil.example"
FORM = "application/x-www-form-urlencoded"
REFUSAL = (
    "Cross-site requests to this route are refused: sign in from this site's own pages or "
    "from an origin listed in CORS_ORIGINS"
)


@pytest.fixture(scope="module")
def live(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    yield from start_live(sqlite_template, tmp_path_factory.mktemp("auth-cross-site"))


@pytest.fixture(scope="module")
def attacker(live: Live) -> Account:
    return live.sign_up(ATTACKER)


def browser(origin: str | None, fetch_site: str | None) -> dict[str, str]:
    """The headers a browser adds to a form POST made by a page of `origin`."""
    headers = {"content-type": FORM, "accept": "text/html", "sec-fetch-mode": "navigate"}
    if origin is not None:
        headers["origin"] = origin
    if fetch_site is not None:
        headers["sec-fetch-site"] = fetch_site
    return headers


def login(live: Live, headers: dict[str, str]) -> httpx.Response:
    with live.http() as http:
        return http.post(
            "/auth/login", content=f"username={ATTACKER}&password={PASSWORD}", headers=headers
        )


@pytest.mark.parametrize(
    ("origin", "fetch_site"),
    [
        (EVIL, "cross-site"),
        (EVIL, None),  # a browser without Fetch Metadata
        ("https://shop.example", "same-site"),  # a sibling subdomain is another origin
        ("null", "cross-site"),  # a sandboxed frame or a privacy redirect
        (None, "cross-site"),
    ],
)
def test_a_cross_site_form_cannot_sign_a_browser_in(
    live: Live, attacker: Account, origin: str | None, fetch_site: str | None
) -> None:
    response = login(live, browser(origin, fetch_site))
    assert response.status_code == 403
    assert response.json() == {"detail": REFUSAL, "code": "FORBIDDEN", "errors": []}
    assert "set-cookie" not in response.headers


@pytest.mark.parametrize(
    ("route", "body"),
    [
        ("/auth/token", f"username={ATTACKER}&password={PASSWORD}"),
        ("/auth/register", "email=new%40example.com&password=trade-secret-1&name=New"),
        ("/auth/logout", ""),
        ("/auth/logout-all", ""),
    ],
)
def test_the_other_routes_that_change_state_refuse_too(
    live: Live, attacker: Account, route: str, body: str
) -> None:
    headers = browser(EVIL, "cross-site") | {"cookie": f"access_token={attacker.cookie}"}
    with live.http() as http:
        response = http.post(route, content=body, headers=headers)
        assert response.status_code == 403, response.text
        # The session the cookie names was not ended.
        me = http.get("/users/me", headers={"Authorization": f"Bearer {attacker.token}"})
    assert me.status_code == 200


@pytest.mark.parametrize(
    ("origin", "fetch_site"),
    [
        ("{own}", "same-origin"),
        ("{own}", None),  # a browser without Fetch Metadata, on this site
        (APP_ORIGIN, "cross-site"),  # a form of a CORS_ORIGINS page: a top-level navigation
        (APP_ORIGIN, "same-site"),
        (None, "none"),  # typed or bookmarked by the user
        (None, None),  # not a browser: curl, scripts
    ],
)
def test_this_site_and_cors_origins_still_sign_in(
    live: Live, attacker: Account, origin: str | None, fetch_site: str | None
) -> None:
    own = live.server.base_url
    response = login(live, browser(origin and origin.format(own=own), fetch_site))
    assert response.status_code == 204, response.text
    assert "access_token=" in response.headers["set-cookie"]


def fetch(origin: str, fetch_site: str) -> dict[str, str]:
    """The headers a browser adds to a `fetch` POST of a form made by a page of `origin`."""
    return browser(origin, fetch_site) | {"accept": "*/*", "sec-fetch-mode": "cors"}


def test_a_cors_origins_page_on_another_site_is_told_the_cookie_would_be_dropped(
    live: Live, attacker: Account
) -> None:
    """http://localhost:5173 calling http://127.0.0.1:8000, say: the browser drops a SameSite=Lax
    cookie set by the answer to a cross-site fetch, so a 204 would sign nobody in."""
    response = login(live, fetch(APP_ORIGIN, "cross-site"))
    assert response.status_code == 403
    assert response.json()["detail"] == (
        f"{COOKIE_ACROSS_SITES} (page: {APP_ORIGIN}, API: {live.server.base_url})"
    )
    assert "set-cookie" not in response.headers
    # The same page may sign in with a token, or with the cookie from the same site.
    with live.http() as http:
        form = f"username={ATTACKER}&password={PASSWORD}"
        token = http.post("/auth/token", content=form, headers=fetch(APP_ORIGIN, "cross-site"))
    assert token.status_code == 200, token.text
    same_site = login(live, fetch(APP_ORIGIN, "same-site"))
    assert same_site.status_code == 204, same_site.text

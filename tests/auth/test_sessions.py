"""Sessions that can be ended: logout, logout everywhere, deactivation; every process at once."""

from __future__ import annotations

from typing import Any

import httpx

from settings import Settings
from tests.utils.api import Api, error_codes
from tests.utils.app import serve

PASSWORD = "trade-secret-1"


async def me_status(client: httpx.AsyncClient, token: str) -> int:
    response = await client.get("/users/me", headers={"Authorization": f"Bearer {token}"})
    return response.status_code


async def test_logout_ends_that_session_only(api: Api, client: httpx.AsyncClient) -> None:
    await api.register("alice@example.com")
    phone, laptop = await api.token("alice@example.com"), await api.token("alice@example.com")
    response = await client.post("/auth/logout", headers={"Authorization": f"Bearer {phone}"})
    assert response.status_code == 204
    assert await me_status(client, phone) == 401
    # A logged-out token is refused, not taken for an anonymous request.
    assert error_codes(await api.gql("{ me { id } }", token=phone)) == ["UNAUTHENTICATED"]
    assert error_codes(await api.gql("{ trades { id } }", token=phone)) == ["UNAUTHENTICATED"]
    assert await me_status(client, laptop) == 200
    # Twice, or signed out already: still 204.
    again = await client.post("/auth/logout", headers={"Authorization": f"Bearer {phone}"})
    assert again.status_code == 204
    assert (await client.post("/auth/logout")).status_code == 204


async def test_logout_with_the_cookie_ends_the_cookie_session(
    api: Api, client: httpx.AsyncClient
) -> None:
    await api.register("bob@example.com")
    login = await client.post(
        "/auth/login", data={"username": "bob@example.com", "password": PASSWORD}
    )
    cookie = login.cookies["access_token"]
    assert (await client.post("/auth/logout")).status_code == 204
    assert "access_token" not in client.cookies
    stale = await client.get("/users/me", headers={"Cookie": f"access_token={cookie}"})
    assert stale.status_code == 401


async def test_every_process_honours_a_logout_at_once(
    api: Api, client: httpx.AsyncClient, settings: Settings
) -> None:
    await api.register("carol@example.com")
    token = await api.token("carol@example.com")
    async with serve(settings) as (other_process, _):
        assert await me_status(other_process, token) == 200
        await client.post("/auth/logout", headers={"Authorization": f"Bearer {token}"})
        assert await me_status(other_process, token) == 401


async def test_logout_all_ends_every_session(api: Api, client: httpx.AsyncClient) -> None:
    await api.register("dave@example.com")
    tokens = [await api.token("dave@example.com") for _ in range(3)]
    response = await client.post(
        "/auth/logout-all", headers={"Authorization": f"Bearer {tokens[0]}"}
    )
    assert response.status_code == 204
    assert [await me_status(client, t) for t in tokens] == [401, 401, 401]
    fresh = await api.token("dave@example.com")  # signing in again works
    assert await me_status(client, fresh) == 200
    anonymous = await client.post("/auth/logout-all")
    assert anonymous.status_code == 401


DEACTIVATE = "mutation($id: Int!) { deactivateUser(userId: $id) { id name } }"


async def deactivate(api: Api, token: str, user_id: int) -> dict[str, Any]:
    return await api.gql(DEACTIVATE, {"id": user_id}, token=token)


async def test_deactivation_ends_sessions_and_sign_in(api: Api, client: httpx.AsyncClient) -> None:
    erin_id, erin = await api.signup("erin@example.com", "Erin")
    admin = await api.admin_token()
    assert await deactivate(api, admin, erin_id) == {
        "data": {"deactivateUser": {"id": erin_id, "name": "Erin"}}
    }
    assert await me_status(client, erin) == 401
    login = await client.post(
        "/auth/token", data={"username": "erin@example.com", "password": PASSWORD}
    )
    assert login.status_code == 401


async def test_deactivation_is_for_admins_and_not_of_themselves(api: Api) -> None:
    frank_id, frank = await api.signup("frank@example.com")
    grace_id, _ = await api.signup("grace@example.com")
    assert error_codes(await deactivate(api, frank, grace_id)) == ["FORBIDDEN"]
    admin = await api.admin_token()
    admin_id = (await api.gql("{ me { id } }", token=admin))["data"]["me"]["id"]
    assert error_codes(await deactivate(api, admin, admin_id)) == ["FORBIDDEN"]
    assert error_codes(await deactivate(api, admin, 987654)) == ["NOT_FOUND"]
    assert (await api.gql("{ me { id } }", token=frank))["data"]["me"]["id"] == frank_id

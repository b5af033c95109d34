"""Who may open a live-trades socket: a cookie from an allowed origin, or connectionParams."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from websockets.exceptions import InvalidStatus

from tests.utils.live import Live, start_live
from tests.utils.settings import APP_ORIGIN


@pytest.fixture(scope="module")
def legacy_live(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    yield from start_live(
        sqlite_template, tmp_path_factory.mktemp("legacy"), ws_legacy_protocol="true"
    )


def test_browser_cookie_on_an_allowed_origin(live: Live) -> None:
    alice = live.sign_up("cookie@example.com", name="Alice")
    with live.socket(headers={"Cookie": f"access_token={alice.cookie}"}, origin=APP_ORIGIN) as ws:
        ws.init()
        ws.subscribe()
        live.wait_for(live.admin(), lambda s: s["subscriptions"] >= 1)
        [trade_id] = live.add(alice.token, "BTC")
        trade = ws.next_trade()
        assert trade["id"] == trade_id
        # Alice sees her own email: the socket is hers.
        assert trade["user"] == {"id": alice.id, "name": "Alice", "email": "cookie@example.com"}


def test_same_origin_page_with_cookie(live: Live) -> None:
    """GraphiQL or a page served by the API itself: Origin is the server's own."""
    alice = live.sign_up("same-origin@example.com")
    with live.socket(
        headers={"Cookie": f"access_token={alice.cookie}"}, origin=live.server.base_url
    ) as ws:
        ws.init()


def test_foreign_origin_is_refused_even_with_a_valid_cookie(live: Live) -> None:
    alice = live.sign_up("hijack@example.com")
    with (
        pytest.raises(InvalidStatus) as refused,
        live.socket(
            headers={"Cookie": f"access_token={alice.cookie}"}, origin="https://evil.example"
        ),
    ):
        pass
    assert refused.value.response.status_code == 403


def test_connection_params_auth_token(live: Live) -> None:
    bob = live.sign_up("params@example.com", name="Bob")
    someone = live.sign_up("someone@example.com", name="Someone")
    with live.socket() as ws:
        ws.init({"authToken": bob.token})
        ws.subscribe()
        live.wait_for(live.admin(), lambda s: s["subscriptions"] >= 1)
        live.add(someone.token, "ETH")
        # Another user's trade: Bob does not see Someone's email.
        assert ws.next_trade()["user"] == {"id": someone.id, "name": "Someone", "email": None}


def test_admin_sees_traders_emails(live: Live) -> None:
    admin = live.admin()
    carol = live.sign_up("carol@example.com", name="Carol")
    with live.socket() as ws:
        ws.init({"authToken": admin.token})
        ws.subscribe()
        live.wait_for(admin, lambda s: s["subscriptions"] >= 1)
        live.add(carol.token, "SOL")
        assert ws.next_trade()["user"]["email"] == "carol@example.com"


@pytest.mark.parametrize(
    "payload",
    [{}, {"authToken": "not-a-jwt"}, {"authToken": ""}, {"authToken": 42}],
    ids=["nothing", "garbage", "empty", "number"],
)
def test_no_identity_is_closed_with_4403(live: Live, payload: dict[str, Any]) -> None:
    with live.socket() as ws:
        ws.send({"type": "connection_init", "payload": payload})
        assert ws.close_code() == 4403


def test_cookie_from_no_origin_header_still_needs_to_be_valid(live: Live) -> None:
    with live.socket(headers={"Cookie": "access_token=forged"}) as ws:
        ws.send({"type": "connection_init", "payload": {}})
        assert ws.close_code() == 4403


def test_a_logged_out_cookie_is_refused_like_no_identity(live: Live) -> None:
    """A refused token is never an anonymous socket (none may subscribe anyway): 4403, while a
    valid authToken sent beside the stale cookie is the socket's identity."""
    gone = live.sign_up("stale-cookie@example.com")
    with live.http() as http:
        assert (
            http.post("/auth/logout", headers={"Cookie": f"access_token={gone.cookie}"}).status_code
            == 204
        )
    stale = {"Cookie": f"access_token={gone.cookie}"}
    with live.socket(headers=stale, origin=APP_ORIGIN) as ws:
        ws.send({"type": "connection_init", "payload": {}})
        assert ws.close_code() == 4403
    fresh = live.signed_in_again("stale-cookie@example.com")
    with live.socket(headers=stale, origin=APP_ORIGIN) as ws:
        ws.init({"authToken": fresh.token})


def test_legacy_protocol_is_off_by_default(live: Live) -> None:
    with live.socket(protocol="graphql-ws") as ws:
        assert ws.close_code() == 4406  # subprotocol not acceptable


def test_legacy_protocol_when_enabled(legacy_live: Live) -> None:
    alice = legacy_live.sign_up("legacy-on@example.com")
    with legacy_live.socket(protocol="graphql-ws") as ws:
        ws.send({"type": "connection_init", "payload": {"authToken": alice.token}})
        assert ws.receive() == {"type": "connection_ack"}
        ws.send(
            {
                "id": "1",
                "type": "start",
                "payload": {"query": "subscription { tradeAdded { id currency } }"},
            }
        )
        legacy_live.wait_for(legacy_live.admin(), lambda s: s["subscriptions"] >= 1)
        [trade_id] = legacy_live.add(alice.token, "ADA")
        message = ws.receive()
        assert message["type"] == "data"
        assert message["payload"]["data"]["tradeAdded"] == {"id": trade_id, "currency": "ADA"}


def test_legacy_protocol_still_requires_identity(legacy_live: Live) -> None:
    with legacy_live.socket(protocol="graphql-ws") as ws:
        ws.send({"type": "connection_init", "payload": {}})
        assert ws.receive()["type"] == "connection_error"
        assert ws.close_code() == 1011


def test_logout_closes_that_sessions_sockets_only(live: Live) -> None:
    phone = live.sign_up("sockets@example.com")
    laptop = live.signed_in_again("sockets@example.com")
    with live.socket() as on_phone, live.socket() as on_laptop:
        on_phone.init({"authToken": phone.token})
        on_phone.subscribe()
        on_laptop.init({"authToken": laptop.token})
        on_laptop.subscribe()
        live.wait_for(live.admin(), lambda s: s["subscriptions"] >= 2)
        with live.http() as http:
            logout = http.post("/auth/logout", headers={"Authorization": f"Bearer {phone.token}"})
        assert logout.status_code == 204
        assert on_phone.close_code() == 4403
        [trade_id] = live.add(laptop.token, "BTC")
        assert on_laptop.next_trade()["id"] == trade_id
        with live.http() as http:
            http.post("/auth/logout-all", headers={"Authorization": f"Bearer {laptop.token}"})
        assert on_laptop.close_code() == 4403


def test_deactivation_closes_the_users_sockets(live: Live) -> None:
    user = live.sign_up("deactivated@example.com")
    admin = live.admin()
    with live.socket() as ws:
        ws.init({"authToken": user.token})
        ws.subscribe()
        live.wait_for(admin, lambda s: s["subscriptions"] >= 1)
        body = live.gql(
            admin.token, "mutation($id: Int!) { deactivateUser(userId: $id) { id } }", id=user.id
        )
        assert "errors" not in body, body
        assert ws.close_code() == 4403

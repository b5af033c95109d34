"""graphql-transport-ws close codes and limits, as the protocol and the settings say."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.utils.live import TRADE_ADDED, Account, Live, start_live


@pytest.fixture(scope="module")
def tight(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """A server with small limits, so they can be reached quickly."""
    yield from start_live(
        sqlite_template,
        tmp_path_factory.mktemp("tight"),
        ws_init_timeout_seconds="0.5",
        ws_max_subscriptions="2",
    )


@pytest.fixture(scope="module")
def compressing(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    yield from start_live(
        sqlite_template, tmp_path_factory.mktemp("deflate"), ws_per_message_deflate="true"
    )


@pytest.fixture(scope="module")
def alice(live: Live) -> Account:
    return live.sign_up("protocol@example.com")


def test_invalid_message_closes_4400(live: Live, alice: Account) -> None:
    with live.socket() as ws:
        ws.init({"authToken": alice.token})
        ws.connection.send("this is not json")
        assert ws.close_code() == 4400


def test_unknown_message_type_closes_4400(live: Live, alice: Account) -> None:
    with live.socket() as ws:
        ws.init({"authToken": alice.token})
        ws.send({"type": "bogus"})
        assert ws.close_code() == 4400


def test_subscribe_before_ack_closes_4401(live: Live) -> None:
    with live.socket() as ws:
        ws.subscribe()
        assert ws.close_code() == 4401


def test_init_timeout_closes_4408(tight: Live) -> None:
    with tight.socket() as ws:
        assert ws.close_code(timeout=5) == 4408


def test_duplicate_id_closes_4409(live: Live, alice: Account) -> None:
    with live.socket() as ws:
        ws.init({"authToken": alice.token})
        ws.subscribe("same")
        ws.subscribe("same")
        assert ws.close_code() == 4409


def test_second_init_closes_4429(live: Live, alice: Account) -> None:
    with live.socket() as ws:
        ws.init({"authToken": alice.token})
        ws.send({"type": "connection_init", "payload": {"authToken": alice.token}})
        assert ws.close_code() == 4429


def test_ping_is_answered_with_pong(live: Live, alice: Account) -> None:
    with live.socket() as ws:
        ws.init({"authToken": alice.token})
        ws.send({"type": "ping"})
        assert ws.receive() == {"type": "pong"}


def test_subscriptions_per_connection_are_capped(tight: Live) -> None:
    bob = tight.sign_up("capped@example.com")
    with tight.socket() as ws:
        ws.init({"authToken": bob.token})
        ws.subscribe("1")
        ws.subscribe("2")
        ws.subscribe("3")
        refused = ws.receive()
        assert refused["type"] == "error" and refused["id"] == "3"
        assert refused["payload"][0]["message"] == "Subscription limit reached"
        # The first two still deliver.
        tight.wait_for(tight.admin(), lambda s: s["subscriptions"] >= 2)
        tight.add(bob.token, "BTC")
        delivered = [ws.receive() for _ in range(2)]
        assert sorted(m["id"] for m in delivered) == ["1", "2"]
        assert {m["payload"]["data"]["tradeAdded"]["currency"] for m in delivered} == {"BTC"}


def test_complete_ends_one_subscription(live: Live, alice: Account) -> None:
    admin = live.admin()
    baseline = live.stats(admin)["subscriptions"]
    with live.socket() as ws:
        ws.init({"authToken": alice.token})
        ws.subscribe("1")
        live.wait_for(admin, lambda s: s["subscriptions"] == baseline + 1)
        ws.send({"id": "1", "type": "complete"})
        live.wait_for(admin, lambda s: s["subscriptions"] == baseline)


def test_invalid_subscription_gets_an_error_message(live: Live, alice: Account) -> None:
    with live.socket() as ws:
        ws.init({"authToken": alice.token})
        ws.send({"id": "1", "type": "subscribe", "payload": {"query": "subscription { nope }"}})
        message = ws.receive()
        assert message["type"] == "error" and message["id"] == "1"
        assert "nope" in message["payload"][0]["message"]


def test_bad_currency_is_bad_user_input(live: Live, alice: Account) -> None:
    with live.socket() as ws:
        ws.init({"authToken": alice.token})
        ws.send(
            {
                "id": "1",
                "type": "subscribe",
                "payload": {"query": TRADE_ADDED, "variables": {"c": "'; DROP TABLE trades; --"}},
            }
        )
        message = ws.receive()
        assert message["type"] in ("next", "error"), message
        errors = message["payload"]["errors"] if message["type"] == "next" else message["payload"]
        assert errors[0]["extensions"]["code"] == "BAD_USER_INPUT"


@pytest.mark.parametrize("enabled", [False, True])
def test_permessage_deflate_only_where_the_settings_enable_it(
    request: pytest.FixtureRequest, enabled: bool
) -> None:
    """Every test socket offers it, as browsers do; the server accepts only if told to."""
    server: Live = request.getfixturevalue("compressing" if enabled else "live")
    account = server.sign_up("deflate@example.com")
    with server.socket() as ws:
        assert ws.connection.response is not None
        extensions = ws.connection.response.headers.get("Sec-WebSocket-Extensions", "")
        ws.init({"authToken": account.token})
        ws.subscribe()
        server.wait_for(server.admin(), lambda s: s["subscriptions"] >= 1)
        [trade_id] = server.add(account.token, "BTC")
        assert ws.next_trade()["id"] == trade_id
    assert extensions.startswith("permessage-deflate") is enabled

"""PERSISTED_QUERIES=registered on the socket: a subscription whose document is one of the
manifest's bodies runs; any other is answered with an `error` message, and the socket stays."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.utils.live import ADD_TRADES, LIVE_STATS, TRADE_ADDED, Live, start_live

OTHER = "subscription { tradeAdded { id } }"


@pytest.fixture(scope="module")
def registered(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    directory = tmp_path_factory.mktemp("registered")
    manifest = directory / "manifest.json"
    operations = [
        {
            "id": hashlib.sha256(body.encode()).hexdigest(),
            "name": name,
            "type": kind,
            "body": body,
        }
        for name, kind, body in [
            ("TradeAdded", "subscription", TRADE_ADDED),
            ("AddTrades", "mutation", ADD_TRADES),
            ("LiveStats", "query", LIVE_STATS),
        ]
    ]
    manifest.write_text(
        json.dumps(
            {"format": "apollo-persisted-query-manifest", "version": 1, "operations": operations}
        )
    )
    yield from start_live(
        sqlite_template,
        directory,
        persisted_queries="registered",
        persisted_query_manifest=str(manifest),
    )


def test_only_registered_subscriptions_run(registered: Live) -> None:
    alice = registered.sign_up("alice-registered@example.com", "Alice")
    with registered.socket() as socket:
        socket.init({"authToken": alice.token})
        socket.subscribe("1", query=OTHER)
        refused = socket.receive()
        assert refused["type"] == "error" and refused["id"] == "1", refused
        assert refused["payload"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_IN_LIST"
        socket.subscribe("2", currency="BTC")
        # The queries and the mutation these helpers send are registered too.
        registered.wait_for(registered.admin(), lambda stats: stats["subscriptions"] >= 1)
        [trade_id] = registered.add(alice.token, "BTC")
        assert socket.next_trade("2")["id"] == trade_id

"""An event's shared results are let go once its fan-out is done: heavy selections, within the
cost budget, event after event, do not grow the server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.security.live import MB, cost_of
from tests.utils.live import Live, start_live

# About 9,200 fields per event: within the cost budget (10,000), as the query below shows, and
# within the live budget of this test's server (twice that: two subscriptions of one user).
HEAVY = "{ user { trades(limit: 100) { user { trades(limit: 90) { id } } } } }"
EVENTS = 40


@pytest.fixture(scope="module")
def live(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    yield from start_live(
        sqlite_template, tmp_path_factory.mktemp("shared-results"), graphql_max_live_cost="20000"
    )


def test_heavy_selections_leave_nothing_behind_after_delivery(live: Live) -> None:
    admin = live.admin()
    trader = live.sign_up("heavy-trader@example.com")
    live.add(trader.token, *["BTC"] * 100)  # the trader's history the selection walks
    priced = live.gql(trader.token, "{ me" + HEAVY.removeprefix("{ user"))
    assert "errors" not in priced, priced
    with live.socket() as one, live.socket() as two:
        for ws in (one, two):
            ws.init({"authToken": trader.token})
            ws.subscribe(query="subscription { tradeAdded " + HEAVY + " }")
        live.wait_for(admin, lambda s: s["subscriptions"] >= 2)
        # Warm up: the first events fill the allocator's pools and the statement caches.
        for _ in range(5):
            live.add(trader.token, "ETH")
            one.receive(timeout=30), two.receive(timeout=30)
        before = live.stats(admin)
        with cost_of(live) as cost:
            for _ in range(EVENTS):
                live.add(trader.token, "ETH")
                for ws in (one, two):
                    message = ws.receive(timeout=30)
                    assert len(message["payload"]["data"]["tradeAdded"]["user"]["trades"]) == 100
        after = live.stats(admin)
    # Both subscribers still share one execution per event...
    assert after["executions"] - before["executions"] == EVENTS
    assert after["sharedResults"] - before["sharedResults"] == EVENTS
    # ...and no event's result outlives its delivery.
    assert cost.rss_growth_bytes < 5 * MB, cost

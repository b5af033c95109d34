"""SIGTERM: open sockets are closed with 1012 (service restart), and the process exits promptly."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from tests.utils.live import start_live

GRACE = 10.0


def test_sigterm_closes_sockets_with_1012_and_exits(sqlite_template: Path, tmp_path: Path) -> None:
    servers = start_live(sqlite_template, tmp_path)
    live = next(servers)
    alice = live.sign_up("shutdown@example.com")
    with live.socket() as idle, live.socket() as subscribed:
        idle.init({"authToken": alice.token})
        subscribed.init({"authToken": alice.token})
        subscribed.subscribe()
        live.wait_for(live.admin(), lambda s: s["subscriptions"] == 1)
        started = time.monotonic()
        live.server.process.send_signal(signal.SIGTERM)
        # graphql-ws clients (Apollo's GraphQLWsLink) reconnect on 1012.
        assert subscribed.close_code(timeout=GRACE) == 1012
        assert idle.close_code(timeout=GRACE) == 1012
    live.server.process.wait(timeout=GRACE)
    elapsed = time.monotonic() - started
    assert elapsed < GRACE, f"exit took {elapsed:.1f} s"
    assert live.server.process.returncode in (0, -signal.SIGTERM), live.server.output()
    assert "Application shutdown complete" in live.server.output()
    with pytest.raises(StopIteration):
        next(servers)  # the fixture's own stop finds the process gone

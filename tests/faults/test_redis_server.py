"""The fault runs' Redis: a restart after a SHUTDOWN SAVE finds the data, a plain stop after it
starts empty (the redis-restart-empty scenario relies on it)."""

from __future__ import annotations

from pathlib import Path

from redis import Redis

from tests.utils.redis_server import RedisServer


def test_a_restart_loads_the_last_snapshot_and_only_the_last_stop_decides(tmp_path: Path) -> None:
    with RedisServer(tmp_path) as server:
        with Redis(port=server.port) as client:
            client.set("kept", "1")
        server.stop(save=True)
        server.start()
        with Redis(port=server.port) as client:
            assert client.get("kept") == b"1"
        server.stop()
        server.start()
        with Redis(port=server.port) as client:
            assert client.dbsize() == 0

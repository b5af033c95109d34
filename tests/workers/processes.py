"""Real processes for the fault tests: a redis-server of the test's own (so it may be stopped and
started again; tests/utils/redis_server.py) and `python -m workers` processes (so they may be
killed)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest

from tests.utils.databases import ROOT
from tests.utils.redis_server import RedisServer
from tests.utils.settings import TEST_SECRET

START_TIMEOUT = 20.0
# Worker settings whose reports wait, once started, while a file exists (held_reports.py).
HELD_REPORTS = "tests.workers.held_reports.WorkerSettings"
STOP_TIMEOUT = 10.0


def worker_environment(database_url: str, redis_url: str, **extra: str) -> dict[str, str]:
    """What a worker process gets: the test's database and Redis, quick heartbeats, text logs."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("DATABASE_", "REDIS_", "JWT_", "ENVIRONMENT", "WORKER_"))
    }
    env.update(
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        JWT_SECRET=TEST_SECRET,
        LOG_FORMAT="text",
        WORKER_HEARTBEAT_SECONDS="0.5",
        WORKER_STALE_SECONDS="3",
        **extra,
    )
    return env


class WorkerProcess:
    """`python -m workers [settings]` (or another module's command line), output in a file."""

    def __init__(self, env: dict[str, str], log: Path, *args: str, module: str = "workers") -> None:
        self.log = log
        with log.open("wb") as out:
            self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
                [sys.executable, "-m", module, *args],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    @property
    def pid(self) -> int:
        return self.process.pid

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for_output(self, text: str, timeout: float = START_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.output():
            if self.process.poll() is not None:
                pytest.fail(f"the worker exited with {self.process.returncode}:\n{self.output()}")
            if time.monotonic() > deadline:
                pytest.fail(f"the worker did not say {text!r} in {timeout:g} s:\n{self.output()}")
            time.sleep(0.05)

    def kill(self) -> None:
        """kill -9: no clean-up of any kind."""
        self.process.kill()
        self.process.wait(timeout=STOP_TIMEOUT)

    def stop(self) -> int:
        """SIGTERM, as an orchestrator stops it; its exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            pytest.fail(f"the worker did not stop on SIGTERM:\n{self.output()}")


async def eventually(
    check: Callable[[], Awaitable[bool]], within: float, what: str, poll: float = 0.1
) -> float:
    """Wait until `check` passes; the seconds it took. Fails the test after `within` seconds."""
    started = time.monotonic()
    while not await check():
        if time.monotonic() - started > within:
            pytest.fail(f"{what}: not within {within:g} s")
        await asyncio.sleep(poll)
    return time.monotonic() - started


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A running redis-server of the test's own; killed at the end if it is running."""
    with RedisServer(tmp_path / "redis") as server:
        yield server


@pytest.fixture
def own_persistent_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """Like own_redis, but what it holds survives a restart."""
    with RedisServer(tmp_path / "persistent-redis", persistent=True) as server:
        yield server


@pytest.fixture
def start_worker(tmp_path: Path) -> Iterator[Callable[..., WorkerProcess]]:
    """Starts worker processes: start_worker(env, *args, module="workers"); whatever is left of
    them is killed at the end."""
    started: list[WorkerProcess] = []

    def start(env: dict[str, str], *args: str, module: str = "workers") -> WorkerProcess:
        worker = WorkerProcess(env, tmp_path / f"worker-{len(started)}.log", *args, module=module)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        if worker.process.poll() is None:
            worker.kill()

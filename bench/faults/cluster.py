"""The production shape on one machine, owned by the fault runs so that they may kill any part of
it: PostgreSQL and Redis of its own (tests/utils/), two API processes and one job worker, each
started again with the same command (and port)."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import redis

from observability.heartbeat import HEARTBEAT_KEY
from tests.utils.ports import free_port
from tests.utils.postgres_server import PostgresServer
from tests.utils.redis_server import RedisServer

ROOT = Path(__file__).resolve().parent.parent.parent
START_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0
DATABASE = "trading"

# How each process is started: the one place to change when the worker's command changes.
API_COMMAND = [sys.executable, "-m", "web.server", "--host", "127.0.0.1", "--no-access-log"]
WORKER_COMMAND = [sys.executable, "-m", "workers"]
ADMIN_EMAIL = "faults-admin@example.com"
ADMIN_PASSWORD = "faults-admin-password-1"  # noqa: S105 - a throwaway cluster's admin
# Limits meant for one person's browser, raised: the runs sign in a handful of accounts that
# stand for many clients, and reconnect storms after a fault are what is being measured.
RAISED_LIMITS = {
    "REGISTER_MAX_PER_ADDRESS": "100000",
    "REPORT_MAX_REQUESTS_PER_USER": "100000",
    "WS_MAX_SOCKETS_PER_USER": "100000",
    "WS_MAX_NEW_SOCKETS_PER_MINUTE": "100000",
    "GRAPHQL_MAX_LIVE_COST": "10000000",
}
# Settings this cluster decides; anything else in the caller's environment is left out.
_SETTINGS_PREFIXES = ("DATABASE_", "REDIS_", "JWT_", "FIRST_ADMIN_", "PROMETHEUS_")


Readiness = Callable[[int], bool]  # given the process id: is it serving yet?


class ClusterError(RuntimeError):
    """A part of the cluster could not be started (a failed command, a process not ready)."""


def run(command: list[str], *, env: dict[str, str] | None = None) -> None:
    done = subprocess.run(  # noqa: S603 - fixed command lines
        command, cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise ClusterError(f"{' '.join(command)} failed:\n{done.stdout}{done.stderr}")


def api_ready(base_url: str) -> Readiness:
    def ready(pid: int) -> bool:
        try:
            return httpx.get(f"{base_url}/healthz", timeout=1.0).status_code == 200
        except httpx.HTTPError:
            return False

    return ready


def worker_ready(redis_url: str) -> Readiness:
    """The worker beats into Redis from its start-up hook, under host:pid:random (the format of
    observability.heartbeat.worker_name): once its beat is there, it takes jobs."""

    def ready(pid: int) -> bool:
        client = redis.Redis.from_url(redis_url, socket_timeout=1, socket_connect_timeout=1)
        prefix = f"{socket.gethostname()}:{pid}:".encode()
        try:
            names: list[bytes] = client.hkeys(HEARTBEAT_KEY)  # type: ignore[assignment]
            return any(name.startswith(prefix) for name in names)
        except redis.RedisError:
            return False
        finally:
            client.close()

    return ready


@dataclass
class Service:
    """One API process or the worker: started, killed and started again with the same command."""

    name: str
    command: list[str]
    env: dict[str, str]
    log: Path
    ready: Readiness
    url: str | None = None  # an API process's base URL
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0
    killed: set[int] = field(default_factory=set)  # pids the runs killed on purpose

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self, *, wait: bool = True) -> None:
        with self.log.open("ab") as out:
            out.write(f"\n===== start {self.starts + 1} at {time.time():.3f}\n".encode())
            out.flush()
            self.process = subprocess.Popen(  # noqa: S603 - fixed command lines
                self.command,
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self.starts += 1
        if wait:
            self.wait_until_serving()

    def wait_until_serving(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while self.process is None or not self.ready(self.process.pid):
            if not self.alive:
                raise ClusterError(f"{self.name} exited while starting: see {self.log}")
            if time.monotonic() > deadline:
                raise ClusterError(f"{self.name} not ready in {START_TIMEOUT:g} s: {self.log}")
            time.sleep(0.05)

    def kill(self) -> None:
        """kill -9, the process alone (a crash), then reap it."""
        if self.process is not None and self.process.poll() is None:
            self.killed.add(self.process.pid)
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGINT)
        try:
            self.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


@dataclass
class Cluster:
    directory: Path
    postgres: PostgresServer
    redis: RedisServer
    apis: list[Service]
    worker: Service
    jwt_secret: str

    @property
    def dsn(self) -> str:
        """The database for asyncpg, which the checks read directly."""
        return self.postgres.dsn(DATABASE)

    @property
    def services(self) -> list[Service]:
        return [*self.apis, self.worker]

    @property
    def api_urls(self) -> list[str]:
        return [api.url for api in self.apis if api.url]

    def heal(self) -> list[str]:
        """Start whatever is down, as a supervisor would; the names of what was down."""
        down: list[str] = []
        if not self.redis.running():
            down.append("redis")
            self.redis.start()
        for service in self.services:
            if not service.alive:
                down.append(service.name)
                service.start()
        return down


def _environment(postgres: PostgresServer, redis: RedisServer, jwt_secret: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_SETTINGS_PREFIXES)}
    env.update(RAISED_LIMITS)
    env.update(
        {
            "DATABASE_URL": postgres.url(DATABASE),
            "REDIS_URL": redis.url,
            "JWT_SECRET": jwt_secret,
            "ENVIRONMENT": "production",
            "FIRST_ADMIN_EMAIL": ADMIN_EMAIL,
            "FIRST_ADMIN_PASSWORD": ADMIN_PASSWORD,
        }
    )
    return env


@contextlib.contextmanager
def running_cluster(apis: int = 2, *, keep: bool = False) -> Iterator[Cluster]:
    """Start everything (migrated, empty database), yield the cluster, always stop it all;
    `keep` leaves its directory (logs, data) behind for a look."""
    directory = Path(tempfile.mkdtemp(prefix="faults-"))
    directory.chmod(0o755)  # the postgres user reaches its data directory through it
    postgres = PostgresServer(directory / "pg", max_connections=200)
    redis_server = RedisServer(directory / "redis")
    jwt_secret = secrets.token_urlsafe(48)
    try:
        with postgres, redis_server:
            postgres.create_database(DATABASE)
            env = _environment(postgres, redis_server, jwt_secret)
            run([sys.executable, "manage.py", "migrate"], env=env)
            services = []
            for index in range(apis):
                port = free_port()
                name = f"api-{'ABCDEFGH'[index]}"
                url = f"http://127.0.0.1:{port}"
                command = [*API_COMMAND, "--port", str(port)]
                log = directory / f"{name}.log"
                services.append(Service(name, command, env, log, api_ready(url), url))
            worker = Service(
                "worker",
                WORKER_COMMAND,
                env,
                directory / "worker.log",
                worker_ready(redis_server.url),
            )
            cluster = Cluster(directory, postgres, redis_server, services, worker, jwt_secret)
            try:
                for service in cluster.services:
                    service.start(wait=False)
                for service in cluster.services:
                    service.wait_until_serving()
                yield cluster
            finally:
                for service in cluster.services:
                    service.stop()
    finally:
        if not keep:
            shutil.rmtree(directory, ignore_errors=True)

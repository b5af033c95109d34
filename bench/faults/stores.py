"""The data services of a fault cluster, owned by the runs so that they may stop them: a
PostgreSQL cluster and a redis-server of their own on spare ports, each started again where it
was (same port, same data directory)."""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
START_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0
DATABASE = "trading"


class ClusterError(RuntimeError):
    """A part of the cluster could not be started (missing binary, failed start)."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def find_binary(name: str) -> str:
    """`name` on the PATH, else in Debian's /usr/lib/postgresql/<version>/bin (newest first)."""
    if found := shutil.which(name):
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    if candidates:
        return candidates[0]
    raise ClusterError(f"{name} not found (install PostgreSQL and Redis)")


def _as_postgres(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run its tools as the `postgres` user then."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


def run(command: list[str], *, env: dict[str, str] | None = None) -> None:
    done = subprocess.run(  # noqa: S603 - fixed command lines
        command, cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise ClusterError(f"{' '.join(command)} failed:\n{done.stdout}{done.stderr}")


def _wait_for_port(port: int, deadline: float, what: str) -> None:
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.05)
    raise ClusterError(f"{what} did not listen on port {port}")


@dataclass
class Postgres:
    """A throwaway PostgreSQL cluster: fsync off (it is thrown away), TCP on 127.0.0.1 only."""

    directory: Path
    port: int = field(default_factory=free_port)

    @property
    def data(self) -> Path:
        return self.directory / "pgdata"

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{DATABASE}"

    @property
    def dsn(self) -> str:
        """The same database for asyncpg, which the checks read directly."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/{DATABASE}"

    def init(self) -> None:
        if os.geteuid() == 0:
            shutil.chown(self.directory, "postgres")
        initdb = find_binary("initdb")
        run(_as_postgres([initdb, "-D", str(self.data), "-U", "postgres", "-A", "trust"]))
        settings = {
            "port": self.port,
            "listen_addresses": "'127.0.0.1'",
            "unix_socket_directories": f"'{self.directory}'",
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "max_connections": 200,
        }
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.writelines(f"{name} = {value}\n" for name, value in settings.items())
        self.start()
        run(
            _as_postgres(
                [find_binary("createdb"), "-h", "127.0.0.1", "-p", str(self.port), DATABASE]
            )
        )

    def _ctl(self, *args: str) -> None:
        log = self.directory / "postgres.log"
        run(
            _as_postgres([find_binary("pg_ctl"), "-D", str(self.data), "-l", str(log), "-w", *args])
        )

    def start(self) -> None:
        self._ctl("start")

    def restart(self) -> None:
        """`pg_ctl restart -m fast`: every connection is cut, the server comes back at once."""
        self._ctl("restart", "-m", "fast")

    def stop(self) -> None:
        with contextlib.suppress(ClusterError):
            self._ctl("stop", "-m", "immediate")


@dataclass
class RedisServer:
    """redis-server on a spare port, its snapshot in its own directory.

    No persistence by itself (`--save ''`, no AOF): the design must tolerate Redis losing its
    data. `stop(save=True)` writes a snapshot first, for a restart that keeps the data (and so
    keeps cache entries written before an outage)."""

    directory: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        command = [find_binary("redis-server"), "--port", str(self.port), "--bind", "127.0.0.1"]
        command += ["--save", "", "--appendonly", "no", "--dir", str(self.directory)]
        log = (self.directory / "redis.log").open("ab")
        self.process = subprocess.Popen(  # noqa: S603 - a fixed command line
            command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()
        _wait_for_port(self.port, time.monotonic() + START_TIMEOUT, "redis-server")

    def stop(self, *, save: bool = False) -> None:
        """SHUTDOWN SAVE or NOSAVE, as an operator restarting it would; SIGKILL if it lingers."""
        if self.process is None or self.process.poll() is not None:
            return
        shutdown = [find_binary("redis-cli"), "-p", str(self.port), "shutdown"]
        shutdown.append("save" if save else "nosave")
        subprocess.run(shutdown, capture_output=True, check=False)  # noqa: S603 - fixed
        try:
            self.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

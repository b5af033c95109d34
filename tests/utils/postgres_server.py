"""A PostgreSQL cluster of the caller's own on a spare port, which a test or a fault run may stop,
restart or crash (the shared one at 127.0.0.1:5432 must never be): initdb once, as the
`postgres` user."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
from pathlib import Path

from tests.utils.ports import free_port
from tests.utils.programs import missing, program

USER = "postgres"
PROGRAMS = ("initdb", "pg_ctl", "createdb")
# Durability is not under test: without fsync a restart or a crash recovery takes a fraction of
# a second, and the runs with it.
NO_DURABILITY = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}


def _as_postgres(*command: str) -> list[str]:
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        return ["runuser", "-u", USER, "--", *command]
    return list(command)


class PostgresServer:
    """One cluster in `directory` (data/, postgres.log): `url(database)` to reach it; `stop`,
    `start`, `restart` with pg_ctl's modes. Its settings are in its postgresql.conf, so every
    start and restart keeps them.

    As a context manager: initialised and started on entry, stopped (`immediate`) on exit."""

    def __init__(self, directory: Path, *, max_connections: int = 50) -> None:
        self.directory = directory
        self.data = directory / "data"
        self.log = directory / "postgres.log"
        self.port = free_port()
        self.max_connections = max_connections

    @staticmethod
    def unavailable() -> str | None:
        """Why it cannot run here, or None."""
        if absent := missing(*PROGRAMS):
            return f"PostgreSQL's programs not found: {', '.join(absent)}"
        if os.geteuid() == 0 and shutil.which("runuser") is None:
            return "running as root without runuser"
        return None

    def init(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.directory, USER)
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", USER, "--no-sync")
        settings = {
            "port": str(self.port),
            "listen_addresses": "'127.0.0.1'",
            "unix_socket_directories": f"'{self.directory}'",
            "max_connections": str(self.max_connections),
            **NO_DURABILITY,
        }
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.writelines(f"{name} = {value}\n" for name, value in settings.items())

    def url(self, database: str = "postgres") -> str:
        """For SQLAlchemy (asyncpg)."""
        return f"postgresql+asyncpg://{USER}@127.0.0.1:{self.port}/{database}"

    def dsn(self, database: str = "postgres") -> str:
        """For asyncpg and libpq directly."""
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{database}"

    def start(self, *, wait: bool = True) -> None:
        self._pg_ctl("start", "-l", str(self.log), wait=wait)

    def stop(self, mode: str = "fast", *, wait: bool = True) -> None:
        self._pg_ctl("stop", "-m", mode, wait=wait)

    def wait_stopped(self, timeout: float = 30.0) -> None:
        """Until a stop signalled without waiting (`wait=False`) is complete."""
        deadline = time.monotonic() + timeout
        while self.running():
            if time.monotonic() > deadline:
                raise TimeoutError(f"PostgreSQL still running after {timeout:g} s")
            time.sleep(0.02)

    def restart(self, mode: str = "fast") -> None:
        self._pg_ctl("restart", "-m", mode, "-l", str(self.log))

    def create_database(self, name: str) -> None:
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", USER, name)

    def running(self) -> bool:
        """A postmaster is up (or starting, or stopping): its pid file is there."""
        return (self.data / "postmaster.pid").exists()

    def postmaster_pid(self) -> int:
        return int((self.data / "postmaster.pid").read_text().split()[0])

    def __enter__(self) -> PostgresServer:
        self.init()
        self.start()
        return self

    def __exit__(self, *exception: object) -> None:
        if self.running():
            with contextlib.suppress(RuntimeError):
                self.stop("immediate")

    def _pg_ctl(self, action: str, *arguments: str, wait: bool = True) -> None:
        # Starting, pg_ctl always gets a log file: the server would otherwise inherit its
        # output, and this process would wait for that pipe to close as long as the server runs.
        self._run("pg_ctl", action, "-D", str(self.data), "-w" if wait else "-W", *arguments)

    def _run(self, name: str, *arguments: str) -> None:
        command = (program(name) or name, *arguments)
        done = subprocess.run(  # noqa: S603 - PostgreSQL's programs, the caller's own arguments
            _as_postgres(*command), capture_output=True, text=True, timeout=60, check=False
        )
        if done.returncode != 0:
            log = self.log.read_text(errors="replace") if self.log.exists() else ""
            raise RuntimeError(f"{name} {arguments[0]} failed:\n{done.stderr}\n{log}")

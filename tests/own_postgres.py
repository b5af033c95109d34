"""A PostgreSQL server of the test's own, on a spare port, which the test may stop, restart or
crash (the shared one at 127.0.0.1:5432 must never be): initdb once, as the `postgres` user."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.servers import free_port

USER = "postgres"
# Durability is not under test: without fsync a restart or a crash recovery takes a fraction of
# a second, and the tests with it.
OPTIONS = "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"


def program(name: str) -> str | None:
    """A PostgreSQL program from PATH, else from Debian's versioned directories (the newest):
    its packages put only wrappers of the client programs on PATH, not initdb or pg_ctl."""
    found = shutil.which(name)
    if found is not None:
        return found
    candidates = sorted(
        Path("/usr/lib/postgresql").glob(f"*/bin/{name}"),
        key=lambda path: int(path.parts[-3]) if path.parts[-3].isdigit() else 0,
    )
    return str(candidates[-1]) if candidates else None


def _as_postgres(*command: str) -> list[str]:
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        return ["runuser", "-u", USER, "--", *command]
    return list(command)


class OwnPostgres:
    """One cluster: `url(database)` to reach it; `stop`, `start`, `restart` with pg_ctl's modes."""

    def __init__(self, directory: Path, *, max_connections: int = 50) -> None:
        self.directory = directory
        self.data = directory / "data"
        self.log = directory / "postgres.log"
        self.port = free_port()
        self.max_connections = max_connections

    @staticmethod
    def available() -> str | None:
        """Why it cannot run here, or None."""
        missing = [name for name in ("initdb", "pg_ctl", "createdb") if program(name) is None]
        if missing:
            return f"PostgreSQL's programs not found: {', '.join(missing)}"
        if os.geteuid() == 0 and shutil.which("runuser") is None:
            return "running as root without runuser"
        return None

    def init(self) -> None:
        if os.geteuid() == 0:
            shutil.chown(self.directory, USER)
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", USER, "--no-sync")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+asyncpg://{USER}@127.0.0.1:{self.port}/{database}"

    def start(self, *, wait: bool = True) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.directory}"
            f" -c max_connections={self.max_connections} {OPTIONS}"
        )
        self._pg_ctl("start", "-o", options, "-l", str(self.log), wait=wait)

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

    def _pg_ctl(self, action: str, *arguments: str, wait: bool = True) -> None:
        # Starting, pg_ctl always gets a log file: the server would otherwise inherit its
        # output, and this process would wait for that pipe to close as long as the server runs.
        self._run("pg_ctl", action, "-D", str(self.data), "-w" if wait else "-W", *arguments)

    def _run(self, name: str, *arguments: str) -> None:
        command = (program(name) or name, *arguments)
        done = subprocess.run(  # noqa: S603 - PostgreSQL's programs, the test's own arguments
            _as_postgres(*command), capture_output=True, text=True, timeout=60, check=False
        )
        if done.returncode != 0:
            log = self.log.read_text(errors="replace") if self.log.exists() else ""
            raise RuntimeError(f"{name} {arguments[0]} failed:\n{done.stderr}\n{log}")


@contextmanager
def own_postgres(**options: int) -> Iterator[OwnPostgres]:
    """Initialised and started, stopped and removed at exit; skipped (failed in CI) where
    PostgreSQL's programs are missing. Its directory is not under pytest's (readable by root
    only): the server runs as `postgres`."""
    reason = OwnPostgres.available()
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    directory = Path(tempfile.mkdtemp(prefix="own-postgres-"))
    server = OwnPostgres(directory, **options)
    try:
        server.init()
        server.start()
        yield server
    finally:
        if server.running():
            with contextlib.suppress(RuntimeError):
                server.stop("immediate")
        shutil.rmtree(directory, ignore_errors=True)

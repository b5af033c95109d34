"""Server processes for the HTTP benchmark: started in sessions of their own, measured, stopped.

Each server runs in a new session so that it can be stopped as a whole (PostGraphile is node
under `bash exec`, uvicorn may fork) and so that its CPU time can be read from /proc for every
process of that session, not only the one we started.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
START_TIMEOUT = 90.0  # PostGraphile introspects the database before it answers
STOP_TIMEOUT = 10.0


@dataclass
class Server:
    name: str
    url: str  # the GraphQL endpoint
    process: subprocess.Popen[bytes]
    log: Path

    def cpu_seconds(self) -> float:
        """utime + stime of every live process in the server's session (its id is the pid)."""
        return _cpu_seconds(lambda _, fields: int(fields[3]) == self.process.pid)

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def postgres_cpu_seconds() -> float:
    """CPU of PostgreSQL on this machine, backends and all: the compiled path and PostGraphile
    move work into the database, so a server's own CPU alone would flatter them. Backends that
    exited are in the postmaster's cutime + cstime. 0 when PostgreSQL runs elsewhere."""
    return _cpu_seconds(lambda comm, _: comm == "postgres", children=True)


def _cpu_seconds(select: Callable[[str, list[str]], bool], children: bool = False) -> float:
    """Sum of utime + stime (and cutime + cstime: reaped children) of the selected processes;
    `select` gets the command name and the fields of /proc/<pid>/stat after it (state first)."""
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:  # the process ended while we looked
            continue
        comm, fields = text[text.index("(") + 1 : text.rindex(")")], text[text.rindex(")") + 2 :]
        values = fields.split()
        if select(comm, values):
            ticks += int(values[11]) + int(values[12])
            if children:
                ticks += int(values[13]) + int(values[14])
    return ticks / CLOCK_TICKS


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the whole session's process group, SIGKILL if it lingers; reaps the child."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=STOP_TIMEOUT)
    # uvicorn may leave children behind in the group after its own exit.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


@contextlib.contextmanager
def running(
    name: str,
    command: list[str],
    url: str,
    ready: Callable[[httpx.Client], bool],
    env: dict[str, str],
    cwd: Path,
) -> Iterator[Server]:
    """Start `command`, wait until `ready` says it answers, yield it, and always stop it."""
    log = Path(tempfile.mkstemp(prefix=f"bench-{name.replace(' ', '-')}-", suffix=".log")[1])
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: S603 - fixed command lines built by the benchmark
            command,
            cwd=cwd,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    server = Server(name, url, process, log)
    try:
        started = time.monotonic()
        _wait_until_ready(server, ready)
        print(f"  {name}: ready in {time.monotonic() - started:.1f} s (log {log})", flush=True)
        yield server
    finally:
        stop(process)
    log.unlink(missing_ok=True)  # kept only when something failed


def _wait_until_ready(server: Server, ready: Callable[[httpx.Client], bool]) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    with httpx.Client(timeout=2.0) as client:
        while time.monotonic() < deadline:
            if server.process.poll() is not None:
                raise RuntimeError(
                    f"{server.name} exited with {server.process.returncode}:\n{server.log_tail()}"
                )
            with contextlib.suppress(httpx.TransportError):
                if ready(client):
                    return
            time.sleep(0.2)
    raise RuntimeError(
        f"{server.name} did not answer in {START_TIMEOUT:.0f} s:\n{server.log_tail()}"
    )

"""`make run-prod`: the production processes without Docker, on a machine with PostgreSQL and Redis.

Migrates, then runs `python -m web.server --workers N` (uvicorn with the connection limits of the
settings) and one arq worker (`python -m workers`), all with ENVIRONMENT=production, until Ctrl-C
(or SIGTERM) stops them all. A child that exits on its own is started again, after 1 s, then
after twice as long with each exit in a row up to 30 s (a minute of running resets the delay);
the others go on meanwhile. The exit status says whether every child stopped cleanly."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from pydantic import ValidationError

from settings import Environment, Settings, given_settings
from startup import problem_line

ROOT = Path(__file__).resolve().parent.parent
# Settings the production processes cannot do without (DATABASE_URL has a development default).
REQUIRED = ("database_url", "redis_url", "jwt_secret")
READY_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0
POLL_SECONDS = 0.2
# Ctrl-C while the processes run is how the operator stops them: a clean stop exits 0.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
# A child that exits on its own is started again after this, doubling with each exit in a row
# (one that keeps failing at start-up does not spin) up to the maximum. One that ran for
# HEALTHY_SECONDS was well: its next exit is waited for the first delay again.
FIRST_RESTART_DELAY = 1.0
MAX_RESTART_DELAY = 30.0
HEALTHY_SECONDS = 60.0


@dataclass
class Child:
    name: str
    command: list[str]
    env: dict[str, str]
    process: subprocess.Popen[bytes]
    started: float = field(default_factory=time.monotonic)
    # Exits in a row, each after less than HEALTHY_SECONDS of running.
    exits: int = 0
    # When an exited child is to start again (None while it runs).
    restart_at: float | None = None


def say(message: str) -> None:
    print(f"- {message}", flush=True)


def check_settings() -> Settings:
    """Settings as the children will see them, or exit 2 saying what is missing or wrong."""
    missing = [name.upper() for name in REQUIRED if name not in given_settings()]
    if missing:
        sys.exit(
            f"run-prod: {', '.join(missing)} must be set (in the environment or in .env), e.g.\n"
            "  DATABASE_URL=postgresql+asyncpg://user:password@host:5432/db\n"
            "  REDIS_URL=redis://host:6379/0\n"
            "  JWT_SECRET=\"$(python3 -c 'import secrets; print(secrets.token_urlsafe(48))')\""
        )
    try:
        settings = Settings(environment=Environment.PRODUCTION)
    except ValidationError as error:
        sys.exit(f"run-prod: {problem_line(error)}")
    if settings.database_url.startswith("sqlite"):
        sys.exit(
            "run-prod: DATABASE_URL must name a PostgreSQL database (postgresql+asyncpg://...)"
        )
    return settings


def _popen(command: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    # A session of its own: Ctrl-C reaches this launcher only, which stops each child once.
    return subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)  # noqa: S603


def spawn(name: str, command: list[str], env: dict[str, str]) -> Child:
    say(f"starting {name}: {' '.join(command)}")
    return Child(name, command, env, _popen(command, env))


def restart_delay(exits: int) -> float:
    """The wait before starting a child again after this many exits in a row (1 or more)."""
    return float(min(MAX_RESTART_DELAY, FIRST_RESTART_DELAY * 2 ** (exits - 1)))


def tend(child: Child) -> None:
    """A child that exited on its own: say so and schedule its restart, or restart it if due."""
    code = child.process.poll()
    if code is None:
        return
    now = time.monotonic()
    if child.restart_at is None:
        ran = now - child.started
        child.exits = 1 if ran >= HEALTHY_SECONDS else child.exits + 1
        delay = restart_delay(child.exits)
        say(f"{child.name} exited on its own with {code} after {ran:.1f} s")
        say(f"restarting {child.name} in {delay:g} s")
        child.restart_at = now + delay
    elif now >= child.restart_at:
        say(f"restarting {child.name}: {' '.join(child.command)}")
        child.process = _popen(child.command, child.env)
        child.started, child.restart_at = now, None


def serving(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 - our own http URL
            return bool(response.status == 200)
    except OSError:
        return False


class Stop(Exception):
    """Ctrl-C or SIGTERM: stop the children."""


def _raise_stop(signum: int, frame: FrameType | None) -> None:
    raise Stop(signal.Signals(signum).name)


def stop_all(children: list[Child]) -> None:
    """SIGINT to each (uvicorn and arq finish what they are doing), SIGKILL after STOP_TIMEOUT."""
    for child in children:
        if child.process.poll() is None:
            say(f"stopping {child.name} (pid {child.process.pid})")
            child.process.send_signal(signal.SIGINT)
    deadline = time.monotonic() + STOP_TIMEOUT
    for child in children:
        try:
            child.process.wait(timeout=max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            say(f"{child.name} did not stop within {STOP_TIMEOUT:g} s: killing it")
            os.killpg(child.process.pid, signal.SIGKILL)
            child.process.wait()


def report(children: list[Child]) -> int:
    """Say how each child ended; 1 if any of them failed."""
    failed = False
    for child in children:
        code = child.process.returncode
        # A child stopped by our own SIGINT may report it as its exit status.
        ok = code in (0, -signal.SIGINT)
        failed = failed or not ok
        say(f"{child.name} exited with {code}" + ("" if ok else "  <-- failed"))
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    args = parser.parse_args(argv)

    say("checking DATABASE_URL, REDIS_URL and JWT_SECRET")
    check_settings()
    env = {**os.environ, "ENVIRONMENT": Environment.PRODUCTION.value}
    python = sys.executable

    say("applying migrations: python manage.py migrate")
    migrate = [python, "manage.py", "migrate"]
    try:
        migrated = subprocess.run(migrate, cwd=ROOT, env=env, check=False)  # noqa: S603 - fixed
    except KeyboardInterrupt:  # Ctrl-C reaches the migration too: it stops in its transaction
        say("interrupted while migrating: nothing started")
        return 130
    if migrated.returncode != 0:
        say(f"migrations failed (exit {migrated.returncode}): nothing started")
        return migrated.returncode

    # prometheus-client's multiprocess mode for the API workers: their metrics, added up by
    # /metrics, in a folder that starts empty and goes away with them (compose.yaml: a tmpfs).
    with tempfile.TemporaryDirectory(prefix="trading-api-metrics-") as metrics_dir:
        api_env = {"PROMETHEUS_MULTIPROC_DIR": metrics_dir, **env}
        return supervise(args, api_env, env)


def supervise(args: argparse.Namespace, api_env: dict[str, str], env: dict[str, str]) -> int:
    """Start the API and the worker and keep them running until Ctrl-C or SIGTERM."""
    python = sys.executable
    children: list[Child] = []
    for signum in STOP_SIGNALS:
        signal.signal(signum, _raise_stop)
    try:
        api = [python, "-m", "web.server", "--host", args.host, "--port", str(args.port)]
        # Open WebSockets get 5 s to close when stopping, as in the image.
        api += ["--workers", str(args.workers), "--timeout-graceful-shutdown", "5"]
        api += ["--no-access-log"]  # the app logs one structured line per request
        children.append(spawn(f"API ({args.workers} workers)", api, api_env))
        # Rides out Redis outages itself (workers/resilient.py); arq's own command would exit.
        children.append(spawn("arq worker", [python, "-m", "workers"], env))
        url = f"http://{args.host}:{args.port}/healthz"
        say(f"waiting for {url}")
        deadline: float | None = time.monotonic() + READY_TIMEOUT
        # Until Ctrl-C or SIGTERM: children that exit are started again.
        while True:
            for child in children:
                tend(child)
            if deadline is not None and serving(url):
                say(
                    f"serving on http://{args.host}:{args.port}/graphql; Ctrl-C stops every process"
                )
                deadline = None
            elif deadline is not None and time.monotonic() > deadline:
                say(f"the API did not answer within {READY_TIMEOUT:g} s")
                deadline = None
            time.sleep(POLL_SECONDS)
    except Stop as stop:
        say(f"{stop} received: stopping every process")
        for signum in STOP_SIGNALS:  # a second Ctrl-C must not interrupt the stopping
            signal.signal(signum, signal.SIG_IGN)
        stop_all(children)
        return report(children)


if __name__ == "__main__":
    sys.exit(main())

"""`make run-prod`: the launcher migrates an empty database, runs N uvicorn workers and one arq
worker that runs the API's jobs, refuses to start without its settings, restarts a child that
dies, and stops every process it started on Ctrl-C."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.deploy.environment import REQUIRED_VARIABLES, production_environment
from tests.deploy.processes import command_line, descendants, wait_gone
from tests.utils.databases import ROOT, postgres_url
from tests.utils.ports import free_port
from tests.utils.servers import graphql_data

START_TIMEOUT = 90.0  # imports in three processes at once, on a loaded CI machine
JOB_TIMEOUT = 30.0
# Ctrl-C must stop everything within this; the launcher itself kills after 10 s.
STOP_TIMEOUT = 8.0
PASSWORD = "trade-secret-1"


class Launcher:
    def __init__(self, env: dict[str, str], log: Path, *args: str) -> None:
        self.log = log
        with log.open("wb") as out:
            # A session of its own, as a terminal's foreground job: Ctrl-C goes to the group.
            self.process = subprocess.Popen(  # noqa: S603 - a fixed command line
                [sys.executable, "-m", "deploy.run_prod", *args],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def ctrl_c(self) -> None:
        os.killpg(self.process.pid, signal.SIGINT)

    def wait_for_output(self, text: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.output():
            if self.process.poll() is not None:
                pytest.fail(f"run-prod exited with {self.process.returncode}:\n{self.output()}")
            if time.monotonic() > deadline:
                pytest.fail(f"run-prod did not say {text!r} in {timeout:g} s:\n{self.output()}")
            time.sleep(0.2)


@pytest.fixture
def launched(tmp_path: Path) -> Iterator[list[Launcher]]:
    """Launchers a test starts; whatever is left of them is killed at the end."""
    launchers: list[Launcher] = []
    yield launchers
    for launcher in launchers:
        for pid in descendants(launcher.process.pid) | {launcher.process.pid}:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        launcher.process.wait(timeout=10)


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - a fixed command line
        [sys.executable, "-m", "deploy.run_prod", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _worker_healthy(env: dict[str, str]) -> bool:
    """compose.yaml's worker health check: arq's own `--check` against the worker's Redis key."""
    check = subprocess.run(
        [sys.executable, "-m", "arq", "--check", "workers.WorkerSettings"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        timeout=30,
        check=False,
    )
    return check.returncode == 0


def _worker_pid(launcher: Launcher) -> int | None:
    tree = descendants(launcher.process.pid)
    return next((pid for pid in tree if command_line(pid).endswith("-m workers")), None)


def _report(base_url: str, token: str, launcher: Launcher) -> dict[str, Any]:
    """A report requested through GraphQL, once the worker has completed it."""
    requested = graphql_data(base_url, token, "mutation { requestTradeReport { id } }")
    job_id = requested["requestTradeReport"]["id"]
    query = f'{{ job(id: "{job_id}") {{ status report {{ userId }} }} }}'
    deadline = time.monotonic() + JOB_TIMEOUT
    while (job := graphql_data(base_url, token, query)["job"])["status"] != "COMPLETE":
        assert job["status"] in ("QUEUED", "IN_PROGRESS"), job
        assert time.monotonic() < deadline, f"the worker did not run the job:\n{launcher.output()}"
        time.sleep(0.2)
    return dict(job)


def test_run_prod_serves_with_two_workers_runs_jobs_restarts_a_dead_child_and_stops_on_ctrl_c(
    empty_postgres: str, redis_url: str, tmp_path: Path, launched: list[Launcher]
) -> None:
    env = production_environment(empty_postgres, redis_url)
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    launcher = Launcher(env, tmp_path / "run-prod.log", "--port", str(port), "--workers", "2")
    launched.append(launcher)
    launcher.wait_for_output("serving on", START_TIMEOUT)

    # Both kinds of process answer: the API (two uvicorn workers) and the arq worker.
    tree = descendants(launcher.process.pid)
    commands = {pid: command_line(pid) for pid in tree}
    supervisor = next(pid for pid, c in commands.items() if "-m web.server" in c)
    api_workers = [pid for pid in descendants(supervisor) if "spawn_main" in commands[pid]]
    assert len(api_workers) == 2, commands
    assert any(c.endswith("-m workers") for c in commands.values()), commands
    # The API workers share a metrics folder of their own (prometheus-client multiprocess mode).
    environ = Path(f"/proc/{supervisor}/environ").read_bytes().split(b"\0")
    (metrics_dir,) = [Path(v.split(b"=", 1)[1].decode()) for v in environ if v.startswith(b"PROM")]
    assert metrics_dir.is_dir()
    deadline = time.monotonic() + JOB_TIMEOUT
    while not _worker_healthy(env):
        assert time.monotonic() < deadline, "arq --check never passed"
        time.sleep(0.5)
    ready = httpx.get(f"{base_url}/readyz", timeout=5)
    assert ready.json() == {
        "status": "ok",
        "checks": {"database": "ok", "redis": "ok"},
        "worker": "ok",
    }

    # The database was migrated; a job queued by the API is run by the worker.
    registered = httpx.post(
        f"{base_url}/auth/register",
        json={"email": "prod@example.com", "password": PASSWORD, "name": "Prod"},
        timeout=10,
    )
    assert registered.status_code == 201, registered.text
    token = httpx.post(
        f"{base_url}/auth/token",
        data={"username": "prod@example.com", "password": PASSWORD},
        timeout=10,
    ).json()["access_token"]
    assert _report(base_url, token, launcher)["report"] == {"userId": registered.json()["id"]}

    # A child that dies is started again: killed twice in a row, the worker is restarted after
    # 1 s, then after 2 s; the API serves throughout, and the last worker runs the next job.
    for kill, delay in enumerate(("1", "2"), start=1):
        worker = _worker_pid(launcher)
        assert worker is not None, launcher.output()
        os.kill(worker, signal.SIGKILL)
        launcher.wait_for_output(f"- restarting arq worker in {delay} s", 10)
        deadline = time.monotonic() + 10
        while _worker_pid(launcher) in (None, worker):
            assert time.monotonic() < deadline, launcher.output()
            time.sleep(0.1)
        output = launcher.output()
        assert output.count("- arq worker exited on its own with -9") == kill, output
        assert httpx.get(f"{base_url}/healthz", timeout=5).status_code == 200
        assert supervisor in descendants(launcher.process.pid)
    assert _report(base_url, token, launcher)["status"] == "COMPLETE"

    # Ctrl-C: every process exits within seconds, each one reported, the launcher exits 0.
    tree = descendants(launcher.process.pid)
    started = time.monotonic()
    launcher.ctrl_c()
    assert launcher.process.wait(timeout=STOP_TIMEOUT) == 0, launcher.output()
    assert wait_gone(tree, timeout=max(STOP_TIMEOUT - (time.monotonic() - started), 0.5)) == set()
    output = launcher.output()
    assert "- API (2 workers) exited with 0" in output
    assert "- arq worker exited with 0" in output
    assert "<-- failed" not in output
    assert "stopping the others" not in output
    assert not metrics_dir.exists()


def test_run_prod_refuses_to_start_without_its_settings(
    empty_postgres: str, redis_url: str
) -> None:
    env = production_environment(empty_postgres, redis_url)
    for name in REQUIRED_VARIABLES:
        del env[name]
    refused = _run(env)
    assert refused.returncode != 0
    assert "DATABASE_URL, REDIS_URL, JWT_SECRET must be set" in refused.stderr
    assert "applying migrations" not in refused.stdout


def test_run_prod_refuses_a_weak_secret(empty_postgres: str, redis_url: str) -> None:
    env = {**production_environment(empty_postgres, redis_url), "JWT_SECRET": "secret"}
    refused = _run(env)
    assert refused.returncode != 0
    assert "JWT_SECRET must be at least 32 random characters" in refused.stderr


def test_run_prod_starts_nothing_when_migrations_fail(redis_url: str) -> None:
    env = production_environment(postgres_url("trading_deploy_no_such_database"), redis_url)
    failed = _run(env)
    assert failed.returncode != 0
    assert "migrations failed" in failed.stdout
    assert "starting" not in failed.stdout


@pytest.mark.parametrize(("make_args", "workers"), [((), "2"), (("WORKERS=3",), "3")])
def test_make_run_prod_runs_the_launcher_with_n_workers(
    make_args: tuple[str, ...], workers: str
) -> None:
    dry_run = subprocess.run(  # noqa: S603 - a fixed command line
        ["make", "--no-print-directory", "-n", "run-prod", *make_args],  # noqa: S607 - make on PATH
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    last = dry_run.stdout.strip().splitlines()[-1]
    assert "python -m deploy.run_prod" in last
    assert last.endswith(f"--workers {workers}")

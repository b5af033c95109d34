"""`make run-prod`: the launcher migrates an empty database, runs N uvicorn workers and one arq
worker that runs the API's jobs, refuses to start without its settings, and stops every process
it started on Ctrl-C."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.databases import ROOT, postgres_url
from tests.deploy.conftest import REQUIRED_VARIABLES, production_environment
from tests.deploy.processes import command_line, descendants, wait_gone
from tests.servers import free_port, graphql_data

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


def test_run_prod_serves_with_two_workers_runs_jobs_and_stops_every_process_on_ctrl_c(
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
    assert any("arq workers.WorkerSettings" in c for c in commands.values()), commands
    # The API workers share a metrics folder of their own (prometheus-client multiprocess mode).
    environ = Path(f"/proc/{supervisor}/environ").read_bytes().split(b"\0")
    (metrics_dir,) = [Path(v.split(b"=", 1)[1].decode()) for v in environ if v.startswith(b"PROM")]
    assert metrics_dir.is_dir()
    ready = httpx.get(f"{base_url}/readyz", timeout=5)
    assert ready.json() == {"status": "ok", "checks": {"database": "ok", "redis": "ok"}}
    deadline = time.monotonic() + JOB_TIMEOUT
    while not _worker_healthy(env):
        assert time.monotonic() < deadline, "arq --check never passed"
        time.sleep(0.5)

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
    requested = graphql_data(base_url, token, "mutation { requestTradeReport { id } }")
    job_id = requested["requestTradeReport"]["id"]
    query = f'{{ job(id: "{job_id}") {{ status report {{ userId }} }} }}'
    deadline = time.monotonic() + JOB_TIMEOUT
    while (job := graphql_data(base_url, token, query)["job"])["status"] != "COMPLETE":
        assert job["status"] in ("QUEUED", "IN_PROGRESS"), job
        assert time.monotonic() < deadline, f"the worker did not run the job:\n{launcher.output()}"
        time.sleep(0.2)
    assert job["report"] == {"userId": registered.json()["id"]}

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


def test_a_child_that_dies_stops_the_others_and_is_reported(
    empty_postgres: str, redis_url: str, tmp_path: Path, launched: list[Launcher]
) -> None:
    env = production_environment(empty_postgres, redis_url)
    launcher = Launcher(env, tmp_path / "run-prod.log", "--port", str(free_port()))
    launched.append(launcher)
    launcher.wait_for_output("serving on", START_TIMEOUT)
    tree = descendants(launcher.process.pid)
    worker = next(pid for pid in tree if "arq workers.WorkerSettings" in command_line(pid))

    os.kill(worker, signal.SIGKILL)
    assert launcher.process.wait(timeout=STOP_TIMEOUT + 5) == 1, launcher.output()
    assert wait_gone(tree, timeout=1) == set()
    output = launcher.output()
    assert "- arq worker exited on its own: stopping the others" in output
    assert f"- arq worker exited with {-signal.SIGKILL}  <-- failed" in output
    assert "- API (2 workers) exited with 0" in output

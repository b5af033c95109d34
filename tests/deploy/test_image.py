"""The Dockerfile, checked and then replayed outside Docker: its builder's steps install uv.lock
into a new virtualenv, its runtime's COPY takes the context through .dockerignore, and the result
runs compose's migration, the image's CMD with its health check, and the arq worker with its own.

What this cannot check (no Docker engine here; docs/operations.md): the base images, the build
itself, the non-root user's permissions, the tmpfs, and the containers' network."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.deploy.compose import environment, services
from tests.deploy.dockerfile import Stage, copy_context, ignore_patterns, parse
from tests.deploy.environment import production_environment
from tests.deploy.processes import command_line, descendants, wait_gone
from tests.utils.databases import ROOT
from tests.utils.ports import free_port

VENV = "/opt/venv"
APP = "/app"
START_TIMEOUT = 120.0  # several uvicorn workers importing the app at once on a loaded machine
STOP_TIMEOUT = 10.0  # docker stop's default grace period


def stages() -> list[Stage]:
    return parse(ROOT / "Dockerfile")


def builder() -> Stage:
    return next(stage for stage in stages() if stage.name == "builder")


def runtime() -> Stage:
    return stages()[-1]


def healthcheck_command() -> list[str]:
    instruction = runtime().last("HEALTHCHECK")
    assert instruction is not None
    _, _, command = instruction.arguments.partition(" CMD ")
    return [str(word) for word in json.loads(command)]


# -- the Dockerfile as written --------------------------------------------------------------


def test_the_image_is_built_in_a_builder_stage_and_run_from_a_slim_one() -> None:
    build, run = builder(), runtime()
    assert build is not run
    assert build.base == run.base  # the virtualenv's interpreter is the same Python
    assert "slim" in run.base
    # The runtime takes the virtualenv at the very path it was built at (scripts' #! lines).
    copies = [i.flags() for i in run.all("COPY")]
    assert ({"from": "builder"}, [VENV, VENV]) in copies
    assert ({}, [".", APP]) in copies
    # uv and the build's cache stay in the builder.
    assert not any(flags.get("from") == "uv" for flags, _ in copies)


def test_the_builder_installs_the_lock_file_without_dev_dependencies() -> None:
    build = builder()
    copied = [paths for _, paths in (i.flags() for i in build.all("COPY"))]
    assert ["pyproject.toml", "uv.lock", "./"] in copied
    (run,) = build.all("RUN")
    assert run.flags()[1] == ["deploy/build.sh", VENV]
    script = (ROOT / "deploy" / "build.sh").read_text()
    assert "sync --frozen --no-dev" in script
    assert 'UV_PROJECT_ENVIRONMENT="$venv"' in script
    assert os.access(ROOT / "deploy" / "build.sh", os.X_OK)


def test_the_image_runs_as_a_numeric_non_root_user() -> None:
    user = runtime().last("USER")
    assert user is not None
    uid, _, gid = user.arguments.partition(":")
    assert uid.isdigit() and int(uid) != 0
    assert gid.isdigit() and int(gid) != 0
    # After the last COPY and RUN: nothing the app runs with is done as root afterwards.
    keywords = [i.keyword for i in runtime().instructions]
    assert keywords.index("USER") > max(
        i for i, keyword in enumerate(keywords) if keyword in ("COPY", "RUN")
    )


def test_the_image_checks_healthz_and_serves_on_port_8000_with_several_workers() -> None:
    assert "http://127.0.0.1:8000/healthz" in " ".join(healthcheck_command())
    cmd = runtime().last("CMD")
    assert cmd is not None
    command = cmd.command()
    assert command[:3] == ["python", "-m", "web.server"]  # uvicorn with the settings' limits
    assert shlex.join(command).count("--host 0.0.0.0 --port 8000") == 1
    assert "--workers" not in command  # uvicorn reads $WEB_CONCURRENCY
    env = runtime().env()
    assert int(env["WEB_CONCURRENCY"]) > 1
    assert env["ENVIRONMENT"] == "production"
    assert env["PATH"].startswith(f"{VENV}/bin:")


def test_the_build_context_leaves_out_secrets_local_state_and_tests(tmp_path: Path) -> None:
    copied = copy_context(ROOT, tmp_path, ignore_patterns(ROOT / ".dockerignore"))
    assert {"main.py", "manage.py", "settings.py", "alembic.ini", "uv.lock"} <= set(copied)
    assert any(path.startswith("migrations/versions/") for path in copied)
    for path in copied:
        top = path.split("/")[0]
        assert top not in {".env", ".jwt_secret", ".git", ".venv", ".tools", "tests", "bench"}, path
        assert "__pycache__" not in path and not path.startswith("trading.db"), path


# -- the Dockerfile replayed ----------------------------------------------------------------


@dataclass
class Image:
    """The image's filesystem, rooted in a temporary folder instead of /."""

    root: Path

    def path(self, container_path: str) -> Path:
        return self.root / container_path.lstrip("/")

    def env(self, **overrides: str) -> dict[str, str]:
        values = dict(runtime().env())
        values["PATH"] = (
            values["PATH"].replace(VENV, str(self.path(VENV))).replace("$PATH", os.environ["PATH"])
        )
        return {**values, **overrides}

    def spawn(self, command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
        """A command run as the container runs it: in WORKDIR, the venv's programs on PATH."""
        with log.open("wb") as out:
            return subprocess.Popen(  # noqa: S603 - the image's own commands
                command,
                cwd=self.path(APP),
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Image:
    """The builder's COPY and RUN steps, then the runtime's COPY steps, into a folder."""
    built = Image(tmp_path_factory.mktemp("image"))
    build = builder()
    workdir = built.path(next(i.arguments for i in build.all("WORKDIR")))
    for flags, paths in (i.flags() for i in build.all("COPY")):
        if "from" in flags:
            continue  # uv's own image: this machine's uv stands in for it
        *sources, target = paths
        for source in sources:
            destination = workdir / target / Path(source).name if target.endswith("/") else None
            destination = destination or workdir / target
            destination.parent.mkdir(parents=True, exist_ok=True)
            destination.write_bytes((ROOT / source).read_bytes())
            destination.chmod((ROOT / source).stat().st_mode)
    uv = ROOT / ".tools" / "bin" / "uv"
    env = {
        **os.environ,
        **build.env(),
        "UV": str(uv) if uv.exists() else "uv",
        # The builder's Python is the runtime's; here, the one the project's venv is made from.
        "UV_PYTHON": getattr(sys, "_base_executable", sys.executable),
    }
    env.pop("VIRTUAL_ENV", None)
    for run in build.all("RUN"):
        command = [word.replace(VENV, str(built.path(VENV))) for word in run.flags()[1]]
        subprocess.run(command, cwd=workdir, env=env, check=True, timeout=600)  # noqa: S603
    copy_context(ROOT, built.path(APP), ignore_patterns(ROOT / ".dockerignore"))
    return built


def test_the_images_virtualenv_holds_the_runtime_dependencies_only(image: Image) -> None:
    installed = {
        path.name.split("-")[0].lower()
        for path in image.path(VENV).glob("lib/python*/site-packages/*.dist-info")
    }
    assert {"uvicorn", "fastapi", "strawberry_graphql", "arq", "asyncpg", "alembic"} <= installed
    assert not {"pytest", "mypy", "ruff", "hypothesis"} & installed


@pytest.fixture
def started(image: Image) -> Iterator[list[subprocess.Popen[bytes]]]:
    """Processes a test starts from the image; stopped (then killed) at the end."""
    processes: list[subprocess.Popen[bytes]] = []
    yield processes
    for process in processes:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _passes(command: list[str], env: dict[str, str], image: Image) -> bool:
    check = subprocess.run(  # noqa: S603 - the image's own health checks
        command, cwd=image.path(APP), env=env, capture_output=True, timeout=30, check=False
    )
    return check.returncode == 0


def _wait_until_passes(
    command: list[str], env: dict[str, str], image: Image, process: subprocess.Popen[bytes]
) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while not _passes(command, env, image):
        assert process.poll() is None, f"{process.args!r} exited with {process.returncode}"
        assert time.monotonic() < deadline, f"{command} did not pass in {START_TIMEOUT:g} s"
        time.sleep(0.5)


def test_the_built_image_migrates_serves_and_runs_the_worker_with_passing_health_checks(
    image: Image,
    empty_postgres: str,
    redis_url: str,
    tmp_path: Path,
    started: list[subprocess.Popen[bytes]],
) -> None:
    port = free_port()
    # The containers' settings (compose.yaml), on this machine's PostgreSQL and Redis.
    local = production_environment(empty_postgres, redis_url)
    here = {name: local[name] for name in ("DATABASE_URL", "REDIS_URL")}
    metrics_dir = tmp_path / "prometheus"  # compose's tmpfs
    metrics_dir.mkdir()

    def container_env(service: str) -> dict[str, str]:
        env = image.env(**{**environment(service), **here})
        if "PROMETHEUS_MULTIPROC_DIR" in env:
            env["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
        return env

    def on_this_port(words: list[str]) -> list[str]:
        adapted = [w.replace(":8000/", f":{port}/") for w in words]
        return [
            {"8000": str(port), "0.0.0.0": "127.0.0.1"}.get(w, w)  # noqa: S104 - replaced
            for w in adapted
        ]

    # 1. compose's one-shot migration, from the image, on an empty database.
    migrate = subprocess.run(  # noqa: S603 - compose's own command
        services()["migrate"]["command"],
        cwd=image.path(APP),
        env=container_env("migrate"),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert migrate.returncode == 0, migrate.stdout + migrate.stderr

    # 2. The image's CMD with the API's settings: WEB_CONCURRENCY workers, both checks pass.
    api_env = container_env("api")
    cmd = runtime().last("CMD")
    assert cmd is not None
    api = image.spawn(on_this_port(cmd.command()), api_env, tmp_path / "api.log")
    started.append(api)
    _wait_until_passes(on_this_port(healthcheck_command()), api_env, image, api)
    readiness = services()["api"]["healthcheck"]["test"][1:]
    _wait_until_passes(on_this_port(readiness), api_env, image, api)
    workers = [pid for pid in descendants(api.pid) if "spawn_main" in command_line(pid)]
    assert len(workers) == int(api_env["WEB_CONCURRENCY"]) > 1
    # The image's Python: its virtualenv's compiled modules (pydantic-core, ...) are loaded.
    assert str(image.path(VENV)) in Path(f"/proc/{api.pid}/maps").read_text()

    # 3. compose's worker with its arq health check.
    worker_env = container_env("worker")
    worker = image.spawn(services()["worker"]["command"], worker_env, tmp_path / "worker.log")
    started.append(worker)
    _wait_until_passes(services()["worker"]["healthcheck"]["test"][1:], worker_env, image, worker)

    # 4. `docker stop`: SIGTERM, and every process is gone within the grace period.
    tree = descendants(api.pid) | {api.pid, worker.pid}
    for process in (api, worker):
        process.send_signal(signal.SIGTERM)
    assert wait_gone(tree, STOP_TIMEOUT) == set(), (tmp_path / "api.log").read_text()
    assert api.wait() == 0
    assert worker.wait() == 0

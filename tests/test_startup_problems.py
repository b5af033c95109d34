"""Start-up problems as a user meets them: every entry point, run as a process with a bad
configuration (a missing, unreachable or refusing database, one behind the migrations, a bad
setting), exits non-zero with a few lines that name the fix, no traceback and no secret; with
LOG_LEVEL=debug the traceback is there too.

The processes are started all at once, and each test reads its own: one at a time, they would
take minutes."""

from __future__ import annotations

import secrets
import subprocess
import sys
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory

from db.revision import migration_head
from tests.utils.databases import ROOT, alembic_config, migrate, require_postgres, sqlite_url
from tests.utils.ports import free_port
from tests.utils.servers import user_environment
from tests.utils.settings import TEST_REDIS_URL, TEST_SECRET

RUN_TIMEOUT = 120.0
# Lines a start-up problem may take, besides those of what launched the process: uvicorn's INFO
# lines and make's own (its `install` step, its "make: *** ... Error 1").
MAX_LINES = 5
LAUNCHERS = ("INFO:", "make: ", "- installing dependencies")
PYTHON = sys.executable
DB_PASSWORD = f"pw-{secrets.token_hex(8)}"
SHORT_SECRET = f"short-{secrets.token_hex(4)}"


@dataclass(frozen=True)
class Problem:
    env: dict[str, str]
    # What the output must say: the problem and its fix.
    says: tuple[str, ...]
    # What it must never say.
    secrets: tuple[str, ...] = (TEST_SECRET,)


@dataclass(frozen=True)
class Case:
    entry: str
    problem: str
    debug: bool = False
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.entry} / {self.problem}" + (" / LOG_LEVEL=debug" if self.debug else "")


def command(entry: str) -> list[str]:
    port = str(free_port())
    return {
        "uvicorn main:app": [PYTHON, "-m", "uvicorn", "main:app", "--port", port],
        "python -m web.server": [PYTHON, "-m", "web.server", "--port", port],
        "python -m web.server --workers 2": [
            PYTHON,
            "-m",
            "web.server",
            "--port",
            port,
            "--workers",
            "2",
        ],
        "python -m workers": [PYTHON, "-m", "workers"],
        "python manage.py migrate": [PYTHON, "manage.py", "migrate"],
        "make run": ["make", "--no-print-directory", "run", f"PORT={port}"],
        "make run-prod": ["make", "--no-print-directory", "run-prod", f"PORT={port}"],
    }[entry]


# The worker and run-prod need Redis named; run-prod a production-grade key.
WORKER_ENV = {"REDIS_URL": TEST_REDIS_URL}
PRODUCTION_ENV = {"REDIS_URL": TEST_REDIS_URL, "JWT_SECRET": secrets.token_urlsafe(48)}
CASES = [
    Case("uvicorn main:app", "missing database"),
    Case("uvicorn main:app", "unreachable server"),
    Case("uvicorn main:app", "unknown role"),
    Case("uvicorn main:app", "unmigrated database"),
    Case("uvicorn main:app", "reserved admin email"),
    Case("python -m web.server", "database behind the migrations"),
    Case("python -m web.server", "unknown environment"),
    Case("python -m web.server --workers 2", "missing database"),
    Case("python -m workers", "unmigrated database", extra_env=WORKER_ENV),
    Case("python -m workers", "missing database", extra_env=WORKER_ENV),
    Case("python -m workers", "short secret in production", extra_env=WORKER_ENV),
    Case("python -m workers", "no REDIS_URL"),
    Case("python manage.py migrate", "missing database"),
    Case("python manage.py migrate", "unreachable server"),
    Case("python manage.py migrate", "unknown role"),
    Case("python manage.py migrate", "unknown environment"),
    Case("make run", "missing database"),
    Case("make run-prod", "missing database", extra_env=PRODUCTION_ENV),
    Case("make run-prod", "reserved admin email", extra_env=PRODUCTION_ENV),
]
DEBUG_CASES = [
    Case("uvicorn main:app", "unknown role", debug=True),
    Case("python manage.py migrate", "short secret in production", debug=True),
]


def problems(tmp: Path) -> dict[str, Problem]:
    missing = f"trading_test_missing_{uuid.uuid4().hex[:8]}"
    closed_port = free_port()  # nothing listens there
    role = f"no_such_role_{uuid.uuid4().hex[:8]}"
    unmigrated = tmp / "unmigrated.db"
    unmigrated.touch()
    behind = tmp / "behind.db"
    head = migration_head()
    assert head is not None
    before_head = ScriptDirectory.from_config(alembic_config(sqlite_url(behind))).get_revision(head)
    assert before_head is not None and isinstance(before_head.down_revision, str)
    migrate(sqlite_url(behind), before_head.down_revision)
    return {
        "missing database": Problem(
            {"DATABASE_URL": f"postgresql+asyncpg://postgres@127.0.0.1:5432/{missing}"},
            (f"createdb -h 127.0.0.1 -p 5432 -U postgres {missing}", "make migrate"),
        ),
        "unreachable server": Problem(
            {"DATABASE_URL": f"postgresql+asyncpg://app:{DB_PASSWORD}@127.0.0.1:{closed_port}/x"},
            ("cannot reach", f"start PostgreSQL on 127.0.0.1:{closed_port}", "app:***@"),
            (TEST_SECRET, DB_PASSWORD),
        ),
        "unknown role": Problem(
            {"DATABASE_URL": f"postgresql+asyncpg://{role}:{DB_PASSWORD}@127.0.0.1:5432/postgres"},
            (f'role "{role}" does not exist', "correct the user or password in DATABASE_URL"),
            (TEST_SECRET, DB_PASSWORD),
        ),
        "unmigrated database": Problem(
            {"DATABASE_URL": sqlite_url(unmigrated)}, ("not migrated", "make migrate")
        ),
        "database behind the migrations": Problem(
            {"DATABASE_URL": sqlite_url(behind)},
            (f"at revision {before_head.down_revision}, this code needs {head}", "make migrate"),
        ),
        "reserved admin email": Problem(
            {"FIRST_ADMIN_EMAIL": "admin@acme.test", "FIRST_ADMIN_PASSWORD": DB_PASSWORD},
            ("FIRST_ADMIN_EMAIL", "special-use or reserved name"),
            (TEST_SECRET, DB_PASSWORD),
        ),
        "unknown environment": Problem(
            {"ENVIRONMENT": "prod"}, ("ENVIRONMENT", "'development' or 'production'")
        ),
        "short secret in production": Problem(
            {"ENVIRONMENT": "production", "JWT_SECRET": SHORT_SECRET},
            ("JWT_SECRET must be at least 32 random characters",),
            (SHORT_SECRET,),
        ),
        "no REDIS_URL": Problem(
            {}, ("REDIS_URL is not set", "the API runs the jobs in its own process")
        ),
    }


def run(case: Case, problem: Problem, tmp: Path) -> subprocess.CompletedProcess[str]:
    env = user_environment()
    # An unmigrated SQLite file of its own, unless the problem names a database.
    env |= {"DATABASE_URL": sqlite_url(tmp / f"{uuid.uuid4().hex}.db"), "JWT_SECRET": TEST_SECRET}
    env |= {"LOG_FORMAT": "text", **case.extra_env, **problem.env}
    if case.debug:
        env["LOG_LEVEL"] = "debug"
    return subprocess.run(  # noqa: S603 - fixed command lines
        command(case.entry),
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )


@dataclass(frozen=True)
class Outcome:
    problem: Problem
    returncode: int
    output: str


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Outcome]]:
    require_postgres()
    tmp = tmp_path_factory.mktemp("startup")
    known = problems(tmp)
    cases = CASES + DEBUG_CASES
    with ThreadPoolExecutor(max_workers=6) as pool:
        done = pool.map(lambda case: run(case, known[case.problem], tmp), cases)
        yield {
            case.id: Outcome(known[case.problem], result.returncode, result.stdout + result.stderr)
            for case, result in zip(cases, done, strict=True)
        }


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_a_start_up_problem_is_told_in_a_line_naming_the_fix(
    case: Case, outcomes: dict[str, Outcome]
) -> None:
    outcome = outcomes[case.id]
    output = outcome.output
    assert outcome.returncode != 0, output
    assert "Traceback" not in output
    for text in outcome.problem.says:
        assert text in output, output
    for secret in outcome.problem.secrets:
        assert secret not in output
    own_lines = [line for line in output.splitlines() if not line.startswith(LAUNCHERS)]
    assert len(own_lines) <= MAX_LINES, output


@pytest.mark.parametrize("case", DEBUG_CASES, ids=lambda case: case.id)
def test_debug_logging_adds_the_traceback(case: Case, outcomes: dict[str, Outcome]) -> None:
    outcome = outcomes[case.id]
    assert outcome.returncode != 0, outcome.output
    assert "Traceback (most recent call last)" in outcome.output
    for text in outcome.problem.says:
        assert text in outcome.output, outcome.output
    for secret in outcome.problem.secrets:
        assert secret not in outcome.output

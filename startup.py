"""Start-up problems, told in one line that names the fix, and a non-zero exit.

A database that does not exist, cannot be reached, refuses the credentials or is behind the
migrations, and a setting that is not valid, are the operator's to fix, not bugs. Every entry
point says what is wrong and what to do in one line and exits non-zero: `python -m web.server`,
`python -m workers` and `python manage.py` through exit_on_problem, `uvicorn main:app` through
main.py and web/lifespan_report.py, deploy/run_prod.py through the commands it runs.
LOG_LEVEL=debug prints the traceback as well. Any other failure is a bug and keeps its traceback.
"""

from __future__ import annotations

import socket
import sys
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from pydantic import ValidationError
from sqlalchemy.engine import URL, make_url

from db import revision
from db.engine import create_engine, driver_errors, engine_options, is_unavailable, refusal
from settings import Settings, given_settings, problems

T = TypeVar("T")
MIGRATE = "run `make migrate` (in the image: `python manage.py migrate`)"


class StartupProblem(Exception):
    """Something to fix before the process can start; its text is the line that says what."""


def problem_line(error: BaseException) -> str | None:
    """The line telling a start-up problem; None for anything else (a bug)."""
    if isinstance(error, StartupProblem):
        return str(error)
    if isinstance(error, ValidationError) and error.title == Settings.__name__:
        return "invalid settings (environment or .env): " + "; ".join(problems(error))
    return None


def debug_logging() -> bool:
    """LOG_LEVEL=debug, read as given: the settings may be what is not valid."""
    level = given_settings().get("log_level")
    return isinstance(level, str) and level.lower() == "debug"


def exit_on_problem(start: Callable[[], T]) -> T:
    """Run an entry point; a start-up problem ends the process with its line on stderr and exit
    status 1, after its traceback with LOG_LEVEL=debug. A bug is raised as it is."""
    try:
        return start()
    except Exception as error:
        line = problem_line(error)
        if line is None:
            raise
        if debug_logging():
            traceback.print_exc()
        sys.exit(f"error: {line}")


@contextmanager
def database_problems(database_url: str) -> Iterator[None]:
    """What the database answers at start-up, turned into a StartupProblem naming the fix: no
    such database, credentials refused, server unreachable. Other errors pass as they are."""
    url = make_url(database_url)
    if (directory := _missing_sqlite_directory(url)) is not None:
        # Found before SQLite fails to open the file: aiosqlite's thread, after a failed open,
        # prints a traceback of its own if the event loop closes first (asyncio.run in a CLI).
        raise StartupProblem(
            f"{_named(url)}: the SQLite file's directory {str(directory)!r} does not exist:"
            " create it, or correct DATABASE_URL"
        )
    try:
        yield
    except Exception as error:
        line = _database_problem(error, url)
        if line is None:
            raise
        if url.password:  # drivers do not repeat it; should one ever, it stops here
            line = line.replace(str(url.password), "***")
        raise StartupProblem(line) from error


async def check_database(settings: Settings) -> None:
    """The database answers to these credentials and is not behind the migrations; else a
    StartupProblem. Run first by every process that serves or works on it."""
    engine = create_engine(
        settings.database_url, count_statements=False, **engine_options(settings)
    )
    try:
        with database_problems(settings.database_url):
            async with engine.connect() as connection:
                lag = await connection.run_sync(revision.behind)
    finally:
        await engine.dispose()
    if lag is not None:
        raise StartupProblem(
            f"{_named(make_url(settings.database_url))}: the database is not migrated ({lag}):"
            f" {MIGRATE}"
        )


def _database_problem(error: BaseException, url: URL) -> str | None:
    named = _named(url)
    kind = refusal(error)
    if kind == "no database":
        return (
            f"{named}: database {url.database!r} does not exist: create it with"
            f" `{_createdb(url)}`, then {MIGRATE}"
        )
    if kind == "not authorized":
        return f"{named}: {_reason(error)}: correct the user or password in DATABASE_URL"
    if not is_unavailable(error):
        return None
    if url.get_backend_name() == "sqlite":
        return (
            f"{named}: cannot use the SQLite file {url.database!r} ({_reason(error)}): does its"
            " directory exist, and may this user write there?"
        )
    return (
        f"{named}: cannot reach the database server ({_reason(error)}): start PostgreSQL on"
        f" {url.host}:{url.port or 5432}, or correct the host and port in DATABASE_URL"
    )


def _missing_sqlite_directory(url: URL) -> Path | None:
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    directory = Path(url.database).parent
    return None if directory.is_dir() else directory


def _named(url: URL) -> str:
    # Without the password: this line ends up in terminals and deployment logs.
    return f"DATABASE_URL={url.render_as_string(hide_password=True)}"


def _createdb(url: URL) -> str:
    options = [("-h", url.host), ("-p", url.port), ("-U", url.username)]
    return " ".join(["createdb", *(f"{flag} {value}" for flag, value in options if value)]) + (
        f" {url.database}"
    )


def _reason(error: BaseException) -> str:
    """The driver's word for the failure (PostgreSQL's own message for a refusal)."""
    causes = driver_errors(error)
    innermost = causes[-1] if causes else error
    if isinstance(innermost, ConnectionRefusedError):
        return "connection refused"
    if isinstance(innermost, socket.gaierror):
        return "no such host"
    if isinstance(innermost, TimeoutError):
        return "no answer within DB_CONNECT_TIMEOUT_SECONDS"
    return str(innermost).strip() or type(innermost).__name__

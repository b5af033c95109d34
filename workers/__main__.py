"""`python -m workers`: run an arq worker that rides out Redis outages (workers/resilient.py).

`arq workers.WorkerSettings` runs the same jobs, but exits on the first Redis error.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import cast

from arq.typing import WorkerSettingsType
from arq.utils import import_string

from observability.logs import configure_logging
from settings import get_settings
from startup import StartupProblem, check_database, exit_on_problem
from workers.resilient import create_worker

NO_REDIS = (
    "REDIS_URL is not set: without it the API runs the jobs in its own process and no worker is"
    " needed; to run them here, set REDIS_URL (e.g. redis://127.0.0.1:6379/0) for the API and"
    " the worker"
)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m workers", description=__doc__)
    parser.add_argument(
        "settings",
        nargs="?",
        default="workers.WorkerSettings",
        help="import path of the WorkerSettings (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    exit_on_problem(check)
    configure_logging(get_settings().log_format_effective, get_settings().log_level)
    worker_settings = cast(WorkerSettingsType, import_string(args.settings))
    # Until SIGINT or SIGTERM, as arq's own command: running jobs are cancelled and queued again.
    create_worker(worker_settings).run()


def check() -> None:
    """What the worker needs before it starts: Redis named, the database ready. Redis itself may
    be down: the worker waits for it (docs/operations.md)."""
    settings = get_settings()
    if not settings.redis_url:
        raise StartupProblem(NO_REDIS)
    asyncio.run(check_database(settings))


if __name__ == "__main__":
    main()

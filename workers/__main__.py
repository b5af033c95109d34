"""`python -m workers`: run an arq worker that rides out Redis outages (workers/resilient.py).

`arq workers.WorkerSettings` runs the same jobs, but exits on the first Redis error.
"""

from __future__ import annotations

import argparse
from typing import cast

from arq.typing import WorkerSettingsType
from arq.utils import import_string

from observability.logs import configure_logging
from settings import get_settings
from workers.resilient import create_worker


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m workers", description=__doc__)
    parser.add_argument(
        "settings",
        nargs="?",
        default="workers.WorkerSettings",
        help="import path of the WorkerSettings (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    configure_logging(get_settings().log_format_effective)
    worker_settings = cast(WorkerSettingsType, import_string(args.settings))
    # Until SIGINT or SIGTERM, as arq's own command: running jobs are cancelled and queued again.
    create_worker(worker_settings).run()


if __name__ == "__main__":
    main()

"""`python -m workers` imports on its own: a worker process runs without the web app."""

from __future__ import annotations

import json
import subprocess
import sys

from arq.worker import Function

from tests.databases import ROOT
from workers import WorkerSettings
from workers.queue import FUNCTIONS

PROBE = """
import json, sys
import workers.__main__
workers.WorkerSettings
loaded = sorted({name.split(".")[0] for name in sys.modules})
print(json.dumps(loaded))
"""


def test_worker_imports_neither_resolvers_nor_main() -> None:
    result = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, check=True
    )
    loaded = set(json.loads(result.stdout))
    assert "workers" in loaded and "db" in loaded
    assert loaded.isdisjoint({"resolvers", "main", "schema", "strawberry", "fastapi"})


def test_worker_runs_every_job_the_api_enqueues_with_its_limits() -> None:
    functions = [f for f in WorkerSettings.functions if isinstance(f, Function)]
    assert sorted(f.name for f in functions) == sorted(FUNCTIONS)
    for function in functions:
        assert function.max_tries is not None and function.max_tries > 1, function
        assert function.timeout_s, function
    assert [job.name for job in WorkerSettings.cron_jobs or ()] == ["cron:purge_expired"]

"""`python -m workers` imports on its own: a worker process runs without the web app."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.utils.databases import ROOT

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

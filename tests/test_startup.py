"""Start-up does only what serving needs: what is heavy and used by one admin query or by
manage.py alone is loaded when first used, not by `import main` (a crashed process is back
sooner)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.utils.databases import ROOT
from tests.utils.settings import TEST_SECRET

# Alembic and what it pulls in: the lifespan's migration check loads it (db/revision.py), and
# systemStatus and manage.py use it, but importing the app does not.
DEFERRED_MODULES = ("alembic", "mako", "pygments")
PROBE = """
import json, sys
import main
from auth.passwords import _dummy_hash
print(json.dumps({
    "loaded": [name for name in sys.argv[1:] if name in sys.modules],
    "dummy_hashes_made": _dummy_hash.cache_info().currsize,
}))
"""


def test_import_main_leaves_admin_and_management_modules_unloaded(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'unused.db'}",
        "JWT_SECRET": TEST_SECRET,
    }
    env.pop("REDIS_URL", None)
    done = subprocess.run(  # noqa: S603 - this interpreter, a fixed script
        [sys.executable, "-c", PROBE, *DEFERRED_MODULES],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["loaded"] == []
    # The dummy argon2 hash (64 MiB and a tenth of a second or more) waits for its first use.
    assert found["dummy_hashes_made"] == 0

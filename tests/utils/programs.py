"""Finding the server programs the tests and the benchmarks start themselves."""

from __future__ import annotations

import shutil
from pathlib import Path


def program(name: str) -> str | None:
    """`name` from PATH, else from Debian's versioned PostgreSQL directories (the newest): its
    packages put only wrappers of the client programs on PATH, not initdb or pg_ctl."""
    found = shutil.which(name)
    if found is not None:
        return found
    candidates = sorted(
        Path("/usr/lib/postgresql").glob(f"*/bin/{name}"),
        key=lambda path: int(path.parts[-3]) if path.parts[-3].isdigit() else 0,
    )
    return str(candidates[-1]) if candidates else None


def missing(*names: str) -> list[str]:
    """The programs of `names` that `program` does not find."""
    return [name for name in names if program(name) is None]

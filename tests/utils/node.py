"""Node.js tools the tests drive (the graphql-http audit, the browser driver), each pinned by
its own package-lock.json and installed with `npm ci` on first use."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from tests.utils.needs import needed


def install_node_tool(directory: Path, package: str, purpose: str) -> None:
    """`npm ci` in `directory` unless `package` is installed there already."""
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        needed(f"Node.js and npm are needed for {purpose}")
    if not (directory / "node_modules" / package).is_dir():
        subprocess.run(  # noqa: S603 - a fixed command line
            [npm, "ci", "--no-audit", "--no-fund", "--silent"], cwd=directory, check=True
        )

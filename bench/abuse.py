"""What each attack of issue 12 costs the server, before the bounds and after (not a test).

    python -m bench.abuse [--before REV] [--only N ...] [--skip-overload]

For every attack of bench/attacks.py, a server of each version is started on a fresh SQLite
database (the embedded default, in development, as `make run` serves it): the code at REV (by
default the last commit before the bounds) from a temporary git worktree, and this checkout. The
table gives the server's CPU per request (user + system time from /proc, every thread) and its
RSS growth over the attack, and what the client got back. Then bench/overload.py runs against
this checkout: goodput at ten times the clients that saturate one process.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.attacks import ATTACKS, Attack, Outcome, Target
from bench.servers import running
from tests.utils.databases import copy_sqlite, migrate, sqlite_url
from tests.utils.ports import free_port

ROOT = Path(__file__).resolve().parent.parent
# The last commit before issue 12's bounds.
BEFORE = "8923edb"
SECRET = "bench-abuse-signing-key-" + "k" * 32
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def usage(pid: int) -> tuple[float, int]:
    """CPU seconds so far and resident bytes now, of one process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    rss_pages = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS, rss_pages * os.sysconf("SC_PAGESIZE")


@contextlib.contextmanager
def checkout(revision: str) -> Iterator[Path]:
    """The code at `revision` in a temporary worktree, sharing this checkout's environment."""
    directory = Path(tempfile.mkdtemp(prefix="bench-abuse-"))
    subprocess.run(  # noqa: S603 - git with a revision the operator gave
        ["git", "worktree", "add", "--detach", str(directory), revision],  # noqa: S607
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    try:
        yield directory
    finally:
        subprocess.run(  # noqa: S603
            ["git", "worktree", "remove", "--force", str(directory)],  # noqa: S607
            cwd=ROOT,
            check=False,
            capture_output=True,
        )
        shutil.rmtree(directory, ignore_errors=True)


def command(code: Path) -> list[str]:
    """How that version is served: its own launcher when it has one (`make run`'s)."""
    if (code / "web" / "server.py").exists():
        return [sys.executable, "-m", "web.server"]
    return [sys.executable, "-m", "uvicorn", "main:app"]


def attack_once(
    code: Path, template: Path, attack: Attack, scratch: Path
) -> tuple[Outcome, Target]:
    database = copy_sqlite(template, scratch / "attacked.db")
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database,
        "JWT_SECRET": SECRET,
        "ENVIRONMENT": "development",
        "LOG_FORMAT": "text",
        "DEMO_DATA": "false",
    }
    env.pop("REDIS_URL", None)
    base_url = f"http://127.0.0.1:{port}"

    def ready(client: httpx.Client) -> bool:
        return client.get(f"{base_url}/healthz").status_code == 200

    serve = [*command(code), "--host", "127.0.0.1", "--port", str(port), "--no-access-log"]
    with running(code.name, serve, base_url, ready, env, code) as server:
        target = Target(base_url, server.process.pid, SECRET, usage)
        try:
            outcome = attack(target)
        except (httpx.HTTPError, OSError) as error:
            outcome = Outcome(1, f"failed: {type(error).__name__}")
    return outcome, target


def cell(outcome: Outcome, target: Target) -> str:
    measured = target.measurement
    growth = measured.rss_growth_bytes / 2**20
    cpu_ms = measured.cpu_seconds / outcome.requests * 1000
    return f"{cpu_ms:,.0f} ms | {growth:+.0f} MB | {outcome.answer}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", default=BEFORE, help="the revision to compare with")
    parser.add_argument("--only", nargs="*", help="issue items to run (1-12)")
    parser.add_argument("--skip-overload", action="store_true")
    args = parser.parse_args()
    attacks = [a for a in ATTACKS if not args.only or a[0] in args.only]
    with tempfile.TemporaryDirectory() as scratch, checkout(args.before) as before:
        template = Path(scratch) / "template.db"
        migrate(sqlite_url(template))
        print(f"before: {args.before}; after: this checkout. CPU per request, RSS growth, answer.")
        print()
        print("| item | attack | before: CPU | RSS | answer | after: CPU | RSS | answer |")
        print("|---|---|---|---|---|---|---|---|")
        for item, name, attack in attacks:
            cells = [
                cell(*attack_once(code, template, attack, Path(scratch))) for code in (before, ROOT)
            ]
            print(f"| {item} | {name} | {cells[0]} | {cells[1]} |", flush=True)
    if not args.skip_overload and (not args.only or "11" in args.only):
        print("\n11. overload (bench/overload.py, this checkout):\n", flush=True)
        subprocess.run([sys.executable, "-m", "bench.overload"], cwd=ROOT, check=True)


if __name__ == "__main__":
    main()

"""`make bench-faults`: every fault scenario on one cluster, with more load and longer phases
than the tests; prints each scenario's figures and writes them into bench/RESULTS.md.

    python -m bench.faults [--only api-kill worker-kill ...] [--writers 8] [--subscribers 50]
                           [--before 5] [--after 10] [--keep] [--no-write]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent))

from bench.faults import accounts, engine, report
from bench.faults.cluster import ROOT, running_cluster
from bench.faults.scenarios import BY_NAME, SCENARIOS


def _revision() -> str:
    found = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],  # noqa: S607 - git from the PATH
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    return found.stdout.strip() or "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="*", choices=list(BY_NAME), help="scenarios to run")
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--subscribers", type=int, default=50)
    parser.add_argument("--before", type=float, default=5.0, help="seconds of load before")
    parser.add_argument("--after", type=float, default=10.0, help="seconds after recovery")
    parser.add_argument("--keep", action="store_true", help="keep the cluster's logs and data")
    parser.add_argument("--no-write", action="store_true", help="leave bench/RESULTS.md alone")
    args = parser.parse_args()
    load = engine.Load(
        writers=args.writers,
        subscribers=args.subscribers,
        pace=0.05,
        before=args.before,
        after=args.after,
        drain=30.0,
    )
    scenarios = [BY_NAME[name] for name in args.only] if args.only else SCENARIOS
    outcomes = []
    with running_cluster(keep=args.keep) as cluster:
        print(f"- cluster in {cluster.directory}", flush=True)

        async def run_all() -> None:
            signed_up = await accounts.create_accounts(cluster, load.writers)
            for number, scenario in enumerate(scenarios):
                print(f"- {scenario.name}: {scenario.title}", flush=True)
                outcome = await engine.run(cluster, signed_up, scenario, number, load)
                print(report.summary(outcome), flush=True)
                outcomes.append(outcome)

        asyncio.run(run_all())
    print()
    print(report.table(outcomes))
    if not args.no_write:
        when = datetime.now(UTC).strftime("%Y-%m-%d")
        where = f"on {when} at `{_revision()}`, {os.cpu_count()} cores"
        report.write_results(report.section(outcomes, load, where))
        print(f"\n- written into {report.RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()

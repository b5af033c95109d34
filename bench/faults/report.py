"""What a fault run prints: a summary of one outcome (also the tests' failure message) and the
table `make bench-faults` prints and writes into bench/RESULTS.md."""

from __future__ import annotations

import re
import statistics
from pathlib import Path

from bench.faults.engine import Load, Outcome

RESULTS = Path(__file__).resolve().parent.parent / "RESULTS.md"
START, END = "<!-- make bench-faults: start -->", "<!-- make bench-faults: end -->"
FAMILIES = ("writes", "reads", "jobs", "sockets")


def percentiles(values: list[float]) -> tuple[float, float, float] | None:
    """p50, p99 and max, or None without values."""
    if not values:
        return None
    if len(values) == 1:
        return values[0], values[0], values[0]
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return cuts[49], cuts[98], max(values)


def _seconds(value: float | None) -> str:
    return "never" if value is None else f"{value:.1f} s"


def delay(outcome: Outcome) -> str:
    found = percentiles(outcome.delivery.delays)
    if found is None:
        return "-"
    return " / ".join(f"{value * 1000:,.0f}" for value in found) + " ms"


def summary(outcome: Outcome, shown: int = 10) -> str:
    """Everything a run measured, one line per subject, then (the first `shown` of) the
    problems each check found."""
    fault, writes, delivery = outcome.fault, outcome.writes, outcome.delivery
    lines = [
        f"{outcome.scenario.name}: {outcome.scenario.title} ({outcome.seconds:.0f} s"
        + (f"; healed first: {', '.join(outcome.healed)}" if outcome.healed else "")
        + (f"; {fault.note}" if fault.note else "")
        + ")",
        f"  back after {fault.back - fault.injected:.1f} s; recovery: "
        + ", ".join(f"{name} {_seconds(value)}" for name, value in outcome.recovery.items()),
        f"  writes: {writes.batches} batches, {writes.trades} trades answered; lost "
        f"{writes.lost}, duplicated {writes.duplicated}, phantom {writes.phantom}, unanswered "
        f"{writes.unanswered}",
        f"  delivery: {delivery.complete}/{delivery.subscribers} subscribers complete, missing "
        f"{delivery.missing}, duplicated {delivery.duplicated}, out of order "
        f"{delivery.out_of_order}, refetch {delivery.gaps}, reconnects {delivery.reconnects}; "
        f"delay p50/p99/max {delay(outcome)}",
        f"  reads: {outcome.reads.reads}, stale {outcome.reads.stale} once Redis was up, "
        f"{outcome.reads.stale_in_outage} while it was down",
        f"  jobs: {outcome.jobs.completed_in_time}/{outcome.jobs.answered} answered complete in "
        f"time ({outcome.jobs.requested} requested), slowest {outcome.jobs.slowest:.1f} s, "
        f"ran twice {outcome.jobs.ran_twice}, orphan rows {outcome.jobs.orphans}",
        "  errors seen: " + "; ".join(f"{f} {outcome.errors.describe(f)}" for f in FAMILIES),
    ]
    for check, problems in outcome.problems().items():
        lines += [f"  ! {check}: {problem}" for problem in problems[:shown]]
        if len(problems) > shown:
            lines.append(f"  ! {check}: ... {len(problems) - shown} more")
    return "\n".join(lines)


def table(outcomes: list[Outcome]) -> str:
    header = [
        "scenario",
        "recovery (per process)",
        "batches / trades",
        "lost / dup / phantom",
        "subscribers complete",
        "delivery delay p50 / p99 / max",
        "stale reads",
        "jobs in time",
        "client errors (writes; reads; jobs; sockets)",
        "checks failing",
    ]
    rows = []
    for o in outcomes:
        failing = [check for check, problems in o.problems().items() if problems]
        rows.append(
            [
                f"{o.scenario.name}: {o.scenario.title}",
                ", ".join(_seconds(v) for v in o.recovery.values()),
                f"{o.writes.batches:,} / {o.writes.trades:,}",
                f"{o.writes.lost} / {o.writes.duplicated} / {o.writes.phantom}",
                f"{o.delivery.complete}/{o.delivery.subscribers}",
                delay(o),
                f"{o.reads.stale} of {o.reads.reads}",
                f"{o.jobs.completed_in_time}/{o.jobs.answered}",
                "; ".join(o.errors.describe(f) for f in FAMILIES),
                ", ".join(failing) or "none",
            ]
        )
    lines = [header, ["---"] * len(header), *rows]
    return "\n".join("| " + " | ".join(cells) + " |" for cells in lines)


def section(outcomes: list[Outcome], load: Load, where: str) -> str:
    """The RESULTS.md section; `where` says when, at which commit, on what machine."""
    return "\n".join(
        [
            START,
            "## Faults (issue 13): `make bench-faults`",
            "",
            f"Run {where}: own PostgreSQL and "
            f"Redis, two API processes and one worker; {load.writers} writers retrying each "
            f"`addTrades` batch under its idempotency key, {load.subscribers} subscribers "
            f"resuming by `seq` (when served), readers on every process, a report requested "
            f"every {load.job_every:g} s. {load.before:g} s of load, the fault, then "
            f"{load.after:g} s after what it stopped is back. Recovery: from the fault to the "
            "first successful write on each process after its last failure. Delay: from the "
            "writer's answer to a subscriber's receipt (negative: the event came first). Checks "
            "failing: see tests/faults/test_faults.py, where each is a test.",
            "",
            table(outcomes),
            "",
            *[f"    {line}" for o in outcomes for line in summary(o, shown=3).splitlines()],
            END,
        ]
    )


def write_results(text: str) -> None:
    """Replace the section of the last run in bench/RESULTS.md, or add it after the title."""
    current = RESULTS.read_text()
    pattern = re.compile(re.escape(START) + ".*?" + re.escape(END), re.DOTALL)
    if pattern.search(current):
        updated = pattern.sub(lambda _: text, current)
    else:
        title, _, rest = current.partition("\n\n")
        updated = f"{title}\n\n{text}\n\n{rest}"
    RESULTS.write_text(updated)

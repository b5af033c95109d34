"""The invariants of a fault run, checked against the database itself after the load: what the
clients were told against what was committed. Each check returns the problems it found (empty
when the invariant held) and the figures worth printing."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import asyncpg

from bench.faults.client import Errors
from bench.faults.load import Batch, Job, Read
from bench.faults.subscribers import Subscriber

# Past this many, a list of ids in a problem is cut short.
SHOWN = 8
JOB_DEADLINE = 30.0  # a job completes within this of a worker being up


@dataclass
class Row:
    id: int
    user_id: int
    currency: str
    amount: Decimal
    seq: int | None


@dataclass
class JobRow:
    id: str
    status: str
    tries: int
    generated_at: str | None


@dataclass
class Snapshot:
    trades: list[Row]
    jobs: dict[str, JobRow]


async def snapshot(dsn: str, currencies: list[str], jobs_user: int) -> Snapshot:
    connection = await asyncpg.connect(dsn, timeout=10)
    try:
        trades = await connection.fetch(
            "SELECT id, user_id, currency, amount, seq FROM trades WHERE currency = ANY($1)",
            currencies,
        )
        jobs = await connection.fetch(
            "SELECT id, status, tries, result FROM jobs WHERE user_id = $1", jobs_user
        )
    finally:
        await connection.close()
    return Snapshot(
        [Row(r["id"], r["user_id"], r["currency"], r["amount"], r["seq"]) for r in trades],
        {r["id"]: JobRow(r["id"], r["status"], r["tries"], _generated(r["result"])) for r in jobs},
    )


def _generated(result: Any) -> str | None:
    value = json.loads(result) if isinstance(result, str) else result
    return value.get("generatedAt") if isinstance(value, dict) else None


def _some(values: Any) -> str:
    values = sorted(values)
    return ", ".join(map(str, values[:SHOWN])) + (" ..." if len(values) > SHOWN else "")


@dataclass
class Writes:
    batches: int = 0
    trades: int = 0
    lost: int = 0
    duplicated: int = 0
    phantom: int = 0
    unanswered: int = 0  # still in retry when the run gave up: their trades are in doubt
    refused: int = 0
    problems: list[str] = field(default_factory=list)


def check_writes(batches: list[Batch], rows: list[Row]) -> Writes:
    """Every answered trade exactly once, as answered; nothing nobody was told about."""
    result = Writes()
    by_id = {row.id: row for row in rows}
    copies = Counter((row.user_id, row.amount) for row in rows)
    told: set[int] = set()
    in_doubt: set[tuple[int, Decimal]] = set()
    for batch in batches:
        if batch.refused is not None:
            result.refused += 1
            result.problems.append(f"batch {batch.key} refused with {batch.refused}")
        elif not batch.ids:
            result.unanswered += 1
            in_doubt.update((batch.user_id, amount) for _, amount in batch.trades)
            continue
        result.batches += 1
        result.trades += len(batch.ids)
        told.update(batch.ids)
        for trade_id, (currency, amount) in zip(batch.ids, batch.trades, strict=True):
            row = by_id.get(trade_id)
            if row is None:
                result.lost += 1
            elif (row.user_id, row.currency, row.amount) != (batch.user_id, currency, amount):
                result.problems.append(f"trade {trade_id} is not what batch {batch.key} sent")
    result.duplicated = sum(n - 1 for n in copies.values() if n > 1)
    phantoms = [r.id for r in rows if r.id not in told and (r.user_id, r.amount) not in in_doubt]
    result.phantom = len(phantoms)
    if result.lost:
        result.problems.append(f"{result.lost} answered trades are not in the database")
    if result.duplicated:
        result.problems.append(f"{result.duplicated} trades were committed more than once")
    if phantoms:
        result.problems.append(f"trades nobody was told about: {_some(phantoms)}")
    if result.unanswered:
        result.problems.append(f"{result.unanswered} batches never got an answer")
    return result


@dataclass
class Delivery:
    subscribers: int = 0
    complete: int = 0  # subscribers that got exactly what they should have, in order
    missing: int = 0
    duplicated: int = 0
    out_of_order: int = 0
    unknown: int = 0
    gaps: int = 0
    reconnects: int = 0
    delays: list[float] = field(default_factory=list)  # answer -> receipt, seconds
    problems: list[str] = field(default_factory=list)


def check_delivery(
    subscribers: list[Subscriber],
    rows: list[Row],
    answered_at: dict[int, float],
    load_trades: set[int],
) -> Delivery:
    """Each subscriber ends with every committed trade of its currency exactly once, in feed
    order (the database's `seq`), from its first receipt on; one that received nothing at all
    is judged against the trades of the load phase."""
    result = Delivery(subscribers=len(subscribers))
    unsequenced = [row.id for row in rows if row.seq is None]
    if unsequenced:
        result.problems.append(f"committed trades without a feed position: {_some(unsequenced)}")
    for subscriber in subscribers:
        mine = [row for row in rows if row.currency == subscriber.currency]
        got = [receipt.id for receipt in subscriber.receipts]
        result.reconnects += max(subscriber.connects - 1, 0)
        result.gaps += len(subscriber.gaps)
        result.delays += [
            r.received - answered_at[r.id] for r in subscriber.receipts if r.id in answered_at
        ]
        problems = []
        if subscriber.receipts:
            first = subscriber.receipts[0].seq or 0
            seqs = {row.id: row.seq for row in mine}
            expected = [row.id for row in sorted(mine, key=_seq) if _seq(row) > first]
            got = got[1:]
            renumbered = [r.id for r in subscriber.receipts if r.seq != seqs.get(r.id, r.seq)]
            if renumbered:
                problems.append(
                    f"subscriber {subscriber.index}: seq differs from the database's for "
                    f"{_some(renumbered)}"
                )
        else:
            expected = sorted(row.id for row in mine if row.id in load_trades)
            got = [t for t in got if t in load_trades or t not in answered_at]
        problems += _compare(subscriber, expected, got, {row.id for row in mine}, result)
        result.problems += problems
        result.complete += not problems
    return result


def _seq(row: Row) -> int:
    return row.seq if row.seq is not None else 2**63


def _compare(
    subscriber: Subscriber, expected: list[int], got: list[int], known: set[int], result: Delivery
) -> list[str]:
    name = f"subscriber {subscriber.index} ({subscriber.currency})"
    problems = [f"{name}: refetch asked {len(subscriber.gaps)} times"] if subscriber.gaps else []
    problems += [f"{name}: error {error}" for error in subscriber.other_errors[:SHOWN]]
    counts = Counter(got)
    missing = [t for t in expected if t not in counts]
    duplicated = [t for t, n in counts.items() if n > 1]
    unknown = [t for t in counts if t not in known]
    result.missing += len(missing)
    result.duplicated += len(duplicated)
    result.unknown += len(unknown)
    if missing:
        problems.append(f"{name}: {len(missing)} of {len(expected)} missing: {_some(missing)}")
    if duplicated:
        problems.append(f"{name}: received more than once: {_some(duplicated)}")
    if unknown:
        problems.append(f"{name}: received trades not committed in its currency: {_some(unknown)}")
    if subscriber.receipts:
        wanted = set(expected)
        order = [t for t in dict.fromkeys(got) if t in wanted]
        if order != [t for t in expected if t in counts]:
            result.out_of_order += 1
            problems.append(f"{name}: not in feed order")
    return problems


@dataclass
class Freshness:
    reads: int = 0
    stale: int = 0  # after Redis was back (or with Redis up throughout)
    stale_in_outage: int = 0
    problems: list[str] = field(default_factory=list)


def check_reads(reads: list[Read], outage: tuple[float, float] | None) -> Freshness:
    """No read returns data older than a write answered before it was sent, once Redis is back."""
    result = Freshness(reads=len(reads))
    stale = [read for read in reads if read.stale]
    during = [read for read in stale if outage is not None and read.sent <= outage[1]]
    result.stale_in_outage = len(during)
    result.stale = len(stale) - len(during)
    after = [read for read in stale if read not in during]
    if after:
        kinds = Counter(f"{read.what} on process {read.process}" for read in after)
        worst = max(after, key=lambda read: read.known - read.seen)
        result.problems.append(
            f"{len(after)} reads older than an answered write ({dict(kinds)}); e.g. "
            f"{worst.what} {worst.seen} read after {worst.known} was answered"
        )
    return result


@dataclass
class Jobs:
    requested: int = 0
    answered: int = 0
    completed_in_time: int = 0
    ran_twice: int = 0
    orphans: int = 0  # job rows whose id no client was given
    slowest: float = 0.0  # seconds from answer (or worker back) to seen complete
    problems: list[str] = field(default_factory=list)


def check_jobs(
    jobs: list[Job],
    requested: int,
    rows: dict[str, JobRow],
    before: set[str],
    worker_back: float | None,
    worker_dead: bool = False,
) -> Jobs:
    """Every job answered completes once, within JOB_DEADLINE of a worker being up; job rows no
    client got an id for are not left failed or unfinished. `worker_dead`: the run stopped
    waiting because no worker was left to run them."""
    result = Jobs(requested=requested, answered=len(jobs))
    for job in jobs:
        start = max(job.answered, worker_back or 0.0)
        row = rows.get(job.id)
        if job.completed is not None:
            result.slowest = max(result.slowest, job.completed - start)
        if (
            job.status != "COMPLETE"
            or job.completed is None
            or job.completed - start > JOB_DEADLINE
        ):
            seen = (
                f"{job.status}"
                if job.completed is None
                else f"{job.status} after {job.completed - start:.1f} s"
            )
            why = (
                "no worker was left to run it"
                if worker_dead
                else f"not COMPLETE within {JOB_DEADLINE:g} s"
            )
            result.problems.append(f"job {job.id}: {seen}, {why}")
            continue
        result.completed_in_time += 1
        if row is not None and row.generated_at != job.generated_at:
            result.ran_twice += 1
            result.problems.append(f"job {job.id}: its report was written again after it completed")
    orphans = [r for r in rows.values() if r.id not in before and r.id not in {j.id for j in jobs}]
    result.orphans = len(orphans)
    for row in orphans:
        if row.status != "complete":
            result.problems.append(f"job {row.id}, whose id no client got, is {row.status}")
    return result


def check_answers(errors: Errors) -> list[str]:
    """Every failure a client saw is one it can retry: a 503 (SERVICE_UNAVAILABLE, SERVER_BUSY)
    or a lost connection, never a 500, an INTERNAL_SERVER_ERROR or an answer without a code."""
    problems = []
    for family, counts in errors.counts.items():
        for kind, count in counts.items():
            status = kind.split()[1] if kind.startswith("HTTP ") else ""
            if (status.startswith("5") and status != "503") or any(
                word in kind for word in ("INTERNAL_SERVER_ERROR", "no code", "malformed")
            ):
                problems.append(f"{family}: {kind} x{count}")
    return problems

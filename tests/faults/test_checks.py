"""The fault runs' checks find what they look for: each invariant broken on purpose, in data
built by hand, is reported (and intact data is not)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bench.faults import checks
from bench.faults.checks import JobRow, Row
from bench.faults.client import Errors
from bench.faults.engine import recovery
from bench.faults.load import Attempt, Batch, Job, Read
from bench.faults.subscribers import Receipt, Subscriber

USER = 7


def batch(key: str, ids: list[int], amounts: list[int], currency: str = "FA") -> Batch:
    return Batch(
        USER,
        key,
        [(currency, Decimal(a)) for a in amounts],
        sent=0.0,
        answered=1.0 if ids else None,
        ids=ids,
    )


def row(id: int, amount: int, seq: int | None = None, currency: str = "FA") -> Row:
    return Row(id, USER, currency, Decimal(amount), seq)


def test_writes_intact() -> None:
    result = checks.check_writes(
        [batch("k1", [1, 2], [10, 11]), batch("k2", [3], [20])],
        [row(1, 10), row(2, 11), row(3, 20)],
    )
    assert (result.batches, result.trades, result.problems) == (2, 3, [])


def test_writes_lost_duplicated_and_phantom() -> None:
    batches = [batch("k1", [1, 2], [10, 11]), batch("k2", [], [20])]
    rows = [row(1, 10), row(5, 10), row(6, 99), row(7, 20)]
    result = checks.check_writes(batches, rows)
    # 2 is lost; 5 repeats trade 10; 6 nobody sent; 7 belongs to the unanswered batch k2.
    assert (result.lost, result.duplicated, result.phantom, result.unanswered) == (1, 1, 2, 1)
    assert len(result.problems) == 4, result.problems


def test_writes_answered_with_other_trades() -> None:
    result = checks.check_writes([batch("k1", [1], [10])], [row(1, 12)])
    assert result.problems == ["trade 1 is not what batch k1 sent"]


def subscriber(seqs: list[tuple[int, int | None]]) -> Subscriber:
    member = Subscriber(0, 0, "FA", "token")
    member.receipts = [Receipt(i, s, "FA", 2.0) for i, s in seqs]
    return member


FEED = [row(1, 10, seq=11), row(2, 11, seq=12), row(3, 12, seq=13), row(4, 13, seq=14)]


def test_delivery_in_order_from_the_first_receipt() -> None:
    member = subscriber([(2, 12), (3, 13), (4, 14)])
    result = checks.check_delivery([member], FEED, {2: 1.5, 3: 1.5, 4: 1.5}, set())
    assert (result.complete, result.problems) == (1, [])
    assert result.delays == [0.5, 0.5, 0.5]


def test_delivery_missing_duplicated_and_out_of_order() -> None:
    missing = subscriber([(1, 11), (2, 12), (4, 14)])
    repeated = subscriber([(1, 11), (2, 12), (2, 12), (3, 13), (4, 14)])
    swapped = subscriber([(1, 11), (3, 13), (2, 12), (4, 14)])
    result = checks.check_delivery([missing, repeated, swapped], FEED, {}, set())
    assert (result.complete, result.missing, result.duplicated, result.out_of_order) == (0, 1, 1, 1)


def test_delivery_refetch_wrong_seq_and_unsequenced_trades() -> None:
    refetched = subscriber([(1, 11), (2, 12), (3, 13), (4, 14)])
    refetched.gaps = ["cannot replay after 11"]
    renumbered = subscriber([(1, 11), (2, 12), (3, 99), (4, 14)])
    result = checks.check_delivery([refetched, renumbered], FEED, {}, set())
    assert result.complete == 0
    assert any("refetch" in p for p in result.problems)
    assert any("seq differs" in p for p in result.problems)
    late = checks.check_delivery([subscriber([(1, 11)])], [*FEED[:1], row(5, 14)], {}, set())
    assert any("without a feed position" in p for p in late.problems)


def read(sent: float, seen: int, known: int) -> Read:
    return Read(0, sent, "ok", "name", seen, known)


def test_stale_reads_count_once_redis_is_back() -> None:
    reads = [read(1.0, 3, 3), read(2.0, 2, 3), read(6.0, 2, 3), read(7.0, 4, 3)]
    assert checks.check_reads(reads, None).stale == 2
    result = checks.check_reads(reads, (1.5, 5.0))
    assert (result.stale, result.stale_in_outage, len(result.problems)) == (1, 1, 1)


def job(id: str, answered: float, completed: float | None, seen: str | None = "t1") -> Job:
    status = "COMPLETE" if completed is not None else "QUEUED"
    return Job(id, answered, completed, status, seen)


def test_jobs_on_time_late_never_twice_and_orphans() -> None:
    jobs = [
        job("on-time", 1.0, 5.0),
        job("late", 1.0, 40.0),
        job("never", 1.0, None),
        job("twice", 1.0, 2.0),
        job("after-worker", 1.0, 35.0),
    ]
    rows = {j.id: JobRow(j.id, "complete", 1, "t2" if j.id == "twice" else "t1") for j in jobs} | {
        "orphan": JobRow("orphan", "failed", 1, None),
        "old": JobRow("old", "queued", 0, None),
    }
    result = checks.check_jobs(jobs, 6, rows, {"old"}, worker_back=None)
    assert result.completed_in_time == 2  # on-time, and twice (in time, but written again)
    assert result.ran_twice == 1
    assert result.orphans == 1
    problems = " ".join(result.problems)
    assert "late" in problems and "never" in problems and "orphan" in problems
    # Counted from the worker being up when it came back after the answer.
    stranded = checks.check_jobs(jobs[2:3], 1, {}, set(), None, worker_dead=True)
    assert stranded.problems == ["job never: QUEUED, no worker was left to run it"]
    late_worker = {"after-worker": rows["after-worker"]}
    assert checks.check_jobs(jobs[-1:], 1, late_worker, set(), worker_back=10.0).problems == []


def test_only_retryable_failures_pass() -> None:
    errors = Errors()
    for kind in ("HTTP 503", "GraphQL SERVICE_UNAVAILABLE", "connection refused", "timeout"):
        errors.add("writes", kind)
    assert checks.check_answers(errors) == []
    errors.add("writes", "HTTP 500")
    errors.add("jobs", "GraphQL INTERNAL_SERVER_ERROR")
    assert checks.check_answers(errors) == [
        "writes: HTTP 500 x1",
        "jobs: GraphQL INTERNAL_SERVER_ERROR x1",
    ]


def test_recovery_counts_from_the_last_failure() -> None:
    attempts = [
        Attempt(0, 9.0, 9.1, "ok"),  # before the fault
        Attempt(0, 10.5, 10.6, "connection refused"),
        Attempt(1, 10.5, 10.7, "ok"),
        Attempt(0, 12.0, 12.1, "connection refused"),
        Attempt(0, 13.0, 13.4, "ok"),
    ]
    assert recovery(attempts, 10.0, 0) == pytest.approx(3.4)
    assert recovery(attempts, 10.0, 1) == pytest.approx(0.7)
    assert recovery(attempts[:2], 10.0, 0) is None

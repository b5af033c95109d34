"""One fault run: load on a healed cluster, the fault, more load, a drain, then the checks.

subscribers connect and see a first trade -> writers, renamer, readers and report requests
for `before` seconds -> the fault (and what restarts after it) -> `after` more seconds ->
load stops (batches in flight finish) -> drain until every subscriber and job is done or
can no longer progress -> the database is read and every invariant checked.
"""

from __future__ import annotations

import asyncio
import secrets
import string
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import httpx

from bench.faults import checks
from bench.faults.accounts import Accounts
from bench.faults.client import OK, Errors, now
from bench.faults.cluster import Cluster
from bench.faults.load import Attempt, Freshness, Jobs, Read, Traffic, Writer
from bench.faults.subscribers import Subscriber, Subscribers

SYNC_TIMEOUT = 30.0
DRAIN_POLL = 0.5
WATCH_POLL = 0.1
# Reports are requested until this long after the fault's recovery, not to the end: each one
# may take 30 s to be known stuck.
JOBS_AFTER = 2.0
# Renames stop this long before the fault, so that readers have cached the last name.
SETTLE = 1.0


@dataclass
class Load:
    """How much load and for how long; the tests use the defaults, the benchmark more."""

    writers: int = 4
    subscribers: int = 6
    pace: float = 0.1  # a writer's pause between batches
    before: float = 2.0  # load before the fault
    after: float = 5.0  # load after what the fault stopped is back
    read_every: float = 0.2
    rename_every: float = 0.5
    job_every: float = 1.0
    outage: float = 3.0  # how long Redis stays down
    drain: float = 20.0  # at most, for subscribers to catch up after the load
    quiet: float = 3.0  # a drain with no delivery for this long is over


@dataclass
class Fault:
    injected: float
    back: float  # what the fault stopped is running again
    redis_down: tuple[float, float] | None = None
    worker_back: float | None = None
    note: str = ""


@dataclass
class Stage:
    """What a fault sees of the run: the cluster and the clients, to time its blow."""

    cluster: Cluster
    traffic: Traffic
    freshness: Freshness
    jobs: Jobs
    load: Load
    background: list[asyncio.Task[Any]] = field(default_factory=list)

    def rename_during_fault(self) -> asyncio.Task[Any]:
        """The one rename after the renamer stopped (SETTLE before the fault), sent now: readers
        must see it from the moment it is answered (and Redis is back) to the end of the run.
        Await it to know it was answered."""
        return self.spawn(self.freshness.rename(self.traffic))

    def spawn(self, work: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.create_task(work)
        self.background.append(task)
        return task


Inject = Callable[[Stage], Awaitable[Fault]]


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    inject: Inject


@dataclass
class Outcome:
    scenario: Scenario
    fault: Fault
    seconds: float
    healed: list[str]
    recovery: dict[str, float | None]
    errors: Errors
    writes: checks.Writes
    delivery: checks.Delivery
    reads: checks.Freshness
    jobs: checks.Jobs
    exits: list[str]
    log: list[Read]  # every freshness read, for a timeline when a check fails

    def problems(self) -> dict[str, list[str]]:
        return {
            "writes": self.writes.problems,
            "delivery": self.delivery.problems,
            "reads": self.reads.problems,
            "jobs": self.jobs.problems,
            "processes": self.exits,
            "answers": checks.check_answers(self.errors),
        }


def recovery(attempts: list[Attempt], fault: float, process: int) -> float | None:
    """From the fault to the first successful write on this process sent after its last
    failure (or after the fault, if it never failed); None if none succeeded."""
    mine = [a for a in attempts if a.process == process and a.sent >= fault]
    failures = [a.sent for a in mine if a.outcome != OK]
    since = max(failures, default=fault)
    answered = [a.answered for a in mine if a.outcome == OK and a.sent >= since]
    return min(answered) - fault if answered else None


async def _watch(cluster: Cluster, exits: list[str], start: float) -> None:
    """Record every exit of a process that the run did not kill itself."""
    seen: set[int] = set()
    while True:
        for service in cluster.services:
            process = service.process
            if process is None or process.poll() is None or process.pid in service.killed:
                continue
            if process.pid not in seen:
                seen.add(process.pid)
                exits.append(
                    f"{service.name} exited with {process.returncode} at +{now() - start:.1f} s"
                )
        await asyncio.sleep(WATCH_POLL)


def _currencies(tag: str, scenario: int) -> list[str]:
    return [f"F{tag}{scenario}{letter}" for letter in "AB"]


async def run(
    cluster: Cluster, accounts: Accounts, scenario: Scenario, number: int, load: Load
) -> Outcome:
    """Run one scenario on the cluster (healed first) and check it."""
    healed = await asyncio.to_thread(cluster.heal)
    tag = "".join(secrets.choice(string.ascii_uppercase) for _ in range(3))
    currencies = _currencies(tag, number)
    writers = accounts.writers[: load.writers]
    for writer in writers:
        writer.currencies = currencies
        writer.prefix = f"{tag}{number}"
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=50)
    async with httpx.AsyncClient(limits=limits) as http:
        traffic = Traffic(http, cluster.api_urls)
        freshness = Freshness(accounts.renamed, writers[0], writers[0].account.token)
        jobs = Jobs(accounts.jobs)
        stage = Stage(cluster, traffic, freshness, jobs, load)
        exits: list[str] = []
        started = now()
        watcher = asyncio.create_task(_watch(cluster, exits, started))
        subscribers = Subscribers(
            [
                Subscriber(
                    n,
                    n % len(traffic.urls),
                    currencies[n % len(currencies)],
                    accounts.renamed.token,
                )
                for n in range(load.subscribers)
            ]
        )
        subscribers.start(traffic.urls, traffic.errors)
        await _sync(traffic, writers[0], subscribers)
        synced = now()
        jobs_before = set((await checks.snapshot(cluster.dsn, [], accounts.jobs.id)).jobs)
        clients = [asyncio.create_task(w.run(traffic, load.pace)) for w in writers]
        clients.append(asyncio.create_task(freshness.keep_renaming(traffic, load.rename_every)))
        clients += [
            asyncio.create_task(freshness.keep_reading(traffic, p, load.read_every))
            for p in range(len(traffic.urls))
        ]
        clients.append(asyncio.create_task(jobs.keep_requesting(traffic, load.job_every)))
        await asyncio.sleep(max(load.before - SETTLE, 0))
        freshness.renaming.clear()  # every process caches the last name before the fault
        await asyncio.sleep(SETTLE)
        fault = await scenario.inject(stage)
        jobs.until = fault.back + JOBS_AFTER
        await asyncio.sleep(max(fault.back + load.after - now(), 0))
        traffic.stop()
        await asyncio.gather(*clients)
        await asyncio.gather(*stage.background)
        await _drain(cluster, accounts, subscribers, traffic, jobs, fault, currencies, synced, load)
        snapshot = await checks.snapshot(cluster.dsn, currencies, accounts.jobs.id)
        await subscribers.stop()
        for task in [watcher, *jobs.followers]:
            task.cancel()
    load_trades = {i for b in traffic.batches if b.sent >= synced for i in b.ids}
    return Outcome(
        scenario=scenario,
        fault=fault,
        seconds=now() - started,
        healed=healed,
        recovery={
            cluster.apis[p].name: recovery(traffic.attempts, fault.injected, p)
            for p in range(len(cluster.apis))
        },
        errors=traffic.errors,
        writes=checks.check_writes(traffic.batches, snapshot.trades),
        delivery=checks.check_delivery(
            subscribers.members, snapshot.trades, traffic.answered_at, load_trades
        ),
        reads=checks.check_reads(freshness.reads, fault.redis_down),
        jobs=checks.check_jobs(
            jobs.jobs,
            jobs.requests,
            snapshot.jobs,
            jobs_before,
            fault.worker_back,
            worker_dead=not cluster.worker.alive,
        ),
        exits=exits,
        log=freshness.reads,
    )


async def _sync(traffic: Traffic, writer: Writer, subscribers: Subscribers) -> None:
    """Write a trade in every currency until every subscriber has received one: from then on
    each of them is known to be subscribed."""
    deadline = now() + SYNC_TIMEOUT
    while not all(s.receipts for s in subscribers.members):
        if now() > deadline:
            waiting = [s.index for s in subscribers.members if not s.receipts]
            raise RuntimeError(f"subscribers {waiting} received nothing in {SYNC_TIMEOUT:g} s")
        await writer.write(traffic, len(writer.currencies))
        await asyncio.sleep(0.3)


async def _drain(
    cluster: Cluster,
    accounts: Accounts,
    subscribers: Subscribers,
    traffic: Traffic,
    jobs: Jobs,
    fault: Fault,
    currencies: list[str],
    synced: float,
    load: Load,
) -> None:
    """Wait until every subscriber has all it should (or has had nothing new for `quiet`
    seconds) and every job is done (or past its deadline)."""
    job_deadline = (
        max([max(j.answered, fault.worker_back or 0) for j in jobs.jobs], default=now())
        + checks.JOB_DEADLINE
        + 1
    )
    deadline = now() + load.drain
    received, progress = -1, now()
    delivered = False
    while True:
        if not delivered:
            count = sum(len(s.receipts) for s in subscribers.members)
            if count != received:
                received, progress = count, now()
            snapshot = await checks.snapshot(cluster.dsn, currencies, accounts.jobs.id)
            load_trades = {i for b in traffic.batches if b.sent >= synced for i in b.ids}
            result = checks.check_delivery(
                subscribers.members, snapshot.trades, traffic.answered_at, load_trades
            )
            delivered = not result.problems or now() - progress > load.quiet or now() > deadline
        # A dead worker runs nothing more: waiting for its jobs' deadlines would tell no more.
        waited = not jobs.followers or now() > job_deadline or not cluster.worker.alive
        if delivered and waited:
            return
        await asyncio.sleep(DRAIN_POLL)

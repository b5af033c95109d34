"""The clients of a fault run over HTTP: writers that retry a batch under its idempotency key until
it is answered, a renamer and readers that look for reads older than an answered write, and
report requests that are followed until their job completes."""

from __future__ import annotations

import asyncio
import itertools
import math
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx

from bench.faults.client import Answer, Errors, gql, now

ADD_TRADES = (
    "mutation($t: [TradeInput!]!, $key: String) "
    "{ addTrades(trades: $t, idempotencyKey: $key) { id } }"
)
RENAME = (
    "mutation($id: Int!, $name: String!) { changeUserName(userId: $id, newName: $name) { id } }"
)
# Lists, which the result cache keeps (a row by id goes to the database), and apart: a cached
# answer is tagged with everything it read, so the trades written all the time would hide a
# stale name. The runs' accounts are among the first hundred users.
READ_NAME = "{ users(limit: 100) { id name } }"
READ_TRADES = "query($w: Int!) { trades(userId: $w, limit: 1) { id } }"
REQUEST_REPORT = "mutation { requestTradeReport { id } }"
JOB = "query($id: String!) { job(id: $id) { status report { generatedAt } } }"
NAME_PREFIX = "Faults "
FIRST_BACKOFF, MAX_BACKOFF = 0.05, 1.0
# A batch still unanswered this long after the load stopped is given up (and reported).
GIVE_UP_AFTER = 60.0
JOB_POLL_SECONDS = 0.25


@dataclass
class Account:
    id: int
    token: str


@dataclass
class Attempt:
    """One request of a write, for recovery times: where it went, when, what came back."""

    process: int
    sent: float
    answered: float
    outcome: str


@dataclass
class Batch:
    user_id: int
    key: str
    trades: list[tuple[str, Decimal]]  # (currency, amount): the amount names the trade
    sent: float
    answered: float | None = None
    ids: list[int] = field(default_factory=list)
    refused: str | None = None  # a final error code instead of trades


@dataclass
class Traffic:
    """What every client of one run shares: where the processes are, what they answered."""

    http: httpx.AsyncClient
    urls: list[str]
    errors: Errors = field(default_factory=Errors)
    attempts: list[Attempt] = field(default_factory=list)
    batches: list[Batch] = field(default_factory=list)
    answered_at: dict[int, float] = field(default_factory=dict)  # trade id -> answer time
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    stopped_at: float = math.inf

    async def until_final(
        self, family: str, home: int, token: str, query: str, variables: dict[str, Any]
    ) -> Answer:
        """Send until the answer is final, each retry to the next process (a load balancer's
        choice), backing off; gives up GIVE_UP_AFTER seconds after the load stopped."""
        backoff = FIRST_BACKOFF
        for attempt in itertools.count():
            process = (home + attempt) % len(self.urls)
            sent = now()
            answer = await gql(self.http, self.urls[process], token, query, variables)
            if family == "writes":
                self.attempts.append(Attempt(process, sent, now(), answer.outcome))
            if answer.final:
                return answer
            self.errors.add(family, answer.outcome)
            if self.stopping.is_set() and now() - self.stopped_at > GIVE_UP_AFTER:
                return answer
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF)
        raise AssertionError("unreachable")

    def stop(self) -> None:
        """No new batches, reads or reports; batches in flight go on until answered."""
        self.stopped_at = now()
        self.stopping.set()


@dataclass
class Writer:
    """Sends `addTrades` batches one after another, each under a key of its own."""

    index: int
    account: Account
    currencies: list[str]
    prefix: str  # makes keys unique per run
    counter: itertools.count[int]  # the account's batch numbers, across runs
    newest_answered: int = 0  # the largest trade id answered so far (read freshness)

    async def write(self, traffic: Traffic, size: int) -> Batch:
        number = next(self.counter)
        trades = [
            (self.currencies[(self.index + j) % len(self.currencies)], Decimal(number * 10 + j + 1))
            for j in range(size)
        ]
        batch = Batch(self.account.id, f"{self.prefix}-w{self.index}-{number}", trades, now())
        traffic.batches.append(batch)
        variables = {
            "key": batch.key,
            "t": [
                {"currency": c, "side": "BUY", "price": "1", "amount": str(a)} for c, a in trades
            ],
        }
        answer = await traffic.until_final(
            "writes", self.index, self.account.token, ADD_TRADES, variables
        )
        if answer.ok and answer.data is not None:
            batch.answered = now()
            batch.ids = [trade["id"] for trade in answer.data["addTrades"]]
            for trade_id in batch.ids:
                traffic.answered_at[trade_id] = batch.answered
            self.newest_answered = max(self.newest_answered, *batch.ids)
        elif answer.final:
            batch.refused = answer.code
        return batch

    async def run(self, traffic: Traffic, pace: float) -> None:
        for size in itertools.cycle((1, 2, 3)):
            if traffic.stopping.is_set():
                return
            await self.write(traffic, size)
            await asyncio.sleep(pace)


@dataclass
class Read:
    process: int
    sent: float
    outcome: str
    what: str = ""  # "name" or "trades"
    seen: int = 0  # the rename number, or the newest trade id, read
    known: int = 0  # the newest answered before the read was sent

    @property
    def stale(self) -> bool:
        return self.seen < self.known


@dataclass
class Freshness:
    """A user renamed now and then, and readers on every process that compare what they read
    with the last rename and the newest trade of one writer answered before they asked."""

    renamed: Account
    watched: Writer
    reader_token: str
    renames: int = 0  # the number in the last answered name
    reads: list[Read] = field(default_factory=list)
    renaming: asyncio.Event = field(default_factory=asyncio.Event)

    async def rename(self, traffic: Traffic) -> None:
        """Renames go to the second process first (the one a fault may crash while Redis is
        down); readers read on every process."""
        number = self.renames + 1
        variables = {"id": self.renamed.id, "name": f"{NAME_PREFIX}{number}"}
        answer = await traffic.until_final("writes", 1, self.renamed.token, RENAME, variables)
        if answer.ok:
            self.renames = max(self.renames, number)

    async def keep_renaming(self, traffic: Traffic, every: float) -> None:
        """Renames until `renaming` is cleared: the run renames once more during its fault and
        then no more, so that a rename lost by the cache would show for the rest of the run."""
        self.renaming.set()
        while self.renaming.is_set() and not traffic.stopping.is_set():
            await self.rename(traffic)
            await asyncio.sleep(every)

    async def keep_reading(self, traffic: Traffic, process: int, every: float) -> None:
        while not traffic.stopping.is_set():
            await self.read_name(traffic, process)
            await self.read_trades(traffic, process)
            await asyncio.sleep(every)

    async def read_name(self, traffic: Traffic, process: int) -> None:
        sent, renames = now(), self.renames
        answer = await gql(traffic.http, traffic.urls[process], self.reader_token, READ_NAME)
        read = self._read(traffic, process, sent, answer, "name", renames)
        if answer.ok and answer.data is not None:
            users = {user["id"]: user["name"] for user in answer.data["users"]}
            name = users[self.renamed.id]
            read.seen = int(name.removeprefix(NAME_PREFIX)) if name.startswith(NAME_PREFIX) else 0

    async def read_trades(self, traffic: Traffic, process: int) -> None:
        sent, newest = now(), self.watched.newest_answered
        variables = {"w": self.watched.account.id}
        answer = await gql(
            traffic.http, traffic.urls[process], self.reader_token, READ_TRADES, variables
        )
        read = self._read(traffic, process, sent, answer, "trades", newest)
        if answer.ok and answer.data is not None:
            trades = answer.data["trades"]
            read.seen = trades[0]["id"] if trades else 0

    def _read(
        self, traffic: Traffic, process: int, sent: float, answer: Answer, what: str, known: int
    ) -> Read:
        read = Read(process, sent, answer.outcome, what, known=known)
        if not answer.ok:
            read.seen = known  # nothing was read, so nothing stale
            traffic.errors.add("reads", answer.outcome)
        self.reads.append(read)
        return read


@dataclass
class Job:
    id: str
    answered: float
    completed: float | None = None
    status: str | None = None
    generated_at: str | None = None  # of the report first seen complete


@dataclass
class Jobs:
    """Trade reports requested now and then, each followed with `job(id)` until it is done."""

    account: Account
    jobs: list[Job] = field(default_factory=list)
    requests: int = 0
    followers: set[asyncio.Task[None]] = field(default_factory=set)
    until: float = math.inf  # no requests after this: the run waits for each job's deadline

    async def request(self, traffic: Traffic, process: int) -> Job | None:
        """One request, not retried (a retry would queue another job): the job, or None."""
        self.requests += 1
        url = traffic.urls[process]
        answer = await gql(traffic.http, url, self.account.token, REQUEST_REPORT)
        if not answer.ok or answer.data is None:
            traffic.errors.add("jobs", answer.outcome)
            return None
        job = Job(answer.data["requestTradeReport"]["id"], now())
        self.jobs.append(job)
        task = asyncio.create_task(self.follow(traffic, job, process))
        self.followers.add(task)
        task.add_done_callback(self.followers.discard)
        return job

    async def follow(self, traffic: Traffic, job: Job, process: int) -> None:
        """Poll until the job is done; the run cancels what is left at its deadline."""
        for attempt in itertools.count():
            url = traffic.urls[(process + attempt) % len(traffic.urls)]
            answer = await gql(traffic.http, url, self.account.token, JOB, {"id": job.id})
            if answer.ok and answer.data is not None and answer.data["job"] is not None:
                job.status = answer.data["job"]["status"]
                if job.status in ("COMPLETE", "FAILED"):
                    job.completed = now()
                    report = answer.data["job"]["report"]
                    job.generated_at = report["generatedAt"] if report else None
                    return
            elif not answer.ok:
                traffic.errors.add("jobs", answer.outcome)
            await asyncio.sleep(JOB_POLL_SECONDS)

    async def keep_requesting(self, traffic: Traffic, every: float) -> None:
        for process in itertools.cycle(range(len(traffic.urls))):
            if traffic.stopping.is_set() or now() > self.until:
                return
            await self.request(traffic, process)
            await asyncio.sleep(every)

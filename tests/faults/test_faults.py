"""Faults heal (issue 13): during a kill -9 of an API process, a PostgreSQL restart, a Redis
restart (with its data, an API process crashing meanwhile, and empty) and a kill -9 of the
worker, under writers that retry by idempotency key, subscribers that resume by `seq`, readers
on every process and report requests:

- writes: 0 trades lost, duplicated or phantom, every batch answered;
- delivery: every subscriber ends with every committed trade of its currency exactly once, in
  feed order (the database's `trades.seq`);
- reads: none returns data older than a write already answered, once Redis is back;
- jobs: every job answered completes once, within 30 s of a worker being up, and no job row
  whose id no client got is left failed or unfinished;
- processes: the worker and the API processes stay up (except the one a fault kills);
- answers: every failure a client sees is retryable (503, SERVICE_UNAVAILABLE, a lost
  connection), never a 500 or INTERNAL_SERVER_ERROR.

Checks that fail before the rest of issue 13 is merged are in PENDING, strict: when one starts
to pass, its entry must go.
"""

from __future__ import annotations

import pytest

from bench.faults.report import summary
from bench.faults.scenarios import SCENARIOS
from tests.faults.runs import Runs

pytestmark = pytest.mark.faults

# (scenario, check): why it fails today. Strict: an entry whose check passes fails the run.
PENDING: dict[tuple[str, str], str] = {}


def cases(check: str) -> list[object]:
    return [
        pytest.param(
            scenario.name,
            id=scenario.name,
            marks=(
                [pytest.mark.xfail(strict=True, reason=PENDING[(scenario.name, check)])]
                if (scenario.name, check) in PENDING
                else []
            ),
        )
        for scenario in SCENARIOS
    ]


def check(runs: Runs, scenario: str, name: str) -> None:
    outcome = runs.outcome(scenario)
    assert outcome.problems()[name] == [], summary(outcome)


@pytest.mark.parametrize("scenario", cases("writes"))
def test_no_trade_lost_duplicated_or_phantom(runs: Runs, scenario: str) -> None:
    check(runs, scenario, "writes")


@pytest.mark.parametrize("scenario", cases("delivery"))
def test_every_subscriber_gets_every_trade_once_in_order(runs: Runs, scenario: str) -> None:
    check(runs, scenario, "delivery")


@pytest.mark.parametrize("scenario", cases("reads"))
def test_no_read_older_than_an_answered_write(runs: Runs, scenario: str) -> None:
    check(runs, scenario, "reads")


@pytest.mark.parametrize("scenario", cases("jobs"))
def test_every_job_completes_once_in_time(runs: Runs, scenario: str) -> None:
    check(runs, scenario, "jobs")


@pytest.mark.parametrize("scenario", cases("processes"))
def test_worker_and_service_stay_up(runs: Runs, scenario: str) -> None:
    check(runs, scenario, "processes")


@pytest.mark.parametrize("scenario", cases("answers"))
def test_clients_see_only_retryable_failures(runs: Runs, scenario: str) -> None:
    check(runs, scenario, "answers")


def test_the_worker_is_killed_while_a_report_runs(runs: Runs) -> None:
    """Else the worker-kill scenario would not test an abandoned job."""
    outcome = runs.outcome("worker-kill")
    assert outcome.fault.note.startswith("killed while job"), summary(outcome)


def test_the_faults_reach_the_clients(runs: Runs) -> None:
    """Else the checks above could hold for want of a fault: while an API process is down its
    connections are refused, and it serves writes again once it is back."""
    outcome = runs.outcome("api-kill")
    assert outcome.errors.counts["writes"]["connection refused"] > 0, summary(outcome)
    assert all(value is not None for value in outcome.recovery.values()), summary(outcome)

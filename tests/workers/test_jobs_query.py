"""`jobs(limit, offset, status)`: the admins' list of recent jobs, the API's answer to Flower."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import insert

from db.models import Job
from db.types import utcnow
from services import Services
from tests.utils.api import Api
from tests.utils.graphql import REQUEST_TRADE_REPORT, error_code, insert_users

JOBS = """
query Jobs($limit: Int! = 10, $offset: Int! = 0, $status: JobStatus) {
  jobs(limit: $limit, offset: $offset, status: $status) {
    id kind userId status tries enqueuedAt startedAt finishedAt error
  }
}
"""
# Oldest first, one minute apart: (id, status, tries, error).
HISTORY = [
    ("job-1", "complete", 1, None),
    ("job-2", "failed", 3, "report failed: timed out"),
    ("job-3", "complete", 2, None),
    ("job-4", "in_progress", 1, None),
    ("job-5", "queued", 0, None),
]


async def seed_jobs(services: Services) -> int:
    """The HISTORY jobs of one user, enqueued a minute apart; the user's id."""
    [user_id] = await insert_users(services, 1)
    start = utcnow() - timedelta(hours=1)
    rows = [
        {
            "id": job_id,
            "kind": "build_trade_report",
            "user_id": user_id,
            "arguments": {"user_id": user_id},
            "status": status,
            "tries": tries,
            "error": error,
            "enqueued_at": start + timedelta(minutes=n),
            "started_at": start + timedelta(minutes=n, seconds=1) if tries else None,
            "finished_at": (
                start + timedelta(minutes=n, seconds=2)
                if status in ("complete", "failed")
                else None
            ),
        }
        for n, (job_id, status, tries, error) in enumerate(HISTORY)
    ]
    async with services.sessions.begin() as session:
        await session.execute(insert(Job), rows)
    return user_id


async def list_jobs(api: Api, token: str, **variables: Any) -> list[dict[str, Any]]:
    body = await api.gql(JOBS, variables, token=token)
    assert "errors" not in body, body
    jobs: list[dict[str, Any]] = body["data"]["jobs"]
    return jobs


async def test_admins_see_jobs_newest_first(api: Api, services: Services) -> None:
    user_id = await seed_jobs(services)
    jobs = await list_jobs(api, await api.admin_token())
    assert [j["id"] for j in jobs] == ["job-5", "job-4", "job-3", "job-2", "job-1"]
    failed = jobs[3]
    assert failed == {
        "id": "job-2",
        "kind": "build_trade_report",
        "userId": user_id,
        "status": "FAILED",
        "tries": 3,
        "enqueuedAt": failed["enqueuedAt"],
        "startedAt": failed["startedAt"],
        "finishedAt": failed["finishedAt"],
        "error": "report failed: timed out",
    }
    assert failed["enqueuedAt"] < failed["startedAt"] < failed["finishedAt"]
    assert (jobs[0]["status"], jobs[0]["startedAt"], jobs[0]["finishedAt"]) == (
        "QUEUED",
        None,
        None,
    )


async def test_jobs_filter_by_status(api: Api, services: Services) -> None:
    await seed_jobs(services)
    token = await api.admin_token()
    assert [j["id"] for j in await list_jobs(api, token, status="COMPLETE")] == ["job-3", "job-1"]
    assert [j["id"] for j in await list_jobs(api, token, status="IN_PROGRESS")] == ["job-4"]
    assert await list_jobs(api, token, status="NOT_FOUND") == []


async def test_jobs_pages_do_not_overlap(api: Api, services: Services) -> None:
    await seed_jobs(services)
    token = await api.admin_token()
    pages = [await list_jobs(api, token, limit=2, offset=offset) for offset in (0, 2, 4, 6)]
    assert [[j["id"] for j in page] for page in pages] == [
        ["job-5", "job-4"],
        ["job-3", "job-2"],
        ["job-1"],
        [],
    ]
    complete = await list_jobs(api, token, status="COMPLETE", limit=1, offset=1)
    assert [j["id"] for j in complete] == ["job-1"]


async def test_jobs_lists_a_requested_report(api: Api, services: Services) -> None:
    """Through the API end to end: a report requested in-process shows up, complete."""
    user_id, token = await api.signup("alice@example.com", "Alice")
    job_id = (await api.gql(REQUEST_TRADE_REPORT, token=token))["data"]["requestTradeReport"]["id"]
    await services.jobs.drain()
    [job] = await list_jobs(api, await api.admin_token())
    assert (job["id"], job["userId"], job["status"], job["tries"], job["error"]) == (
        job_id,
        user_id,
        "COMPLETE",
        1,
        None,
    )


@pytest.mark.parametrize(
    ("variables", "argument"), [({"limit": 101}, "limit"), ({"offset": -1}, "offset")]
)
async def test_jobs_page_is_validated(api: Api, variables: dict[str, Any], argument: str) -> None:
    body = await api.gql(JOBS, variables, token=await api.admin_token())
    assert error_code(body) == "BAD_USER_INPUT"
    assert body["errors"][0]["extensions"]["argument"] == argument


async def test_jobs_are_forbidden_to_users(api: Api, services: Services) -> None:
    await seed_jobs(services)
    _, token = await api.signup("alice@example.com", "Alice")
    body = await api.gql(JOBS, token=token)
    assert error_code(body) == "FORBIDDEN"
    assert body["data"] is None


async def test_jobs_need_a_sign_in(api: Api, services: Services) -> None:
    await seed_jobs(services)
    body = await api.gql(JOBS)
    assert error_code(body) == "UNAUTHENTICATED"
    assert body["data"] is None

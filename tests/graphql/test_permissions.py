"""Who may read and do what: anonymous clients, users, other users and admins."""

from __future__ import annotations

from typing import Any

import pytest

from db.models import Degree, Job, Trade
from services import Services
from tests.utils.accounts import Account
from tests.utils.api import Api
from tests.utils.graphql import (
    ADD_DEGREE,
    ADD_TRADES,
    CHANGE_USER_NAME,
    JOB,
    REQUEST_TRADE_REPORT,
    add_trades,
    added,
    count_rows,
    error_code,
    only_error,
    trade,
    user_name,
)

# Every contract field but `me`, called by an anonymous client: (document, variables).
ANONYMOUS_CALLS: dict[str, tuple[str, dict[str, Any]]] = {
    "user": ("{ user(id: 1) { id } }", {}),
    "users": ("{ users { id } }", {}),
    "trade": ("{ trade(id: 1) { id } }", {}),
    "trades": ("{ trades { id } }", {}),
    "job": ('{ job(id: "00000000-0000-0000-0000-000000000000") { id status } }', {}),
    "addTrades": (ADD_TRADES, {"trades": [{**trade(), "userId": 1}]}),
    "changeUserName": (CHANGE_USER_NAME, {"userId": 1, "newName": "Mallory"}),
    "addDegree": (ADD_DEGREE, {"userId": 1, "name": "EXPERT"}),
    "requestTradeReport": (REQUEST_TRADE_REPORT, {}),
}


@pytest.mark.parametrize("field", list(ANONYMOUS_CALLS))
async def test_anonymous_calls_are_unauthenticated(
    api: Api, services: Services, admin: Account, field: str
) -> None:
    """Anonymous calls fail with UNAUTHENTICATED and change nothing (user 1 is the admin)."""
    assert admin.id == 1
    document, variables = ANONYMOUS_CALLS[field]
    body = await api.gql(document, variables)
    error = only_error(body)
    assert error["path"] == [field]
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    assert body["data"] is None or body["data"][field] is None
    assert await count_rows(services, Trade) == 0
    assert await count_rows(services, Degree) == 0
    assert await count_rows(services, Job) == 0
    assert await user_name(api, admin.token, admin.id) == "Admin"


async def test_me_needs_no_sign_in(api: Api) -> None:
    assert await api.gql("{ me { id } }") == {"data": {"me": None}}


async def test_an_invalid_token_is_refused_not_anonymous(api: Api) -> None:
    """A client can tell "my session ended" from "signed out": the whole request is refused."""
    body = await api.gql("{ me { id } }", token="not-a-token")
    assert body["data"] is None
    assert error_code(body) == "UNAUTHENTICATED"
    assert error_code(await api.gql("{ users { id } }", token="not-a-token")) == ("UNAUTHENTICATED")


# --- addTrades for another user --------------------------------------------------------------


async def test_user_cannot_add_trades_for_someone_else(
    api: Api, services: Services, alice: Account, bob: Account
) -> None:
    body = await add_trades(api, alice.token, [trade(), trade(user_id=bob.id)])
    error = only_error(body)
    assert error["extensions"]["code"] == "FORBIDDEN"
    assert "trades[1].userId" in error["message"]
    assert await count_rows(services, Trade) == 0


async def test_user_may_name_themself_as_user_id(api: Api, alice: Account) -> None:
    [stored] = await added(api, alice.token, [trade(user_id=alice.id)])
    assert stored["userId"] == alice.id


async def test_admin_can_add_trades_for_another_user(
    api: Api, admin: Account, alice: Account
) -> None:
    stored = await added(api, admin.token, [trade(user_id=alice.id), trade("ETH")])
    assert [(t["userId"], t["user"]["id"]) for t in stored] == [
        (alice.id, alice.id),
        (admin.id, admin.id),
    ]
    mine = await api.gql("{ me { trades { id } } }", token=alice.token)
    assert mine["data"]["me"]["trades"] == [{"id": stored[0]["id"]}]


# --- changeUserName --------------------------------------------------------------------------


async def rename(api: Api, token: str, user_id: int, new_name: str) -> dict[str, Any]:
    return await api.gql(CHANGE_USER_NAME, {"userId": user_id, "newName": new_name}, token=token)


async def test_user_can_rename_themself(api: Api, alice: Account) -> None:
    body = await rename(api, alice.token, alice.id, "Alicia")
    assert body == {"data": {"changeUserName": {"id": alice.id, "name": "Alicia"}}}
    assert await user_name(api, alice.token, alice.id) == "Alicia"


async def test_user_cannot_rename_someone_else(api: Api, alice: Account, bob: Account) -> None:
    body = await rename(api, alice.token, bob.id, "Bobby Tables")
    assert error_code(body) == "FORBIDDEN"
    assert body["data"] is None
    assert await user_name(api, bob.token, bob.id) == "Bob"


async def test_admin_can_rename_anyone(api: Api, admin: Account, bob: Account) -> None:
    body = await rename(api, admin.token, bob.id, "Robert")
    assert body == {"data": {"changeUserName": {"id": bob.id, "name": "Robert"}}}
    assert await user_name(api, bob.token, bob.id) == "Robert"


async def test_renaming_an_unknown_user_is_not_found(api: Api, admin: Account) -> None:
    body = await rename(api, admin.token, 999999, "Nobody")
    assert error_code(body) == "NOT_FOUND"
    assert body["data"] is None


# --- addDegree -------------------------------------------------------------------------------


async def add_degree(api: Api, token: str, user_id: int, name: str) -> dict[str, Any]:
    return await api.gql(ADD_DEGREE, {"userId": user_id, "name": name}, token=token)


async def test_user_cannot_add_degrees(
    api: Api, services: Services, alice: Account, bob: Account
) -> None:
    for user_id in (alice.id, bob.id):
        body = await add_degree(api, alice.token, user_id, "EXPERT")
        assert error_code(body) == "FORBIDDEN"
    assert await count_rows(services, Degree) == 0


@pytest.mark.parametrize("name", ["NEWBIE", "EXPERT"])
async def test_admin_can_add_degrees(api: Api, admin: Account, alice: Account, name: str) -> None:
    body = await add_degree(api, admin.token, alice.id, name)
    assert "errors" not in body, body
    degree = body["data"]["addDegree"]
    assert degree["name"] == name
    query = "query($id: Int!) { user(id: $id) { degrees { id name createdAt } } }"
    shown = await api.gql(query, {"id": alice.id}, token=alice.token)
    assert shown == {"data": {"user": {"degrees": [degree]}}}


async def test_degree_for_unknown_user_is_not_found(
    api: Api, services: Services, admin: Account
) -> None:
    body = await add_degree(api, admin.token, 999999, "NEWBIE")
    assert error_code(body) == "NOT_FOUND"
    assert await count_rows(services, Degree) == 0


@pytest.mark.parametrize("name", ["MASTER", "newbie"])
async def test_unknown_degree_name_is_rejected(
    api: Api, services: Services, admin: Account, alice: Account, name: str
) -> None:
    body = await add_degree(api, admin.token, alice.id, name)
    assert error_code(body) in {"BAD_USER_INPUT", "GRAPHQL_VALIDATION_FAILED"}
    assert await count_rows(services, Degree) == 0


# --- email visibility ------------------------------------------------------------------------


async def test_email_of_others_is_hidden_in_user(api: Api, alice: Account, bob: Account) -> None:
    query = "query($id: Int!) { user(id: $id) { id email } }"
    theirs = await api.gql(query, {"id": bob.id}, token=alice.token)
    assert theirs == {"data": {"user": {"id": bob.id, "email": None}}}
    own = await api.gql(query, {"id": alice.id}, token=alice.token)
    assert own == {"data": {"user": {"id": alice.id, "email": "alice@example.com"}}}


async def test_email_of_others_is_hidden_in_users(
    api: Api, admin: Account, alice: Account, bob: Account
) -> None:
    body = await api.gql("{ users { id email } }", token=alice.token)
    assert body["data"]["users"] == [
        {"id": admin.id, "email": None},
        {"id": alice.id, "email": "alice@example.com"},
        {"id": bob.id, "email": None},
    ]


async def test_email_of_others_is_hidden_in_trade_user(
    api: Api, alice: Account, bob: Account
) -> None:
    await added(api, alice.token, [trade()])
    await added(api, bob.token, [trade()])
    body = await api.gql("{ trades { user { id email } } }", token=alice.token)
    assert body["data"]["trades"] == [
        {"user": {"id": bob.id, "email": None}},
        {"user": {"id": alice.id, "email": "alice@example.com"}},
    ]


async def test_admin_sees_every_email(
    api: Api, admin: Account, alice: Account, bob: Account
) -> None:
    await added(api, bob.token, [trade()])
    body = await api.gql(
        """query($id: Int!) {
          user(id: $id) { email }
          users { id email }
          trades { user { email } }
        }""",
        {"id": alice.id},
        token=admin.token,
    )
    assert body == {
        "data": {
            "user": {"email": "alice@example.com"},
            "users": [
                {"id": admin.id, "email": "admin@example.com"},
                {"id": alice.id, "email": "alice@example.com"},
                {"id": bob.id, "email": "bob@example.com"},
            ],
            "trades": [{"user": {"email": "bob@example.com"}}],
        }
    }


# --- job -------------------------------------------------------------------------------------


async def request_report(api: Api, token: str) -> str:
    body = await api.gql(REQUEST_TRADE_REPORT, token=token)
    assert "errors" not in body, body
    job_id: str = body["data"]["requestTradeReport"]["id"]
    return job_id


async def test_job_of_another_user_reads_as_not_found(
    api: Api, services: Services, alice: Account, bob: Account
) -> None:
    await added(api, alice.token, [trade()])
    job_id = await request_report(api, alice.token)
    await services.jobs.drain()
    body = await api.gql(JOB, {"id": job_id}, token=bob.token)
    assert body == {"data": {"job": {"id": job_id, "status": "NOT_FOUND", "report": None}}}
    own = await api.gql(JOB, {"id": job_id}, token=alice.token)
    assert own["data"]["job"]["status"] == "COMPLETE"


async def test_admin_sees_any_job(
    api: Api, services: Services, admin: Account, alice: Account
) -> None:
    await added(api, alice.token, [trade()])
    job_id = await request_report(api, alice.token)
    await services.jobs.drain()
    job = (await api.gql(JOB, {"id": job_id}, token=admin.token))["data"]["job"]
    assert (job["id"], job["status"], job["report"]["userId"]) == (job_id, "COMPLETE", alice.id)
    assert [c["currency"] for c in job["report"]["currencies"]] == ["BTC"]


@pytest.mark.parametrize("job_id", ["00000000-0000-0000-0000-000000000000", "no-such-job", ""])
async def test_unknown_job_is_not_found(api: Api, admin: Account, job_id: str) -> None:
    body = await api.gql(JOB, {"id": job_id}, token=admin.token)
    assert body == {"data": {"job": {"id": job_id, "status": "NOT_FOUND", "report": None}}}


async def test_job_id_must_match_exactly(api: Api, services: Services, alice: Account) -> None:
    """An id that merely starts with a real job id names no job."""
    job_id = await request_report(api, alice.token)
    await services.jobs.drain()
    longer = job_id + "-and-more"
    body = await api.gql(JOB, {"id": longer}, token=alice.token)
    assert body == {"data": {"job": {"id": longer, "status": "NOT_FOUND", "report": None}}}

"""GraphQL over HTTP's `application/graphql-response+json`, which Strawberry does not produce.

A client that accepts it (Apollo Client sends it first) gets it, and with it the status codes the
specification gives: a request that fails before execution (parse, validation or variable
errors) is a 400 with no `data` entry, one refused for its token (UNAUTHENTICATED) a 401 with
RFC 6750's challenge; field errors stay 200 with partial data. Clients that
accept only `application/json` keep the legacy behaviour: 200 for every GraphQL result.

Either way, a result that the database's trouble failed (SERVICE_UNAVAILABLE, SERVER_BUSY) is a
503 with Retry-After, as every other answer to that trouble is, so that clients and proxies retry
it as they retry any 503; except with partial data for a client that accepts
`application/graphql-response+json`, which the specification requires to be a 2xx.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from auth.identity import REFUSAL_CHALLENGE
from schema.codes import ErrorCode
from web.errors import RETRY_AFTER_BY_CODE

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"


class GraphQLResponse(dict[str, Any]):
    """A processed result, with the media type and status it is to be sent with."""

    media_type = "application/json"
    status_code = 200
    retry_after: int | None = None  # seconds, for a 503
    challenge: str | None = None  # WWW-Authenticate, for a 401


def accepts_graphql_response_json(accept: str) -> bool:
    for item in accept.split(","):
        media_type, *parameters = (part.strip() for part in item.split(";"))
        if media_type.lower() != GRAPHQL_RESPONSE_JSON:
            continue
        refused = any(
            p.replace(" ", "") in ("q=0", "q=0.0", "q=0.00", "q=0.000") for p in parameters
        )
        return not refused
    return False


def graphql_response(result: Mapping[str, Any], accept: str) -> GraphQLResponse:
    response = GraphQLResponse(result)
    errors = result.get("errors") or []
    retry_after = max(filter(None, map(_retry_after, errors)), default=None)
    if not accepts_graphql_response_json(accept):
        if retry_after is not None:
            response.status_code, response.retry_after = 503, retry_after
        return response
    response.media_type = GRAPHQL_RESPONSE_JSON
    # A request error has no data and errors without a path: nothing was executed.
    if result.get("data") is None and errors and not any(e.get("path") for e in errors):
        response.pop("data", None)
        response.status_code = 400
        if any(_code(e) == ErrorCode.UNAUTHENTICATED for e in errors):
            response.status_code, response.challenge = 401, REFUSAL_CHALLENGE
    elif retry_after is not None and result.get("data") is None:
        response.status_code, response.retry_after = 503, retry_after
    return response


def _code(error: Mapping[str, Any]) -> str | None:
    code = (error.get("extensions") or {}).get("code")
    return code if isinstance(code, str) else None


def _retry_after(error: Mapping[str, Any]) -> int | None:
    """Seconds to wait before retrying, when the error's code says the database is in trouble."""
    code = _code(error)
    return RETRY_AFTER_BY_CODE.get(code) if code is not None else None

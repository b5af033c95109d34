"""HTTP answers for a busy process or database trouble (REST routes, the request's identity, the
compiled path, load shedding, and GraphQL results failed by it): 503 with Retry-After."""

from __future__ import annotations

import json
import logging

from fastapi import FastAPI, Request, status
from fastapi.responses import Response
from prometheus_client import Counter
from sqlalchemy import exc

from db.engine import database_trouble
from observability.metrics import PREFIX
from schema.codes import ErrorCode
from schema.errors import SERVER_BUSY, SERVER_BUSY_CODE, TROUBLE_ERRORS
from web.rest_errors import error_body, internal_error

logger = logging.getLogger(__name__)
RETRY_AFTER_SECONDS = 5
# Busy is transient: a slot or a pooled connection frees up within one request's time.
BUSY_RETRY_AFTER_SECONDS = 1
RETRY_AFTER = {"busy": BUSY_RETRY_AFTER_SECONDS, "unavailable": RETRY_AFTER_SECONDS}
# The GraphQL error codes that say "try again later", and when.
RETRY_AFTER_BY_CODE: dict[str, int] = {
    code: RETRY_AFTER[trouble] for trouble, (_, code) in TROUBLE_ERRORS.items()
}
GRAPHQL_PATHS = frozenset({"/graphql", "/graphql/"})

DATABASE_FAILURES = Counter(
    f"{PREFIX}_database_failures",
    "Requests answered 503 for the database: busy (no pooled connection in time) or unavailable.",
    ["reason"],
)


def _json(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def busy_body(path: str) -> bytes:
    """A busy process's answer: a GraphQL error on the GraphQL endpoint, else REST's error."""
    return _trouble_body(path, SERVER_BUSY, SERVER_BUSY_CODE)


def _trouble_body(path: str, message: str, code: ErrorCode) -> bytes:
    if path in GRAPHQL_PATHS:
        return _json({"errors": [{"message": message, "extensions": {"code": code}}]})
    return error_body(message, code)


def database_failure(error: BaseException, path: str, request_id: str | None) -> Response | None:
    """The 503 for a busy or unreachable database, logged in one line (it is a state of the
    service that may last for many requests, not a bug); None for any other error."""
    reason = database_trouble(error)
    if reason is None:
        return None
    DATABASE_FAILURES.labels(reason).inc()
    logger.warning("database %s (request %s): %s", reason, request_id, error)
    return Response(
        _trouble_body(path, *TROUBLE_ERRORS[reason]),
        status.HTTP_503_SERVICE_UNAVAILABLE,
        headers={"Retry-After": str(RETRY_AFTER[reason])},
        media_type="application/json",
    )


async def database_error(request: Request, error: Exception) -> Response:
    """503 with Retry-After when the database is busy or unreachable; any other database error
    is a 500."""
    request_id = getattr(request.state, "request_id", None)
    response = database_failure(error, request.url.path, request_id)
    if response is not None:
        return response
    logger.error("database error (request %s)", request_id, exc_info=error)
    return internal_error(request_id)


def add_database_error_handlers(app: FastAPI) -> None:
    for error_class in (OSError, exc.TimeoutError, exc.DBAPIError):
        app.add_exception_handler(error_class, database_error)

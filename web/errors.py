"""HTTP answers for failures outside GraphQL execution (REST routes, the request's identity, the
compiled path and load shedding): 503 when the process is busy or the database unreachable."""

from __future__ import annotations

import json
import logging

from fastapi import FastAPI, Request, status
from fastapi.responses import JSONResponse, Response
from prometheus_client import Counter
from sqlalchemy import exc

from db.engine import database_trouble
from observability.metrics import PREFIX
from schema.errors import DATABASE_UNAVAILABLE, SERVER_BUSY, SERVER_BUSY_CODE

logger = logging.getLogger(__name__)
RETRY_AFTER_SECONDS = 5
# Busy is transient: a slot or a pooled connection frees up within one request's time.
BUSY_RETRY_AFTER_SECONDS = 1
GRAPHQL_PATHS = frozenset({"/graphql", "/graphql/"})

DATABASE_FAILURES = Counter(
    f"{PREFIX}_database_failures",
    "Requests answered 503 for the database: busy (no pooled connection in time) or unavailable.",
    ["reason"],
)


def _json(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def busy_body(path: str) -> bytes:
    """A busy process's answer: a GraphQL error on the GraphQL endpoint, else REST's `detail`."""
    if path in GRAPHQL_PATHS:
        error = {"message": SERVER_BUSY, "extensions": {"code": SERVER_BUSY_CODE}}
        return _json({"errors": [error]})
    return _json({"detail": SERVER_BUSY})


def database_failure(error: BaseException, path: str, request_id: str | None) -> Response | None:
    """The 503 for a busy or unreachable database, logged in one line (it is a state of the
    service that may last for many requests, not a bug); None for any other error."""
    reason = database_trouble(error)
    if reason is None:
        return None
    if reason == "busy":
        body, retry_after = busy_body(path), BUSY_RETRY_AFTER_SECONDS
    else:
        body, retry_after = _json({"detail": DATABASE_UNAVAILABLE}), RETRY_AFTER_SECONDS
    DATABASE_FAILURES.labels(reason).inc()
    logger.warning("database %s (request %s): %s", reason, request_id, error)
    return Response(
        body,
        status.HTTP_503_SERVICE_UNAVAILABLE,
        headers={"Retry-After": str(retry_after)},
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
    return JSONResponse(
        {"detail": "Internal server error", "requestId": request_id},
        status.HTTP_500_INTERNAL_SERVER_ERROR,
    )


def add_database_error_handlers(app: FastAPI) -> None:
    for error_class in (OSError, exc.TimeoutError, exc.DBAPIError):
        app.add_exception_handler(error_class, database_error)

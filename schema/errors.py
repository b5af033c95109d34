"""Public errors, each with a stable `extensions.code`; anything else reaches clients masked.

Every error raised on purpose is a GraphQLError (these classes, or the parse and validation
errors of graphql-core and the scalars). Any other exception is an unexpected failure: its text
never leaves the server, it is logged with the request id instead.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from graphql import GraphQLError, GraphQLSyntaxError
from strawberry.extensions import SchemaExtension

from db.engine import database_trouble
from schema.codes import ErrorCode

logger = logging.getLogger("trading_api.errors")


DATABASE_UNAVAILABLE = "The database is unavailable; try again shortly"
SERVICE_UNAVAILABLE_CODE = ErrorCode.SERVICE_UNAVAILABLE
SERVER_BUSY = "The server is busy; try again shortly"
SERVER_BUSY_CODE = ErrorCode.SERVER_BUSY
# What a client is told of each state of the database (db.engine.database_trouble): message, code.
TROUBLE_ERRORS = {
    "busy": (SERVER_BUSY, SERVER_BUSY_CODE),
    "unavailable": (DATABASE_UNAVAILABLE, SERVICE_UNAVAILABLE_CODE),
}


class PublicError(GraphQLError):
    code: str = ErrorCode.INTERNAL_SERVER_ERROR

    def __init__(self, message: str, **extensions: Any) -> None:
        super().__init__(message, extensions={"code": self.code, **extensions})


class Unauthenticated(PublicError):
    code = ErrorCode.UNAUTHENTICATED


class Forbidden(PublicError):
    code = ErrorCode.FORBIDDEN


class BadUserInput(PublicError):
    code = ErrorCode.BAD_USER_INPUT


class NotFound(PublicError):
    code = ErrorCode.NOT_FOUND


class Conflict(PublicError):
    code = ErrorCode.CONFLICT


class RateLimited(PublicError):
    """Too many of these requests in a window; `retryAfter` says in how many seconds to retry."""

    code = ErrorCode.RATE_LIMITED


class FeedGap(PublicError):
    """A live feed cannot resume where the client asked: it refetches, then subscribes afresh."""

    code = ErrorCode.FEED_GAP


def is_unexpected(error: GraphQLError) -> bool:
    original = error.original_error
    return original is not None and not isinstance(original, GraphQLError)


def _request_error_code(error: GraphQLError) -> str:
    if isinstance(error, GraphQLSyntaxError):
        return ErrorCode.GRAPHQL_PARSE_FAILED
    if error.message.startswith("Variable "):
        return ErrorCode.BAD_USER_INPUT
    if error.path is not None:
        # Raised while executing a valid document, at a field: an argument's value that only
        # the request's variables made wrong (null for `limit: Int! = 10`), not a bad document.
        return ErrorCode.BAD_USER_INPUT
    return ErrorCode.GRAPHQL_VALIDATION_FAILED


class ErrorCodes(SchemaExtension):
    """Gives every error a code and masks unexpected ones (Strawberry's MaskErrors, plus codes)."""

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if result is None or not result.errors:
            return
        request_id = getattr(self.execution_context.context, "request_id", None)
        result.errors = [self._public(error, request_id) for error in result.errors]

    @staticmethod
    def _public(error: GraphQLError, request_id: str | None) -> GraphQLError:
        if is_unexpected(error):
            trouble = database_trouble(error.original_error) if error.original_error else None
            message, code = "Internal server error", ErrorCode.INTERNAL_SERVER_ERROR
            if trouble is not None:
                message, code = TROUBLE_ERRORS[trouble]
            return GraphQLError(
                message,
                nodes=error.nodes,
                path=error.path,
                extensions={"code": code, "requestId": request_id},
            )
        add_code(error)
        return error


def add_code(error: GraphQLError) -> None:
    """Errors graphql-core raised (parse, validation, variables) get their request-error code."""
    if "code" not in (error.extensions or {}):
        error.extensions = {**(error.extensions or {}), "code": _request_error_code(error)}


def log_unexpected(errors: list[GraphQLError], request_id: str | None) -> None:
    """A traceback for each failure nobody expected; one line for a busy or unreachable
    database, which is a state of the service, not a bug (and may last for many requests)."""
    for error in errors:
        if not is_unexpected(error):
            continue
        where = ".".join(map(str, error.path or [])) or "operation"
        original = error.original_error
        trouble = database_trouble(original) if original is not None else None
        if trouble is not None:
            logger.warning(
                "database %s in %s (request %s): %s", trouble, where, request_id, original
            )
            continue
        logger.error("unexpected error in %s (request %s)", where, request_id, exc_info=original)

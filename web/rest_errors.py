"""One shape for every REST error: `{"detail": "...", "code": "...", "errors": [...]}`.

`detail` is a sentence for people, `code` one of the codes GraphQL's `extensions.code` uses
(schema/codes.py), `errors` names each field at fault (empty when none is). Every error body the
app writes outside GraphQL results is built here: by FastAPI's exception handlers for
HTTPException (Starlette's 404 and 405 included) and validation errors, and by the middleware
that answer before any route (load shedding, the body limit, database trouble).

An error never quotes what was sent: Pydantic's `input` and `ctx` are dropped, and a message
that would quote a value (a validator's own text) is cut before the quote.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field
from pydantic_core import ErrorDetails
from starlette.exceptions import HTTPException
from starlette.responses import Response

from schema.codes import ErrorCode

CODE_BY_STATUS = {
    400: ErrorCode.BAD_REQUEST,
    401: ErrorCode.UNAUTHENTICATED,
    403: ErrorCode.FORBIDDEN,
    404: ErrorCode.NOT_FOUND,
    405: ErrorCode.METHOD_NOT_ALLOWED,
    409: ErrorCode.CONFLICT,
    413: ErrorCode.CONTENT_TOO_LARGE,
    415: ErrorCode.UNSUPPORTED_MEDIA_TYPE,
    422: ErrorCode.BAD_USER_INPUT,
    429: ErrorCode.RATE_LIMITED,
    500: ErrorCode.INTERNAL_SERVER_ERROR,
    503: ErrorCode.SERVICE_UNAVAILABLE,
}
INTERNAL_ERROR = "Internal server error"
# Where FastAPI says a value came from: not part of the field's name as the client spells it.
_SOURCES = frozenset({"body", "query", "path", "header", "cookie"})
# A validator's message may quote the value it refused ("invalid characters: '@'", "(... of
# 'xn--...')"): what follows the first quote or parenthesis that holds one is dropped.
_QUOTED = re.compile(r"\s*(?:\([^)]*['\"]|[:,]?\s*['\"]).*$", re.DOTALL)


class FieldError(BaseModel):
    field: str = Field(description="The field at fault, dotted for nested ones", examples=["email"])
    message: str = Field(examples=["String should have at least 10 characters"])


class ErrorBody(BaseModel):
    """The body of every REST error (4xx and 5xx)."""

    detail: str = Field(description="What went wrong, for people", examples=["Not signed in"])
    code: ErrorCode = Field(description="What went wrong, for programs: GraphQL's codes")
    errors: list[FieldError] = Field(
        default_factory=list, description="One entry per field at fault; empty when none is"
    )
    request_id: str | None = Field(
        default=None,
        alias="requestId",
        description="On 500s only: the id of the server's log line",
    )


class ApiError(HTTPException):
    """An HTTPException that says its code and fields (else the status decides the code)."""

    def __init__(
        self,
        status_code: int,
        detail: str,
        *,
        code: ErrorCode | None = None,
        errors: Sequence[tuple[str, str]] = (),
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(status_code, detail, headers=headers)
        self.code = code
        self.errors = errors


def code_for(status_code: int) -> ErrorCode:
    default = ErrorCode.INTERNAL_SERVER_ERROR if status_code >= 500 else ErrorCode.BAD_REQUEST
    return CODE_BY_STATUS.get(status_code, default)


def error_body(
    detail: str,
    code: ErrorCode,
    errors: Iterable[tuple[str, str]] = (),
    request_id: str | None = None,
) -> bytes:
    body: dict[str, Any] = {
        "detail": detail,
        "code": code,
        "errors": [{"field": field, "message": message} for field, message in errors],
    }
    if request_id is not None:
        body["requestId"] = request_id
    return json.dumps(body, separators=(",", ":")).encode()


def error_response(
    status_code: int,
    detail: str,
    *,
    code: ErrorCode | None = None,
    errors: Iterable[tuple[str, str]] = (),
    headers: Mapping[str, str] | None = None,
    request_id: str | None = None,
) -> Response:
    body = error_body(detail, code or code_for(status_code), errors, request_id)
    return Response(body, status_code, headers=headers, media_type="application/json")


def field_errors(errors: Iterable[ErrorDetails]) -> list[tuple[str, str]]:
    """(field, message) of each validation error, without the value that failed."""
    return [(_field(error), _message(error)) for error in errors]


def _field(error: ErrorDetails) -> str:
    location = [str(part) for part in error["loc"]]
    if error["type"] == "json_invalid":
        return location[0] if location else "body"
    if len(location) > 1 and location[0] in _SOURCES:
        location = location[1:]
    return ".".join(location) or "body"


def _message(error: ErrorDetails) -> str:
    message = error["msg"]
    if error["type"] in ("value_error", "assertion_error"):
        message = _QUOTED.sub("", message)
    value = error.get("input")
    if isinstance(value, str) and len(value) >= 3 and value in message:
        return "The value is not valid"  # a library's message that quotes it whole
    return message


async def http_error(request: Request, error: Exception) -> Response:
    if not isinstance(error, HTTPException):  # registered for it: never
        raise error
    code = error.code if isinstance(error, ApiError) else None
    errors = error.errors if isinstance(error, ApiError) else ()
    if error.status_code in (204, 304) or error.status_code < 200:
        return Response(status_code=error.status_code, headers=error.headers)
    return error_response(
        error.status_code, str(error.detail), code=code, errors=errors, headers=error.headers
    )


async def validation_error(request: Request, error: Exception) -> Response:
    if not isinstance(error, RequestValidationError):  # registered for it: never
        raise error
    errors = field_errors(error.errors())
    fields = ", ".join(dict.fromkeys(field for field, _ in errors))
    return error_response(422, f"Some fields are not valid: {fields}", errors=errors)


async def unexpected_error(request: Request, error: Exception) -> Response:
    """The 500 for a failure nobody expected (Starlette's ServerErrorMiddleware logs it)."""
    return internal_error(getattr(request.state, "request_id", None))


def internal_error(request_id: str | None) -> Response:
    return error_response(500, INTERNAL_ERROR, request_id=request_id)


def add_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(Exception, unexpected_error)


def documented(descriptions: Mapping[int, str]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for a route's errors, each with the shared body."""
    return {status: {"model": ErrorBody, "description": d} for status, d in descriptions.items()}


# Every route's: whatever else it documents, a 4xx or 5xx has this body (it also replaces
# FastAPI's HTTPValidationError for 422).
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    "4XX": {"model": ErrorBody, "description": "The request was refused"},
    "5XX": {"model": ErrorBody, "description": "The server could not answer"},
}

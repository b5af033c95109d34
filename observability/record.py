"""What one HTTP request did, filled in by whoever knows it and logged once at its end."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass


@dataclass
class RequestRecord:
    """Mutable and shared by reference, so tasks a request spawns (GraphQL resolves siblings
    concurrently) add to the same record as the request's own task."""

    request_id: str
    operation_name: str | None = None
    operation_type: str | None = None
    viewer_id: int | None = None
    statements: int = 0
    compiled: bool = False


_current: ContextVar[RequestRecord | None] = ContextVar("request_record", default=None)


def current() -> RequestRecord | None:
    """This request's record; None outside an HTTP request (WebSockets, jobs, start-up)."""
    return _current.get()


def start(request_id: str) -> RequestRecord:
    record = RequestRecord(request_id)
    _current.set(record)
    return record


def set_operation(name: str | None, operation_type: str | None, *, compiled: bool = False) -> None:
    """`compiled`: answered by fastpath/ rather than Strawberry's executor."""
    if (record := _current.get()) is not None:
        record.operation_name = name
        record.operation_type = operation_type
        record.compiled = compiled


def set_viewer(viewer_id: int | None) -> None:
    if (record := _current.get()) is not None and viewer_id is not None:
        record.viewer_id = viewer_id


def count_statement() -> None:
    """One more SQL statement sent for this request."""
    if (record := _current.get()) is not None:
        record.statements += 1

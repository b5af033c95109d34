"""One structured log line and the request metrics for every HTTP request, whoever answers it.

Plain ASGI, outermost: it sees compiled queries (fastpath/, which answer before Strawberry) and
the general path alike. Both record the GraphQL operation into the request's record.
"""

from __future__ import annotations

import logging
import re
import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from observability import metrics, record

logger = logging.getLogger("trading_api.requests")
# Left out of the logs and metrics: scrapers and probes would drown the traffic.
QUIET_PATHS = frozenset({"/metrics", "/healthz", "/readyz"})
MAX_OPERATIONS = 200
GRAPHQL_NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]{0,63}")
_operations: set[str] = set()


class RequestLog:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in QUIET_PATHS:
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        request_id = state.setdefault("request_id", uuid.uuid4().hex)
        current = record.start(request_id)
        status = 500  # what the client gets if the app fails before it answers
        started = time.perf_counter()

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            duration = time.perf_counter() - started
            _finish(scope, current, status, duration)


def _operation_label(name: str | None, operation_type: str | None) -> str:
    """Operation names are chosen by clients: as metric labels they are kept to GraphQL names,
    and to the first MAX_OPERATIONS distinct ones, so a client cannot grow the metrics without
    bound (each label value is a time series kept in memory and in every scrape)."""
    if not name:
        return "anonymous" if operation_type else ""
    if name in _operations:
        return name
    if len(_operations) >= MAX_OPERATIONS or not GRAPHQL_NAME.fullmatch(name):
        return "other"
    _operations.add(name)
    return name


def _finish(scope: Scope, current: record.RequestRecord, status: int, duration: float) -> None:
    route = _route(scope)
    operation = _operation_label(current.operation_name, current.operation_type)
    operation_type = current.operation_type or ""
    metrics.REQUESTS.labels(route, operation, operation_type, str(status)).inc()
    metrics.LATENCY.labels(route, operation, operation_type).observe(duration)
    logger.info(
        "%s %s %s",
        scope["method"],
        scope["path"],
        status,
        extra={
            "request_id": current.request_id,
            "method": scope["method"],
            "path": scope["path"],
            "route": route,
            "status": status,
            "duration_ms": round(duration * 1000, 2),
            "operation_name": current.operation_name,
            "operation_type": current.operation_type,
            "compiled": current.compiled,
            "viewer_id": current.viewer_id,
            "sql_statements": current.statements,
        },
    )


def _route(scope: Scope) -> str:
    """The route's template (`/users/{id}`), never the raw path: metrics stay few."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if scope["path"] in ("/graphql", "/graphql/"):
        return "/graphql"  # the compiled path answers before routing; Strawberry's route is ""
    if isinstance(path, str) and path:
        return path
    return "unmatched"

"""Every HTTP request's id, and one structured log line and the request metrics for it.

Plain ASGI and outermost, so it sees compiled queries (fastpath/, which answer before
Strawberry) and the general path alike; both record the GraphQL operation into the request's
record. It runs on every request, so it does as little as it can: one middleware rather than an
id layer and a log layer, metric children looked up once per label set, and a log record made
without logging's search of the call stack for a source line that would always be this file.
"""

from __future__ import annotations

import logging
import os
import re
import time

from prometheus_client import Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from observability import metrics, record

logger = logging.getLogger("trading_api.requests")
REQUEST_ID_HEADER = b"x-request-id"
# Left out of the logs and metrics: scrapers and probes would drown the traffic.
QUIET_PATHS = frozenset({"/metrics", "/healthz", "/readyz"})
MAX_OPERATIONS = 200
GRAPHQL_NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]{0,63}")
_operations: set[str] = set()
# Per label set: the request counter's and the latency histogram's children. Bounded as the
# labels are: route templates, MAX_OPERATIONS operation names, operation types and statuses.
_children: dict[tuple[str, str, str, int], tuple[Counter, Histogram]] = {}


class RequestLog:
    """Names every HTTP request (X-Request-ID, `scope["state"]["request_id"]`, which resolvers
    and masked errors report) and logs and measures it once it is answered."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = os.urandom(16).hex()  # a uuid4's randomness, without building a UUID
        scope.setdefault("state", {})["request_id"] = request_id
        header = (REQUEST_ID_HEADER, request_id.encode())
        status = 500  # what the client gets if the app fails before it answers

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        if scope["path"] in QUIET_PATHS:
            await self.app(scope, receive, send_with_id)
            return
        current = record.start(request_id)
        started = time.perf_counter()
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            _finish(scope, current, status, time.perf_counter() - started)


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
    operation_type = current.operation_type or ""
    labels = (route, _operation_label(current.operation_name, operation_type), operation_type)
    key = (*labels, status)
    children = _children.get(key)
    if children is None:
        children = (metrics.REQUESTS.labels(*labels, str(status)), metrics.LATENCY.labels(*labels))
        _children[key] = children
    children[0].inc()
    children[1].observe(duration)
    if not logger.isEnabledFor(logging.INFO):
        return
    method, path = scope["method"], scope["path"]
    fields = {
        "request_id": current.request_id,
        "method": method,
        "path": path,
        "route": route,
        "status": status,
        "duration_ms": round(duration * 1000, 2),
        "operation_name": current.operation_name,
        "operation_type": current.operation_type,
        "compiled": current.compiled,
        "viewer_id": current.viewer_id,
        "sql_statements": current.statements,
    }
    # What logger.info(..., extra=fields) does, less findCaller's walk up the stack.
    line = logger.makeRecord(
        logger.name,
        logging.INFO,
        __file__,
        0,
        "%s %s %s",
        (method, path, status),
        None,
        None,
        extra=fields,
    )
    logger.handle(line)


def _route(scope: Scope) -> str:
    """The route's template (`/users/{id}`), never the raw path: metrics stay few."""
    if scope["path"] in ("/graphql", "/graphql/"):
        return "/graphql"  # the compiled path answers before routing; Strawberry's route is ""
    path = getattr(scope.get("route"), "path", None)
    if isinstance(path, str) and path:
        return path
    return "unmatched"

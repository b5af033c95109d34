"""Load shedding: at most MAX_CONCURRENT_REQUESTS requests in flight per process; the next one is
answered 503 with Retry-After at once, without queueing and before any of its work.

One process serves on one core: past the concurrency that keeps it busy, more requests in
flight only lengthen every request's wait (and the database pool's queue, until its waits time
out), so goodput falls for everyone. Refusing the excess at the door keeps the admitted ones
fast. A plain counter is enough: the event loop runs one callback at a time, and nothing is
awaited between the check and the increment.

Health probes and /metrics are never counted nor refused: an orchestrator must be able to tell
a busy process from a dead one. A WebSocket counts only while its handshake is under way (until
the app accepts or refuses it); an open socket is bounded by the per-socket and per-user limits
instead, so that long-lived sockets cannot starve HTTP requests of slots.
"""

from __future__ import annotations

from prometheus_client import Counter
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from observability.metrics import PREFIX
from web.errors import BUSY_RETRY_AFTER_SECONDS, GRAPHQL_PATHS, busy_body

UNLIMITED_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
_HANDSHAKE_ENDS = frozenset(
    {"websocket.accept", "websocket.close", "websocket.http.response.start"}
)

SHED = Counter(
    f"{PREFIX}_requests_shed",
    "Requests and WebSocket handshakes refused with 503 because MAX_CONCURRENT_REQUESTS were "
    "in flight.",
)


class ConcurrencyLimit:
    def __init__(self, app: ASGIApp, *, limit: int) -> None:
        self.app = app
        self.limit = limit
        self.in_flight = 0
        # Answers are the same every time: built once, not per refused request.
        self.answers = {path: busy_body(path) for path in GRAPHQL_PATHS}
        self.rest_answer = busy_body("/")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan" or scope["path"] in UNLIMITED_PATHS:
            await self.app(scope, receive, send)
            return
        if self.in_flight >= self.limit:
            SHED.inc()
            await self._refuse(scope, send)
            return
        self.in_flight += 1
        if scope["type"] == "websocket":
            await self._handshake(scope, receive, send)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1

    async def _handshake(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Counted until the app answers the handshake, not for the socket's whole life."""
        counted = True

        async def send_and_release(message: Message) -> None:
            nonlocal counted
            if counted and message["type"] in _HANDSHAKE_ENDS:
                counted = False
                self.in_flight -= 1
            await send(message)

        try:
            await self.app(scope, receive, send_and_release)
        finally:
            if counted:
                self.in_flight -= 1

    async def _refuse(self, scope: Scope, send: Send) -> None:
        body = self.answers.get(scope["path"], self.rest_answer)
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"retry-after", str(BUSY_RETRY_AFTER_SECONDS).encode()),
        ]
        if scope["type"] == "http":
            await send({"type": "http.response.start", "status": 503, "headers": headers})
            await send({"type": "http.response.body", "body": body})
        elif "websocket.http.response" in scope.get("extensions", {}):
            # The ASGI extension for denying a handshake with an HTTP response of our own.
            await send({"type": "websocket.http.response.start", "status": 503, "headers": headers})
            await send({"type": "websocket.http.response.body", "body": body})
        else:
            await send({"type": "websocket.close", "code": 1013})  # try again later

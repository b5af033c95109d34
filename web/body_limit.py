"""Request bodies beyond MAX_BODY_BYTES get 413, in the shape of every other REST error.

FastAPI's own `max_body_size` (Starlette's RequestBodyLimitMiddleware) answers outside the app's
middleware and exception handlers with a text/plain "Content Too Large", and replaces any
response to a request whose declared Content-Length is over the limit with that text, so no
handler can give it the error shape. This middleware does the same two checks: a declared length
over the limit is refused before the app runs, and a body without one (chunked) is counted as
it is read, the overflow raising an HTTPException that the exception handlers render.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from web.rest_errors import error_response

TOO_LARGE = "The request body is larger than the server accepts ({limit} bytes at most)"


class BodyTooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(413, TOO_LARGE.format(limit=limit))


class BodyLimit:
    def __init__(self, app: ASGIApp, *, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.limit:
            await self._refuse(scope, receive, send)
            return
        received = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise BodyTooLarge(self.limit)
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, watched_send)
        except BodyTooLarge:
            # Raised where no exception handler runs (a middleware reading the body).
            if started:
                raise
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = error_response(413, TOO_LARGE.format(limit=self.limit))
        await response(scope, receive, send)

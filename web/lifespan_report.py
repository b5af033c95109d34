"""Under uvicorn, a start-up problem is told in its one line (startup.py), not a traceback.

When the lifespan raises, Starlette sends `lifespan.startup.failed` with the traceback as its
message, and uvicorn logs the message whole before "Application startup failed. Exiting." (exit
status 3). No hook of FastAPI's sees that message, and raising SystemExit from the lifespan gets
a traceback all the same; the lifespan scope does go through the middleware stack, so this pure
ASGI middleware holds the failure until the exception that caused it arrives, and sends it on
with the problem's line as its message. A bug, or LOG_LEVEL=debug, keeps Starlette's traceback.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from startup import problem_line

STARTUP_FAILED = "lifespan.startup.failed"


class LifespanReport:
    def __init__(self, app: ASGIApp, *, debug: bool) -> None:
        self.app = app
        self.debug = debug

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return
        held: list[Message] = []

        async def hold_failure(message: Message) -> None:
            if message["type"] == STARTUP_FAILED:
                held.append(message)
            else:
                await send(message)

        try:
            await self.app(scope, receive, hold_failure)
        except BaseException as error:
            line = None if self.debug else problem_line(error)
            if held:
                await send({**held[0], "message": line} if line else held[0])
            raise
        if held:  # a failure reported without raising: as it was
            await send(held[0])

"""How the app is served: `python -m web.server [uvicorn options]` is uvicorn's command line with
the connection limits and security headers of the settings, for `make run`, `make run-prod` and
the image.

uvicorn closes a connection that stays idle after a response (`--timeout-keep-alive`), but it
has no deadline for receiving a request: its keep-alive timer starts only once a response is
sent and stops at the next byte, so a client that opens a connection and sends nothing, or
sends its headers (or its body) a byte at a time, holds the connection for ever (slowloris).
uvicorn has no setting for it; its protocol classes are the documented extension point
(`--http` takes an import path), so the deadline is a subclass of the httptools protocol.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

from uvicorn.config import Config
from uvicorn.main import main as uvicorn_main
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from settings import Settings, get_settings
from startup import check_database, exit_on_problem

APP = "main:app"
# A browser never reads a JSON or text answer as HTML or script.
NOSNIFF = ("X-Content-Type-Options", "nosniff")
# In production browsers reach the API over HTTPS only (its TLS proxy terminates it), for a
# year, subdomains included: the lifetime browsers' preload lists ask for.
HSTS = ("Strict-Transport-Security", "max-age=31536000; includeSubDomains")


class DeadlineHttpProtocol(HttpToolsProtocol):
    """A request's headers and body must arrive within HTTP_READ_TIMEOUT_SECONDS, counted from
    the connection's opening for its first request and from the first byte for the next ones;
    a connection that misses the deadline is closed. Responses are never cut short: the
    deadline ends when the request has been received, or when it becomes a WebSocket."""

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.read_timeout = get_settings().http_read_timeout_seconds
        self.read_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self.read_deadline is None:
            self._arm()

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()

    def handle_websocket_upgrade(self) -> None:
        self._disarm()
        super().handle_websocket_upgrade()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self.read_deadline = self.loop.call_later(self.read_timeout, self._too_slow)

    def _disarm(self) -> None:
        if self.read_deadline is not None:
            self.read_deadline.cancel()
            self.read_deadline = None

    def _too_slow(self) -> None:
        self.read_deadline = None
        if not self.transport.is_closing():
            self.transport.close()


def uvicorn_arguments(settings: Settings) -> list[str]:
    """The options that carry the settings; options given on the command line come after, and
    uvicorn takes the last of a repeated option."""
    arguments = [
        APP,
        "--http",
        f"{__name__}:{DeadlineHttpProtocol.__name__}",
        "--timeout-keep-alive",
        str(settings.http_idle_timeout_seconds),
        # A WebSocket message is held whole before it is parsed, like a request body.
        "--ws-max-size",
        str(settings.max_body_bytes),
        "--ws-per-message-deflate",
        str(settings.ws_per_message_deflate).lower(),
        # Headers of every response, added by uvicorn: an app middleware would miss the answers
        # given outside it (FastAPI's 413 for a large body, a 500, uvicorn's own 400s).
        "--header",
        f"{NOSNIFF[0]}:{NOSNIFF[1]}",
    ]
    if settings.is_production:
        arguments += ["--header", f"{HSTS[0]}:{HSTS[1]}"]
    return arguments


def main(argv: list[str] | None = None) -> None:
    settings = exit_on_problem(get_settings)
    # Once here, before uvicorn starts: with --workers N each worker process would tell the
    # problem again, and uvicorn's parent then exits 0 (0.54). The lifespan checks again, for
    # `uvicorn main:app`.
    exit_on_problem(lambda: asyncio.run(check_database(settings)))
    arguments = uvicorn_arguments(settings) + (sys.argv[1:] if argv is None else argv)
    uvicorn_main.main(arguments, prog_name="python -m web.server")


if __name__ == "__main__":
    main()

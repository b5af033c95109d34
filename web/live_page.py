"""The live trades page at `/`: static HTML, JavaScript and CSS from web/live/, under a strict CSP.

The page signs in with POST /auth/login (the HttpOnly cookie), adds trades with JSON POSTs to
/graphql (which the CSRF rule lets through) and watches `tradeAdded` over graphql-transport-ws
with the vendored `graphql-ws` client: everything it loads or calls is on this origin.
"""

from __future__ import annotations

import re
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse
from starlette.datastructures import MutableHeaders
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

PAGE_DIRECTORY = Path(__file__).with_name("live")
ASSETS_PATH = "/live"
# A Host header a browser could have sent (name or address, optional port); anything else gets
# no explicit WebSocket source, and 'self' alone (CSP level 3 lets it match ws: and wss:).
_HOST = re.compile(r"^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$")


def content_security_policy(host: str) -> str:
    """Nothing but this origin: no inline scripts or styles, no frames, no other hosts."""
    sockets = f" ws://{host} wss://{host}" if _HOST.match(host) else ""
    return "; ".join(
        [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            f"connect-src 'self'{sockets}",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


def _security_headers(host: str) -> dict[str, str]:
    return {
        "Content-Security-Policy": content_security_policy(host),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        # The page changes with the code; revalidate rather than run a stale script.
        "Cache-Control": "no-cache",
    }


class _WithSecurityHeaders:
    """The same headers on the page's assets as on the page."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        host = dict(scope.get("headers", [])).get(b"host", b"").decode("latin-1")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in _security_headers(host).items():
                    headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)


def add_live_page(app: FastAPI) -> None:
    """Serve the page at `/` and its scripts, styles and vendored libraries under /live/."""

    @app.get("/", include_in_schema=False)
    async def live_page(request: Request) -> FileResponse:
        return FileResponse(
            PAGE_DIRECTORY / "index.html",
            headers=_security_headers(request.headers.get("host", "")),
        )

    app.mount(
        ASSETS_PATH,
        _WithSecurityHeaders(StaticFiles(directory=PAGE_DIRECTORY)),
        name="live-assets",
    )

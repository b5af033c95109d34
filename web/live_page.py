"""The live trades page at `/`: static HTML, JavaScript and CSS from web/live/, under a strict CSP.

The page signs in with POST /auth/login (the HttpOnly cookie), adds trades with JSON POSTs to
/graphql (which the CSRF rule lets through) and watches `tradeAdded` over graphql-transport-ws
with the vendored `graphql-ws` client (web/vendor/): everything it loads or calls is on this
origin.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse
from starlette.staticfiles import StaticFiles

from web.page_headers import WithHeaders, content_security_policy, page_headers

PAGE_DIRECTORY = Path(__file__).with_name("live")
ASSETS_PATH = "/live"


def _headers(host: str, _status: int = 200) -> dict[str, str]:
    return page_headers(content_security_policy(host))


def add_live_page(app: FastAPI) -> None:
    """Serve the page at `/` and its scripts and styles under /live/."""

    @app.get("/", include_in_schema=False)
    async def live_page(request: Request) -> FileResponse:
        return FileResponse(
            PAGE_DIRECTORY / "index.html", headers=_headers(request.headers.get("host", ""))
        )

    # The same headers on the page's files as on the page.
    app.mount(
        ASSETS_PATH,
        WithHeaders(StaticFiles(directory=PAGE_DIRECTORY), _headers),
        name="live-assets",
    )

"""A served page's HTML checked without a browser: what it loads is on this origin, and served."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import httpx


class _References(HTMLParser):
    """Every src and href of the page, but data: URLs (an empty favicon)."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("src", "href", "spec-url") and value and not value.startswith("data:"):
                self.urls.append(value)


async def assets_served(client: httpx.AsyncClient, html: str) -> list[str]:
    """The paths `html` loads, each one on this origin (no other host, no scheme) and answered
    200 by `client`."""
    assert not re.search(r"(https?:|wss?:)?//[A-Za-z0-9]", html), "the page names another host"
    parser = _References()
    parser.feed(html)
    for url in parser.urls:
        assert url.startswith("/") and not url.startswith("//"), f"{url} is not on this origin"
        response = await client.get(url)
        assert response.status_code == 200, url
    return parser.urls

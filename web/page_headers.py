"""The headers of the pages the app serves itself (the live page, GraphiQL, the REST docs) and of
their files: a Content-Security-Policy that allows nothing but this origin, and cache rules."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable, Iterable, Mapping

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# A Host header a browser could have sent (name or address, optional port); anything else gets
# no explicit WebSocket source, and 'self' alone (CSP level 3 lets it match ws: and wss:).
_HOST = re.compile(r"^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$")
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


def content_security_policy(
    host: str,
    *,
    script_hashes: Iterable[str] = (),
    inline_styles: bool = False,
    blob_workers: bool = False,
) -> str:
    """Nothing but this origin: no inline scripts but those hashed, no frames, no other hosts.

    `inline_styles` is for libraries that write <style> elements at run time (ReDoc's
    styled-components); `blob_workers` for ReDoc's search, a Worker it builds from a blob: URL.
    """
    sockets = f" ws://{host} wss://{host}" if _HOST.match(host) else ""
    scripts = "".join(f" '{digest}'" for digest in script_hashes)
    directives = [
        "default-src 'none'",
        f"script-src 'self'{scripts}",
        "style-src 'self' 'unsafe-inline'" if inline_styles else "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        f"connect-src 'self'{sockets}",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
    if blob_workers:
        directives.append("worker-src 'self' blob:")
    return "; ".join(directives)


def inline_script_hashes(html: str) -> list[str]:
    """The CSP sources ('sha256-...') that allow exactly the inline scripts of `html`."""
    return [
        "sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        for script in _INLINE_SCRIPT.findall(html)
    ]


def page_headers(policy: str) -> dict[str, str]:
    return {
        "Content-Security-Policy": policy,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        # The page changes with the code; revalidate rather than run a stale script.
        "Cache-Control": "no-cache",
    }


def immutable(_host: str, status: int) -> dict[str, str]:
    """For files in folders named for their package's exact version: they never change (but a
    404 may become a file once that version is vendored)."""
    if status not in (200, 304):
        return {"X-Content-Type-Options": "nosniff"}
    return {
        "Cache-Control": "public, max-age=31536000, immutable",
        "X-Content-Type-Options": "nosniff",
    }


def host_of(scope: Scope) -> str:
    host: bytes = dict(scope.get("headers", [])).get(b"host", b"")
    return host.decode("latin-1")


class WithHeaders:
    """An ASGI app (static files) whose every response gets `headers(host, status)`."""

    def __init__(self, app: ASGIApp, headers: Callable[[str, int], Mapping[str, str]]) -> None:
        self.app = app
        self.headers = headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        host = host_of(scope)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.headers(host, message["status"]).items():
                    headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)

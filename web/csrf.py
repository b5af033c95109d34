"""CSRF prevention for cookie-authenticated GraphQL requests: Apollo Server's rule.

A browser sends a cross-site GET, or a POST whose content type is text/plain, a form or
multipart, without a CORS preflight, and with the user's cookie. Such requests are refused
unless they carry a non-empty `apollo-require-preflight` or `x-apollo-operation-name` header,
which a page on another site cannot add without a preflight that CORS_ORIGINS would deny. JSON
POSTs need a preflight anyway; bearer-token requests carry no ambient credentials.
"""

from __future__ import annotations

from fastapi import HTTPException, status
from starlette.requests import HTTPConnection

from auth.identity import COOKIE_NAME

PREFLIGHT_HEADERS = ("apollo-require-preflight", "x-apollo-operation-name")
SIMPLE_CONTENT_TYPES = frozenset(
    {"", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data"}
)
REFUSAL = (
    "This request has been blocked as a potential Cross-Site Request Forgery: send it as "
    "JSON (content-type: application/json) or with an apollo-require-preflight header"
)


async def require_preflight(connection: HTTPConnection) -> None:
    """A FastAPI dependency of the /graphql routes (WebSockets check Origin instead)."""
    if connection.scope["type"] != "http" or COOKIE_NAME not in connection.cookies:
        return
    headers = connection.headers
    if headers.get("authorization", "").lower().startswith("bearer "):
        return
    if any(headers.get(name, "").strip() for name in PREFLIGHT_HEADERS):
        return
    if connection.scope["method"] == "GET":
        if "query" not in connection.query_params:
            return  # GraphiQL's page itself, not an operation
    else:
        content_type = headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type not in SIMPLE_CONTENT_TYPES:
            return
    raise HTTPException(status.HTTP_400_BAD_REQUEST, REFUSAL)

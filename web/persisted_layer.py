"""Apollo's persisted queries in front of both paths: an ASGI layer outside the compiled path
(fastpath/middleware.py) that reads a request naming its document by a hash, asks the rule
(web/persisted_queries.py), and hands on the request with its document, or answers it here.

GET answers to persisted queries carry caching headers: `public, max-age` when the request had
no credentials (so the answer is everyone's), `private, no-store` when it had; errors never
cached. Mutations over GET are refused by the view (405), however they were named.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

from starlette.datastructures import Headers, MutableHeaders, QueryParams
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from auth.identity import COOKIE_NAME
from cache.persisted import PersistedDocuments
from web.json_input import decode_json
from web.media_types import GRAPHQL_RESPONSE_JSON, accepts_graphql_response_json
from web.persisted_queries import PersistedQueryResolver, Refused
from web.request_body import read_body, replay

PATHS = ("/graphql", "/graphql/")
# Credentials that make an answer the viewer's own, and the request headers a cache must key
# an answer by: the media type depends on Accept.
VARY = "Accept, Authorization, Cookie"
NO_STORE = "no-store"


class PersistedQueryLayer:
    def __init__(self, app: ASGIApp, *, resolver: PersistedQueryResolver, max_age: int) -> None:
        self.app = app
        self.resolver = resolver
        self.max_age = max_age

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] not in PATHS:
            await self.app(scope, receive, send)
        elif scope["method"] == "POST":
            await self._post(scope, receive, send)
        elif scope["method"] == "GET":
            await self._get(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def _post(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = Headers(scope=scope)
        media_type = headers.get("content-type", "").partition(";")[0].strip().lower()
        # Other media types (forms, text) are refused by the view (415), whatever they hold.
        body = await read_body(receive) if media_type == "application/json" else None
        if body is None:
            await self.app(scope, receive, send)
            return
        # Only a request that names a hash is decoded here, unless every document must be
        # checked: the others are decoded once, by whichever path answers them.
        if self.resolver.manifest is None and b"persistedQuery" not in body:
            await self.app(scope, replay(body, receive), send)
            return
        try:
            payload = decode_json(body)
        except ValueError:
            payload = None  # malformed: the view says so
        try:
            resolved = await self._resolve(scope, payload)
        except Refused as refused:
            await _refuse(refused, headers, send)
            return
        if resolved is not None:
            body = json.dumps(resolved, separators=(",", ":")).encode()
            scope = dict(scope)
            scope["headers"] = [
                (name, value) for name, value in scope["headers"] if name != b"content-length"
            ] + [(b"content-length", str(len(body)).encode())]
        await self.app(scope, replay(body, receive), send)

    async def _get(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = Headers(scope=scope)
        params = QueryParams(scope["query_string"])
        persisted = "extensions" in params and "persistedQuery" in params["extensions"]
        if not persisted and self.resolver.manifest is None:
            await self.app(scope, receive, send)
            return
        payload: dict[str, Any] = {}
        if "query" in params:
            payload["query"] = params["query"]
        if "extensions" in params:
            with contextlib.suppress(ValueError):  # the view says what is wrong with it
                payload["extensions"] = decode_json(params["extensions"])
        try:
            for repeated in params.getlist("query")[:-1]:  # the view reads the last one
                self.resolver.check_registered(repeated)
            resolved = await self._resolve(scope, payload)
        except Refused as refused:
            await _refuse(refused, headers, send)
            return
        if resolved is not None:
            items = [(k, v) for k, v in params.multi_items() if k not in ("query", "extensions")]
            items.append(("query", resolved["query"]))
            if "extensions" in resolved:
                items.append(("extensions", json.dumps(resolved["extensions"])))
            scope = {**scope, "query_string": str(QueryParams(items)).encode()}
        if persisted:
            send = self._caching(headers, send)
        await self.app(scope, receive, send)

    async def _resolve(self, scope: Scope, payload: object) -> dict[str, Any] | None:
        if not isinstance(payload, dict):
            return None
        store: PersistedDocuments = scope["app"].state.services.persisted
        return await self.resolver.resolve(payload, store)

    def _caching(self, headers: Headers, send: Send) -> Send:
        """`send`, giving the answer its Cache-Control and Vary once its body says whether it
        holds errors (the start of the response is held until then)."""
        credentials = "authorization" in headers or _has_session_cookie(headers)
        start: Message | None = None
        chunks: list[bytes] = []

        async def caching_send(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                return
            if message["type"] != "http.response.body" or start is None:
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            body = b"".join(chunks)
            response_headers = MutableHeaders(scope=start)
            if start["status"] != 200 or _has_errors(body):
                response_headers["cache-control"] = NO_STORE
            elif credentials:
                response_headers["cache-control"] = f"private, {NO_STORE}"
            else:
                response_headers["cache-control"] = f"public, max-age={self.max_age}"
            response_headers["vary"] = VARY
            await send(start)
            await send({"type": "http.response.body", "body": body})

        return caching_send


def _has_session_cookie(headers: Headers) -> bool:
    return any(
        part.strip().startswith(f"{COOKIE_NAME}=")
        for value in headers.getlist("cookie")
        for part in value.split(";")
    )


def _has_errors(body: bytes) -> bool:
    try:
        answer = decode_json(body)
    except ValueError:
        return True
    return not isinstance(answer, dict) or bool(answer.get("errors"))


async def _refuse(refused: Refused, headers: Headers, send: Send) -> None:
    media_type = (
        GRAPHQL_RESPONSE_JSON
        if accepts_graphql_response_json(headers.get("accept", ""))
        else "application/json"
    )
    body = json.dumps({"errors": [refused.formatted]}, separators=(",", ":")).encode()
    await send(
        {
            "type": "http.response.start",
            "status": refused.status,
            "headers": [
                (b"content-type", f"{media_type}; charset=utf-8".encode()),
                (b"content-length", str(len(body)).encode()),
                (b"cache-control", NO_STORE.encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})

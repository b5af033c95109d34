"""Apollo's persisted queries, resolved in front of both paths: automatic (APQ) and registered.

A request names its document by `extensions.persistedQuery = {version: 1, sha256Hash}`, over
POST (JSON) or GET (`?extensions=...`, URL-encoded JSON). This ASGI layer, outside the compiled
path (fastpath/middleware.py), turns it into the request the client would have sent with the
document (`query` set, the hash dropped), so that the compiled path and Strawberry's view see an
ordinary request and answer it as they would that one. Only what Apollo's protocol asks is
answered here:

- `automatic`: a hash without `query` is looked up (cache/persisted.py); unknown, the answer is
  `PersistedQueryNotFound` (HTTP 200, as Apollo Server: the link then sends the document). With
  `query`, its sha256 must be the hash (else 400), and a valid document is stored.
- `registered`: only the manifest's operations run (web/persisted_manifest.py), by id or by a
  body that is one of them word for word; anything else is refused by a lookup, unparsed.
- `off`: a hash is answered `PersistedQueryNotSupported` (the link stops sending hashes).

GET answers to persisted queries carry caching headers: `public, max-age` when the request had
no credentials (so the answer is everyone's), `private, no-store` when it had; errors never
cached. Mutations over GET are refused by the view (405), however they were named.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
from typing import Any

from graphql import GraphQLFormattedError
from starlette.datastructures import Headers, MutableHeaders, QueryParams
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from auth.identity import COOKIE_NAME
from cache.persisted import PersistedDocuments
from schema.codes import ErrorCode
from schema.documents import DocumentCache
from settings import PersistedQueries as Mode
from settings import Settings
from web.json_input import decode_json
from web.media_types import GRAPHQL_RESPONSE_JSON, accepts_graphql_response_json
from web.persisted_manifest import Manifest
from web.request_body import read_body, replay

PATHS = ("/graphql", "/graphql/")
SHA256_HEX = re.compile(r"[0-9a-f]{64}")
# Credentials that make an answer the viewer's own, and the request headers a cache must key
# an answer by: the media type depends on Accept.
VARY = "Accept, Authorization, Cookie"
NO_STORE = "no-store"


class Refused(Exception):
    """A persisted query answered here: a GraphQL error with its code, and its HTTP status."""

    def __init__(self, message: str, code: ErrorCode, status: int = 400) -> None:
        super().__init__(message)
        self.message, self.code, self.status = message, code, status

    @property
    def formatted(self) -> GraphQLFormattedError:
        return {"message": self.message, "extensions": {"code": self.code}}


def not_found() -> Refused:
    return Refused("PersistedQueryNotFound", ErrorCode.PERSISTED_QUERY_NOT_FOUND, 200)


def not_supported() -> Refused:
    return Refused("PersistedQueryNotSupported", ErrorCode.PERSISTED_QUERY_NOT_SUPPORTED, 200)


def not_in_list(what: str) -> Refused:
    return Refused(
        f"{what}: this server runs only the operations its frontend registered",
        ErrorCode.PERSISTED_QUERY_NOT_IN_LIST,
    )


class PersistedQueryResolver:
    """The one rule: a request's payload (`query`, `extensions`, ...) as it is to be run."""

    def __init__(
        self,
        settings: Settings,
        documents: DocumentCache,
        manifest: Manifest | None,
    ) -> None:
        self.mode = settings.persisted_queries
        self.documents = documents
        self.manifest = manifest
        self.max_document_bytes = settings.graphql_max_document_bytes

    async def resolve(
        self, payload: dict[str, Any], store: PersistedDocuments
    ) -> dict[str, Any] | None:
        """The payload to run in place of this one, None to run it as it is; or Refused."""
        extensions = payload.get("extensions")
        persisted = extensions.get("persistedQuery") if isinstance(extensions, dict) else None
        query = payload.get("query")
        if persisted is None:
            self.check_registered(query)
            return None
        if self.mode is Mode.OFF:
            raise not_supported()
        if not isinstance(persisted, dict) or persisted.get("version") != 1:
            raise Refused("Unsupported persisted query version", ErrorCode.BAD_REQUEST)
        sha256_hash = persisted.get("sha256Hash")
        if not isinstance(sha256_hash, str) or not sha256_hash:
            raise Refused("persistedQuery.sha256Hash must be a string", ErrorCode.BAD_REQUEST)
        if query is not None and not isinstance(query, str):
            return None  # the view says what is wrong with it
        if self.manifest is not None:
            body = self.manifest.body(sha256_hash)
            if body is None:
                raise not_in_list(f"Persisted query {sha256_hash!r} is not in the list")
            if query is not None and query != body:
                raise _mismatch()
            query = body
        elif query is None:
            query = await store.get(sha256_hash) if SHA256_HEX.fullmatch(sha256_hash) else None
            if query is None:
                raise not_found()
        else:
            if hashlib.sha256(query.encode()).hexdigest() != sha256_hash:
                raise _mismatch()
            if self._runnable(query):  # a document that would be refused is not kept
                await store.put(sha256_hash, query)
        rest = {k: v for k, v in extensions.items() if k != "persistedQuery"}  # type: ignore[union-attr]
        resolved = {k: v for k, v in payload.items() if k != "extensions"}
        resolved["query"] = query
        if rest:
            resolved["extensions"] = rest
        return resolved

    def check_registered(self, query: object) -> None:
        """Refused, in registered mode, unless `query` is one of the manifest's bodies (by a
        lookup of its sha256: it is not parsed). For documents sent whole, sockets included."""
        manifest = self.manifest
        if manifest is not None and isinstance(query, str) and not manifest.registers(query):
            raise not_in_list("This document is not in the persisted query list")

    def _runnable(self, query: str) -> bool:
        """Within the limits and valid: checked once, and cached for the request that follows
        (schema/documents.py), so storing costs no second parse."""
        if len(query.encode()) > self.max_document_bytes:
            return False
        checked = self.documents.check(query)
        return checked.document is not None and not checked.errors


def _mismatch() -> Refused:
    return Refused("provided sha does not match query", ErrorCode.PERSISTED_QUERY_HASH_MISMATCH)


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

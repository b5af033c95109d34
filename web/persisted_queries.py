"""Apollo's persisted queries, the rule: which document a request runs, or why it runs none.

A request names its document by `extensions.persistedQuery = {version: 1, sha256Hash}`, over
POST (JSON) or GET (`?extensions=...`, URL-encoded JSON). The ASGI layer in front of both paths
(web/persisted_layer.py) asks this rule, and hands on the request the client would have sent with
the document (`query` set, the hash dropped), so that the compiled path and Strawberry's view see
an ordinary request and answer it as they would that one; the view asks it about documents sent
over the socket. By PERSISTED_QUERIES:

- `automatic`: a hash without `query` is looked up (cache/persisted.py); unknown, the answer is
  `PersistedQueryNotFound` (HTTP 200, as Apollo Server: the link then sends the document). With
  `query`, its sha256 must be the hash (else 400), and a valid document is stored.
- `registered`: only the manifest's operations run (web/persisted_manifest.py), by id or by a
  body that is one of them word for word; anything else is refused by a lookup, unparsed.
- `off`: a hash is answered `PersistedQueryNotSupported` (the link stops sending hashes).
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from graphql import GraphQLFormattedError

from cache.persisted import PersistedDocuments
from schema.codes import ErrorCode
from schema.documents import DocumentCache
from settings import PersistedQueries as Mode
from settings import Settings
from web.persisted_manifest import Manifest

SHA256_HEX = re.compile(r"[0-9a-f]{64}")


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
        if not isinstance(extensions, dict):
            extensions = {}
        persisted = extensions.get("persistedQuery")
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
                raise not_in_list("This persisted query id is not in the list")
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
        rest = {k: v for k, v in extensions.items() if k != "persistedQuery"}
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

"""The operations a frontend registered at build time: PERSISTED_QUERY_MANIFEST, in the format
Apollo's `generate-persisted-query-manifest` writes, for PERSISTED_QUERIES=registered.

    {"format": "apollo-persisted-query-manifest", "version": 1,
     "operations": [{"id": "...", "name": "...", "type": "query", "body": "query ..."}]}

A request names an operation by its id, or sends a body that is one of them word for word: both
are found by a lookup (the body by its sha256), so anything else is refused unparsed. A manifest
that cannot be read, or that is not in this format, is a start-up problem (startup.py).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from startup import StartupProblem

FORMAT = "apollo-persisted-query-manifest"
TYPES = frozenset({"query", "mutation", "subscription"})


@dataclass(frozen=True)
class Manifest:
    bodies_by_id: dict[str, str]
    # sha256 of each body's UTF-8 text: a document sent whole is looked up by it.
    body_digests: frozenset[bytes]

    def body(self, operation_id: str) -> str | None:
        return self.bodies_by_id.get(operation_id)

    def registers(self, document: str) -> bool:
        return digest(document) in self.body_digests


def digest(document: str) -> bytes:
    return hashlib.sha256(document.encode()).digest()


def load_manifest(path: Path, max_document_bytes: int) -> Manifest:
    """The manifest at `path`, or a StartupProblem saying what is wrong with it."""

    def problem(what: str) -> StartupProblem:
        return StartupProblem(
            f"PERSISTED_QUERY_MANIFEST={path}: {what}: write it with Apollo's"
            " generate-persisted-query-manifest, or correct the path"
        )

    try:
        manifest = json.loads(path.read_bytes())
    except OSError as error:
        raise problem(f"cannot read it ({error.strerror or error})") from None
    except ValueError as error:  # not UTF-8, or not JSON
        raise problem(f"not JSON ({error})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise problem(f'not a persisted query manifest (no "format": "{FORMAT}")')
    if manifest.get("version") != 1:
        raise problem(f"version {manifest.get('version')!r} is not supported (only 1)")
    operations = manifest.get("operations")
    if not isinstance(operations, list):
        raise problem('"operations" must be a list')
    bodies: dict[str, str] = {}
    for number, operation in enumerate(operations):
        if not (
            isinstance(operation, dict)
            and isinstance(operation.get("id"), str)
            and operation["id"]
            and isinstance(operation.get("body"), str)
            and isinstance(operation.get("name"), str)
            and operation.get("type") in TYPES
        ):
            raise problem(
                f"operation {number} must have a string id, name and body, and a type of"
                " query, mutation or subscription"
            )
        operation_id, body = operation["id"], operation["body"]
        if len(body.encode()) > max_document_bytes:
            raise problem(
                f"operation {operation_id!r} is larger than GRAPHQL_MAX_DOCUMENT_BYTES"
                f" ({max_document_bytes}): it would always be refused"
            )
        if bodies.setdefault(operation_id, body) != body:
            raise problem(f"id {operation_id!r} names two different bodies")
    return Manifest(bodies, frozenset(digest(body) for body in bodies.values()))

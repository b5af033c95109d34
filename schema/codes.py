"""The machine-readable error codes a client sees: GraphQL's `extensions.code` and REST's `code`.

One list for both surfaces, so that the same trouble reads the same wherever it is met (an
expired token is UNAUTHENTICATED on /graphql and on /users/me). The last four exist for
refusals only HTTP makes (REST routes, or the HTTP layer in front of /graphql).
"""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    BAD_USER_INPUT = "BAD_USER_INPUT"
    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    NOT_FOUND = "NOT_FOUND"
    CONFLICT = "CONFLICT"
    RATE_LIMITED = "RATE_LIMITED"
    GRAPHQL_PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
    GRAPHQL_VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
    QUERY_TOO_COMPLEX = "QUERY_TOO_COMPLEX"
    FEED_GAP = "FEED_GAP"
    # Apollo's persisted queries (web/persisted_queries.py): the first two are Apollo's own,
    # which its link acts on (it sends the document, or stops sending hashes).
    PERSISTED_QUERY_NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
    PERSISTED_QUERY_NOT_SUPPORTED = "PERSISTED_QUERY_NOT_SUPPORTED"
    PERSISTED_QUERY_HASH_MISMATCH = "PERSISTED_QUERY_HASH_MISMATCH"
    # PERSISTED_QUERIES=registered: an id or a document the manifest does not hold.
    PERSISTED_QUERY_NOT_IN_LIST = "PERSISTED_QUERY_NOT_IN_LIST"
    INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR"
    SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
    # Too much work at once: the process's request limit, or no pooled connection in time.
    SERVER_BUSY = "SERVER_BUSY"
    # HTTP only: a request no route can read (malformed, or refused as cross-site forgery).
    BAD_REQUEST = "BAD_REQUEST"
    METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"
    CONTENT_TOO_LARGE = "CONTENT_TOO_LARGE"
    UNSUPPORTED_MEDIA_TYPE = "UNSUPPORTED_MEDIA_TYPE"

"""The compiled path in front of Strawberry: plain-data queries answered by one SQL statement.

An ASGI middleware rather than a route, because it must be able to decline: a request it cannot
answer exactly as the general path would (not a JSON POST or a GET with `query`, no valid
session, a document that does not compile, a failure of the compiled statement) goes on to
Strawberry untouched, body included. A busy or unreachable database is answered here, as the
general path would answer it.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import OrderedDict
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from graphql import (
    DocumentNode,
    GraphQLError,
    OperationDefinitionNode,
    OperationType,
    get_operation_ast,
)
from sqlalchemy import Dialect
from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from auth.identity import token_from
from auth.tokens import Claims, read_token
from cache.codec import RAW
from cache.lru import ByteLRU
from compat.strawberry import graphql_core_schema
from db import data_versions
from db.engine import is_lost_connection
from fastpath.compiler import NotCompilable, QueryCompiler, Statement
from fastpath.driver import LostConnection, fetch_row, fetch_value
from fastpath.plan import SESSION_ID, TOKEN_VERSION, VIEWER_ID
from observability import record
from schema.cost import operation_cost
from services import Services
from settings import Settings
from web.csrf import require_preflight
from web.errors import database_failure
from web.graphql_schema import TradingSchema
from web.json_input import decode_json
from web.media_types import GRAPHQL_RESPONSE_JSON, accepts_graphql_response_json
from web.request_body import read_body, replay

logger = logging.getLogger(__name__)
PATHS = ("/graphql", "/graphql/")
TOKEN_CACHE_SIZE = 10_000
# What a cached statement weighs beyond its SQL text and values (the objects around them).
STATEMENT_OVERHEAD_BYTES = 512


class CompiledQueries:
    def __init__(self, app: ASGIApp, *, schema: TradingSchema, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self.graphql_schema = graphql_core_schema(schema)
        self.documents = schema.documents
        # Built on the first request, for the dialect of the engine that runs the statements.
        self.compiler: QueryCompiler | None = None
        self.tokens: OrderedDict[str, Claims] = OrderedDict()
        # By a hash of (document, operation, variables): a request's text is not kept.
        # Declined documents are kept too, as (None,): the general path answers them.
        self.statements: ByteLRU[tuple[Statement | None]] = ByteLRU(
            settings.graphql_document_cache_bytes
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        method = scope["method"] if scope["type"] == "http" else None
        if method not in ("GET", "POST") or scope["path"] not in PATHS:
            await self.app(scope, receive, send)
            return
        connection = HTTPConnection(scope)
        claims = self._claims(token_from(connection))
        if claims is None:  # answered as the general path would: its body is not read here
            await self.app(scope, receive, send)
            return
        headers = connection.headers
        services = scope["app"].state.services
        if method == "GET":
            # A query sent by GET (a persisted query's hash among them, resolved outside), held
            # to the view's CSRF rule: a request the view would refuse is the view's to refuse.
            request = _graphql_get_request(connection)
            if request is None or not await _passes_csrf(connection):
                await self.app(scope, receive, send)
                return
            answer = await self._answer(services, connection, claims, request)
            if answer is None:
                await self.app(scope, receive, send)
                return
        else:
            body = await _read_body(headers, receive, self.settings.max_body_bytes)
            if body is None:  # not read: the app reads it
                await self.app(scope, receive, send)
                return
            answer = await self._answer(services, connection, claims, _graphql_request(body))
            if answer is None:
                await self.app(scope, replay(body, receive), send)
                return
        if isinstance(answer, Response):  # the database's failure, answered as the app would
            await answer(scope, receive, send)
            return
        accept = headers.get("accept", "")
        media_type = (
            GRAPHQL_RESPONSE_JSON if accepts_graphql_response_json(accept) else "application/json"
        )
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", f"{media_type}; charset=utf-8".encode()),
                    (b"content-length", str(len(answer)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": answer})

    async def _answer(
        self,
        services: Services,
        connection: HTTPConnection,
        claims: Claims,
        request: GraphQLRequest | None,
    ) -> bytes | Response | None:
        if request is None:
            return None
        compiler = self._compiler(services.reader.dialect)
        statement = self._statement(compiler, *request)
        operation_name = request[1]
        if statement is None:
            return None
        viewer = {
            VIEWER_ID: claims.user_id,
            TOKEN_VERSION: claims.version,
            SESSION_ID: claims.session_id,
        }
        try:
            if not (services.reads.cache.enabled and statement.cacheable):
                data = await self._fetch(services, statement, viewer)
            else:
                data = await self._cached(services, compiler, statement, viewer)
        except Exception as error:
            if isinstance(error, LostConnection) or is_lost_connection(error):
                # The reader keeps idle connections unchecked (see create_reader): one that
                # died with a database restart costs this request one retry, on the general
                # path's engine, which checks its connections.
                logger.warning("compiled query's connection was lost; answering it the general way")
                return None
            # A busy or unreachable database would fail the general path the same way, after
            # another wait for it: answer as that path would, without retrying.
            failure = database_failure(
                error, connection.url.path, getattr(connection.state, "request_id", None)
            )
            if failure is not None:
                return failure
            # Anything else is the compiled statement's own fault: the general path answers.
            logger.warning("compiled query failed; answering it the general way", exc_info=True)
            return None
        if data is None:
            return None  # no such session (any more): the general path says so
        # For the request's log line and metrics, as Strawberry's path records them.
        record.set_operation(operation_name or statement.operation_name, "query", compiled=True)
        record.set_viewer(claims.user_id)
        return b'{"data":' + data + b"}"

    async def _cached(
        self,
        services: Services,
        compiler: QueryCompiler,
        statement: Statement,
        viewer_values: Mapping[str, object],
    ) -> bytes | None:
        """From the result cache, keyed by the statement, its values, (when the JSON depends on
        who asks) the viewer, and the versions of the tables it reads. The session is still
        checked in the database on every request (a logged-out token must not read cached
        results), and the versions come with that check: no extra round trip."""
        record.count_statement()  # the reader engine leaves counting to its callers
        check = compiler.viewer_check
        viewer = await fetch_row(services.reader, check.sql, check.parameters(viewer_values))
        if viewer is None:
            return None
        scope = f":{viewer['id']}:{bool(viewer['admin'])}" if statement.per_viewer else ""
        key = f"compiled:{statement.digest}{scope}"
        tags = sorted(statement.tables)
        versions = data_versions.from_mapping(viewer)

        async def load() -> bytes | None:
            return await self._fetch(services, statement, viewer_values)

        return await services.reads.cache.get_or_load(key, tags, load, RAW, versions=versions)

    @staticmethod
    async def _fetch(
        services: Services, statement: Statement, viewer: Mapping[str, object]
    ) -> bytes | None:
        record.count_statement()  # the reader engine leaves counting to its callers
        sql, parameters = statement.query.sql, statement.parameters(viewer)
        data = await fetch_value(services.reader, sql, parameters)
        return data.encode() if data is not None else None

    def _claims(self, token: str | None) -> Claims | None:
        """The token's claims, verified once per token and process: a token's signature and
        claims never change, only the clock moves past its expiry. Whether its session is still
        valid is the statement's own check, on every request."""
        if not token:
            return None
        claims = self.tokens.get(token)
        if claims is None or claims.expires_at <= datetime.now(UTC):
            claims = read_token(self.settings, token)
            if claims is None:
                return None
            self.tokens[token] = claims
            if len(self.tokens) > TOKEN_CACHE_SIZE:
                self.tokens.popitem(last=False)
        return claims

    def _compiler(self, dialect: Dialect) -> QueryCompiler:
        """The compiler for the reader's dialect, built by the first request (the engine comes
        with the app's services, after this middleware)."""
        if self.compiler is None:
            self.compiler = QueryCompiler(self.graphql_schema, dialect)
        return self.compiler

    def _statement(
        self,
        compiler: QueryCompiler,
        query: str,
        operation_name: str | None,
        variables: dict[str, Any] | None,
    ) -> Statement | None:
        """The statement answering a query, or None for anything the general path must answer
        (mutations, subscriptions, errors). Kept by a hash of what decides it: the document, the
        operation and the values of the variables it declares (not the request's text)."""
        checked = self.documents.check(query)
        document = checked.document
        if document is None or checked.errors:
            return None
        operation = get_operation_ast(document, operation_name)
        if operation is None or operation.operation is not OperationType.QUERY:
            return None
        declared = {d.variable.name.value for d in operation.variable_definitions or ()}
        used = {k: v for k, v in (variables or {}).items() if k in declared}
        key = hashlib.sha256(
            checked.digest + json.dumps([operation_name, used], sort_keys=True).encode()
        ).digest()
        cached = self.statements.get(key)
        if cached is None:
            cached = (self._compile(compiler, document, operation, operation_name, used),)
            self.statements.put(key, cached, _weight(cached[0]))
        return cached[0]

    def _compile(
        self,
        compiler: QueryCompiler,
        document: DocumentNode,
        operation: OperationDefinitionNode,
        operation_name: str | None,
        variables: dict[str, Any],
    ) -> Statement | None:
        try:
            cost = operation_cost(
                self.graphql_schema, document, operation, variables, self.settings.graphql_max_cost
            )
            if cost > self.settings.graphql_max_cost:
                return None
            return compiler.compile(document, operation_name, variables)
        except (NotCompilable, GraphQLError):
            return None


def _weight(statement: Statement | None) -> int:
    """At most what a cached statement holds: its SQL text is shared by the documents of one
    plan (fastpath/plan.py) but counted in each, so the cache stays within its bytes."""
    if statement is None:
        return STATEMENT_OVERHEAD_BYTES
    values = [*statement.query.values, *statement.arguments.values()]
    text = sum(len(value) for value in values if isinstance(value, str))
    return len(statement.query.sql) + text + STATEMENT_OVERHEAD_BYTES


async def _read_body(headers: Mapping[str, str], receive: Receive, limit: int) -> bytes | None:
    """A JSON body of a declared size within the limit, read whole; None to leave it unread."""
    media_type = headers.get("content-type", "").partition(";")[0].strip().lower()
    length = headers.get("content-length", "")
    if media_type != "application/json" or not length.isdigit() or int(length) > limit:
        return None
    return await read_body(receive)


# A request's document, operation name and variables.
GraphQLRequest = tuple[str, str | None, dict[str, Any] | None]


def _graphql_request(body: bytes) -> GraphQLRequest | None:
    try:
        payload = decode_json(body)
    except ValueError:  # malformed, or nested too deeply: the general path says which
        return None
    return _checked_request(payload)


def _graphql_get_request(connection: HTTPConnection) -> GraphQLRequest | None:
    """GET's `?query=...&variables=...&operationName=...`, variables as URL-encoded JSON."""
    params = connection.query_params
    if set(params) - {"query", "variables", "operationName"}:
        return None
    payload: dict[str, Any] = dict(params)
    if "variables" in payload:
        try:
            payload["variables"] = decode_json(payload["variables"])
        except ValueError:
            return None
    return _checked_request(payload)


def _checked_request(payload: object) -> GraphQLRequest | None:
    if not isinstance(payload, dict) or set(payload) - {"query", "variables", "operationName"}:
        return None
    query, variables = payload.get("query"), payload.get("variables")
    operation_name = payload.get("operationName")
    if (
        not isinstance(query, str)
        or not (variables is None or isinstance(variables, dict))
        or not (operation_name is None or isinstance(operation_name, str))
    ):
        return None
    return query, operation_name, variables


async def _passes_csrf(connection: HTTPConnection) -> bool:
    try:
        await require_preflight(connection)
    except HTTPException:
        return False
    return True

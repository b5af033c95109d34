"""The /graphql endpoint: Strawberry's FastAPI router, WebSocket authentication and accounting."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from functools import partial
from typing import Any

# The exception type Strawberry raises for HTTP-level refusals (from its cross-web helper).
from cross_web import HTTPException as StrawberryHTTPException
from fastapi import Depends, HTTPException, Request, Response, status
from starlette.websockets import WebSocket
from strawberry.exceptions import ConnectionRejectionError
from strawberry.fastapi import GraphQLRouter
from strawberry.http import GraphQLHTTPResponse
from strawberry.schema import BaseSchema
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler
from strawberry.types import ExecutionResult
from strawberry.types.unset import UnsetType

from auth.identity import signed_in
from events.broadcast import LiveSocket
from observability.metrics import WS_CONNECTIONS
from resolvers.context import Context, get_context
from settings import Settings
from web.csrf import require_preflight
from web.json_input import NESTED_TOO_DEEPLY, NestedTooDeeply, decode_json
from web.media_types import GraphQLResponse, graphql_response


@contextmanager
def _counted(context: Context) -> Iterator[None]:
    """Open sockets, for `liveStats`; a closed one is no longer tracked for logout."""
    broadcaster = context.services.broadcaster
    broadcaster.fanout.counters.connections += 1
    WS_CONNECTIONS.inc()
    try:
        yield
    finally:
        broadcaster.fanout.counters.connections -= 1
        WS_CONNECTIONS.dec()
        broadcaster.untrack_socket(id(context))


class TransportWSHandler(BaseGraphQLTransportWSHandler[Context, None]):
    async def handle(self) -> None:
        with _counted(self.context):
            await super().handle()


class LegacyWSHandler(BaseGraphQLWSHandler[Context, None]):
    """subscriptions-transport-ws (`graphql-ws`), only when WS_LEGACY_PROTOCOL enables it."""

    async def handle(self) -> None:
        with _counted(self.context):
            await super().handle()


class GraphQLView(GraphQLRouter[Context, None]):
    graphql_transport_ws_handler_class = TransportWSHandler
    graphql_ws_handler_class = LegacyWSHandler

    def __init__(self, schema: BaseSchema, settings: Settings) -> None:
        protocols = [GRAPHQL_TRANSPORT_WS_PROTOCOL]
        if settings.ws_legacy_protocol:
            protocols.append(GRAPHQL_WS_PROTOCOL)
        super().__init__(
            schema,
            context_getter=get_context,
            graphql_ide="graphiql" if settings.graphql_ide_enabled else None,
            subscription_protocols=protocols,
            # Browsers send Origin on the handshake: pages on other origins than these (and the
            # server's own) are refused even with a valid cookie. Non-browser clients send none.
            allowed_origins=settings.cors_origins,
            connection_init_wait_timeout=timedelta(seconds=settings.ws_init_timeout_seconds),
            max_subscriptions_per_connection=settings.ws_max_subscriptions,
            dependencies=[Depends(require_preflight)],
        )

    def decode_json(self, data: str | bytes) -> object:
        """Every JSON a client sends, bodies, query parameters and WebSocket messages alike:
        too deep a document is malformed JSON (a 400, or a WebSocket closed with 4400)."""
        return decode_json(data)

    def parse_json(self, data: str | bytes) -> Any:
        try:
            parsed = self.decode_json(data)
        except NestedTooDeeply:
            raise StrawberryHTTPException(400, NESTED_TOO_DEEPLY) from None
        except ValueError:  # Strawberry's own answer to malformed JSON
            raise StrawberryHTTPException(400, "Unable to parse request body as JSON") from None
        if not isinstance(parsed, dict | list):  # Strawberry would fail on `42` with a 500
            raise StrawberryHTTPException(400, "The request body must be a JSON object")
        return parsed

    async def execute_single(self, *args: Any, **kwargs: Any) -> ExecutionResult:
        try:
            return await super().execute_single(*args, **kwargs)
        except StrawberryHTTPException as error:
            if error.reason == "mutations are not allowed when using GET":
                # GraphQL over HTTP: 405, and (HTTP) an Allow header naming what would work.
                raise HTTPException(
                    status.HTTP_405_METHOD_NOT_ALLOWED,
                    "Mutations are not allowed over GET: send them with POST",
                    headers={"Allow": "POST"},
                ) from None
            raise

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        processed = await super().process_result(request, result)
        accept = request.headers.get("accept", "")
        return graphql_response(processed, accept)  # type: ignore[return-value]

    def create_response(
        self,
        response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse],
        sub_response: Response,
    ) -> Response:
        response = super().create_response(response_data, sub_response)
        if isinstance(response_data, GraphQLResponse):
            response.headers["content-type"] = f"{response_data.media_type}; charset=utf-8"
            if response.status_code == 200:
                response.status_code = response_data.status_code
        return response

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        """Identify the socket by its cookie or bearer header, or by `connectionParams.authToken`.

        A socket with no valid identity is closed with 4403 before it can subscribe.
        """
        params = context.connection_params
        token = params.get("authToken") if isinstance(params, dict) else None
        if isinstance(token, str) and token:
            session = await signed_in(context.services, token)
            context.viewer = session.user if session else None
            context.claims = session.claims if session else None
        if context.viewer is None or context.claims is None:
            raise ConnectionRejectionError
        context.refresh_loaders()
        websocket = context.request
        if isinstance(websocket, WebSocket):
            # Logging out (here or on another process) closes this socket with 4403.
            context.services.broadcaster.track_socket(
                id(context),
                LiveSocket(
                    user_id=context.viewer.id,
                    session_id=context.claims.session_id,
                    version=context.claims.version,
                    close=partial(websocket.close),
                ),
            )
        return UnsetType()  # the singleton UNSET: acknowledge with no payload

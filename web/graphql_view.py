"""The /graphql endpoint: Strawberry's FastAPI router, WebSocket authentication and accounting."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from functools import partial
from json import JSONDecodeError
from typing import Any, cast

import strawberry
from fastapi import Depends, HTTPException, Request, Response, status
from fastapi.responses import HTMLResponse
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState
from strawberry.exceptions import ConnectionRejectionError
from strawberry.fastapi import GraphQLRouter
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL
from strawberry.types import ExecutionResult

from auth.identity import SESSION_REFUSED, InvalidToken, clear_cookie, signed_in, token_is_cookie
from compat.strawberry import (
    ASGIWebSocketAdapter,
    AsyncBaseHTTPView,
    AsyncHTTPRequestAdapter,
    BaseGraphQLTransportWSHandler,
    BaseGraphQLWSHandler,
    ConnectionInitMessage,
    ErrorMessage,
    LegacyConnectionInitMessage,
    LegacyErrorMessage,
    Message,
    NonJsonMessageReceived,
    NonTextMessageReceived,
    StartMessage,
    StrawberryHTTPException,
    SubscribeMessage,
    UnsetType,
    WebSocketDisconnected,
    refuses_mutation,
)
from events.broadcast import LiveSocket
from events.shared_results import SharedData
from observability.metrics import WS_CONNECTIONS
from ratelimit.limiter import RateLimitExceeded, Rule
from schema.context import Context
from schema.errors import Unauthenticated
from services import Services
from settings import Settings
from web.csrf import require_preflight
from web.deps import get_context
from web.graphiql_page import graphiql_page
from web.json_input import NESTED_TOO_DEEPLY, NestedTooDeeply, decode_json
from web.media_types import GraphQLResponse, graphql_response
from web.persisted_queries import PersistedQueryResolver, Refused
from web.rest_errors import ApiError

# RFC 6455 "Message Too Big"; graphql-ws clients treat it as fatal: resending would not help.
MESSAGE_TOO_BIG_CLOSE_CODE = 1009
# RFC 6455 "Try Again Later": graphql-ws clients retry it with backoff, and get in once one of
# the user's other sockets has closed. 4429 would be fatal to them, and means a second init.
TOO_MANY_SOCKETS_CLOSE_CODE = 1013


class TooManySockets(Exception):
    """The user holds as many sockets as they may, or opened as many as they may of late."""


class SizedWebSocketAdapter(ASGIWebSocketAdapter):
    """Strawberry's ASGI adapter (`iter_json` as there) refusing a message longer than
    MAX_BODY_BYTES before it is parsed: uvicorn's own cap (`--ws-max-size`) is 16 MiB, and
    parsing is where a large message costs (an `addTrades` of 200,000 items: 9-15 s of CPU)."""

    def __init__(
        self,
        view: AsyncBaseHTTPView[Any, Any, Any, Any, Any, Any, Any],
        request: WebSocket,
        response: WebSocket,
    ) -> None:
        super().__init__(view, request, response)
        self.max_bytes = cast("GraphQLView", view).max_message_bytes  # only GraphQLView uses it

    async def iter_json(
        self, *, ignore_parsing_errors: bool = False
    ) -> AsyncGenerator[object, None]:
        limit = self.max_bytes
        try:
            while self.ws.application_state != WebSocketState.DISCONNECTED:
                text = await self.ws.receive_text()
                # Characters first: counting the UTF-8 bytes of a 16 MiB text would copy it.
                if len(text) > limit or len(text.encode()) > limit:
                    await self.close(MESSAGE_TOO_BIG_CLOSE_CODE, "Message too big")
                    return
                try:
                    message = self.view.decode_json(text)
                except JSONDecodeError as error:
                    if ignore_parsing_errors:
                        continue
                    raise NonJsonMessageReceived from error
                yield message
        except KeyError as error:  # a binary message: Starlette has no "text" for it
            raise NonTextMessageReceived from error
        except WebSocketDisconnect:
            pass


@contextmanager
def _counted(context: Context) -> Iterator[None]:
    """Open sockets, for `liveStats`; a closed one is no longer tracked for logout."""
    with context.services.broadcaster.connected(id(context)):
        WS_CONNECTIONS.inc()
        try:
            yield
        finally:
            WS_CONNECTIONS.dec()


def _session_lasts(context: Context) -> bool:
    """Whether an operation may start: not once the socket's token expired or its session ended
    (the socket is being closed with 4403 then)."""
    return context.services.broadcaster.session_lasts(id(context))


async def _close(websocket: WebSocket, code: int, reason: str) -> None:
    """Close unless the socket is already closing: Starlette refuses a second close."""
    if websocket.application_state is WebSocketState.CONNECTED:
        await websocket.close(code, reason)


class TransportWSHandler(BaseGraphQLTransportWSHandler[Context, None]):
    async def handle(self) -> None:
        with _counted(self.context):
            await super().handle()

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        try:
            await super().handle_connection_init(message)
        except TooManySockets as refused:
            await self.websocket.close(TOO_MANY_SOCKETS_CLOSE_CODE, str(refused))

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        if self.connection_acknowledged and not _session_lasts(self.context):
            return
        if self.connection_acknowledged:
            try:
                _check_registered(self.view, message.get("payload"))
            except Refused as refused:
                error = ErrorMessage(id=message["id"], type="error", payload=[refused.formatted])
                await self.send_message(error)
                return
        await super().handle_subscribe(message)

    async def send_message(self, message: Message) -> None:
        """A live event's shared result (events/shared_results.py) is encoded once for all the
        sockets that selected it; each is sent it with its own operation id spliced in."""
        if message["type"] == "next":
            payload = message["payload"]
            data = payload["data"]
            if isinstance(data, SharedData) and len(payload) == 1:  # no errors, no extensions
                text = next_message(message["id"], data, self.view.encode_json_string)
                try:
                    await cast("SizedWebSocketAdapter", self.websocket).ws.send_text(text)
                except WebSocketDisconnect as gone:  # as Strawberry's own send
                    raise WebSocketDisconnected from gone
                return
        await super().send_message(message)


def next_message(operation_id: str, data: SharedData, encode: Callable[[object], str]) -> str:
    """`{"id": operation_id, "type": "next", "payload": {"data": data}}` as JSON, the payload
    encoded by the first socket that sends it and kept on `data` for the others."""
    payload = data.encoded_payload
    if payload is None:
        payload = data.encoded_payload = encode({"data": data})
    return f'{{"id":{encode(operation_id)},"type":"next","payload":{payload}}}'


class LegacyWSHandler(BaseGraphQLWSHandler[Context, None]):
    """subscriptions-transport-ws (`graphql-ws`), only when WS_LEGACY_PROTOCOL enables it."""

    async def handle(self) -> None:
        with _counted(self.context):
            await super().handle()

    async def handle_connection_init(self, message: LegacyConnectionInitMessage) -> None:
        try:
            await super().handle_connection_init(message)
        except TooManySockets as refused:
            await self.websocket.close(TOO_MANY_SOCKETS_CLOSE_CODE, str(refused))

    async def handle_start(self, message: StartMessage) -> None:
        if self.connection_acknowledged and not _session_lasts(self.context):
            return
        try:
            _check_registered(self.view, message.get("payload"))
        except Refused as refused:
            error = LegacyErrorMessage(id=message["id"], type="error", payload=refused.formatted)
            await self.send_message(error)
            return
        await super().handle_start(message)


def _check_registered(view: object, payload: object) -> None:
    """With PERSISTED_QUERIES=registered, a socket's documents are held to the manifest too."""
    resolver = cast("GraphQLView", view).persisted_queries
    if resolver is not None and isinstance(payload, dict):
        resolver.check_registered(payload.get("query"))


class GraphQLView(GraphQLRouter[Context, None]):
    graphql_transport_ws_handler_class = TransportWSHandler
    graphql_ws_handler_class = LegacyWSHandler
    websocket_adapter_class = SizedWebSocketAdapter

    def __init__(
        self,
        schema: strawberry.Schema,
        settings: Settings,
        persisted_queries: PersistedQueryResolver | None = None,
    ) -> None:
        self.persisted_queries = persisted_queries
        # A WebSocket message is held to the HTTP body limit.
        self.max_message_bytes = settings.max_body_bytes
        self.max_sockets_per_user = settings.ws_max_sockets_per_user
        self.settings = settings
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

    async def run(
        self, request: Any, context: Any = strawberry.UNSET, root_value: Any = strawberry.UNSET
    ) -> Any:
        """Strawberry answers its own HTTP refusals (malformed bodies, no query) in plain text:
        raised again as HTTPException, the app's handler gives them the REST error body."""
        try:
            return await super().run(request, context, root_value)
        except StrawberryHTTPException as error:
            if isinstance(request, WebSocket):
                raise
            raise ApiError(error.status_code, error.reason) from None

    async def render_graphql_ide(self, request: Request) -> HTMLResponse:
        """Our GraphiQL page, whose libraries are served by the app: Strawberry's loads them from
        a CDN and would not render without internet."""
        return graphiql_page(request.headers.get("host", ""))

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

    async def execute_single(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        sub_response: Response,
        context: Context,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        if context.token_refused:
            # A request error, whatever the operation: the client's session ended, and it must
            # not be answered as an anonymous one. A refused cookie is dropped by the browser.
            if token_is_cookie(request):
                clear_cookie(sub_response, self.settings)
            return ExecutionResult(data=None, errors=[Unauthenticated(SESSION_REFUSED)])
        try:
            return await super().execute_single(
                request, request_adapter, sub_response, context, root_value, request_data
            )
        except StrawberryHTTPException as error:
            if refuses_mutation(error):
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
                if response_data.retry_after is not None:
                    response.headers["Retry-After"] = str(response_data.retry_after)
                if response_data.challenge is not None:
                    response.headers["WWW-Authenticate"] = response_data.challenge
        return response

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        """Identify the socket by its cookie or bearer header, or by `connectionParams.authToken`.

        A socket with no valid identity (none, or a refused one; or whose handshake token has
        expired since) is closed with 4403 before it can subscribe; one beyond the user's socket
        cap with 1013.
        """
        params = context.connection_params
        token = params.get("authToken") if isinstance(params, dict) else None
        if isinstance(token, str) and token:
            try:
                session = await signed_in(
                    context.services.settings, context.services.sessions, token
                )
            except InvalidToken:
                session = None
            context.viewer = session.user if session else None
            context.claims = session.claims if session else None
        websocket = context.request
        if context.viewer is None or context.claims is None or not isinstance(websocket, WebSocket):
            raise ConnectionRejectionError
        socket = LiveSocket(
            user_id=context.viewer.id,
            session_id=context.claims.session_id,
            version=context.claims.version,
            expires_at=context.claims.expires_at,
            close=partial(_close, websocket),
        )
        if socket.expired():
            raise ConnectionRejectionError
        await _count_new_socket(context.services, socket.user_id)
        # Counted and tracked with no await in between: concurrent inits cannot both pass.
        broadcaster = context.services.broadcaster
        if broadcaster.open_sockets(socket.user_id) >= self.max_sockets_per_user:
            raise TooManySockets(
                f"Too many open sockets for this user (at most {self.max_sockets_per_user})"
            )
        # Logging out (here or on another process) or the token's expiry closes it with 4403.
        broadcaster.track_socket(id(context), socket)
        context.refresh_loaders()
        return UnsetType()  # the singleton UNSET: acknowledge with no payload


async def _count_new_socket(services: Services, user_id: int) -> None:
    """Each new socket costs a session check and a handshake: so many per user a minute, on
    every process together (a client reconnecting in a loop is refused, with 1013's backoff)."""
    per_user = Rule("sockets:user", services.settings.ws_max_new_sockets_per_minute, 60)
    try:
        await services.rate_limits.take((per_user, str(user_id)))
    except RateLimitExceeded as error:
        raise TooManySockets(
            f"Too many new sockets for this user; try again in {error.retry_after} s"
        ) from None

"""The FastAPI app: GraphQL at /graphql, the REST auth routes, CORS, request ids, lifespan."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from auth.accounts import EmailTakenError, ensure_admin
from auth.routes import router as auth_router
from fastpath.middleware import CompiledQueries
from observability.logs import configure_logging
from observability.middleware import RequestLog
from observability.routes import router as metrics_router
from resolvers.view import GraphQLView
from schema.schema import create_schema
from services import start_services
from settings import Settings, get_settings
from web.errors import add_database_error_handlers
from web.health import router as health_router
from web.live_page import add_live_page

logger = logging.getLogger("trading_api")
REQUEST_ID_HEADER = "X-Request-ID"


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_format_effective)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with start_services(settings) as services:
            if settings.first_admin_email and settings.first_admin_password:
                try:
                    async with services.sessions.begin() as session:
                        admin_id = await ensure_admin(
                            session,
                            settings.first_admin_email,
                            settings.first_admin_password.get_secret_value(),
                            name="Admin",
                        )
                except EmailTakenError:
                    admin_id = None  # another process created it at the same moment
                if admin_id is not None:
                    # Its role may have changed: no process may serve the old record.
                    await services.reads.user_changed(admin_id)
            app.state.services = services
            yield

    app = FastAPI(
        title="Trading API",
        summary="GraphQL trading API: users, trades and degrees. GraphQL lives at /graphql.",
        lifespan=lifespan,
        # Larger bodies get 413 before they are read whole.
        max_body_size=settings.max_body_bytes,
    )
    app.include_router(auth_router)
    app.include_router(health_router)
    app.include_router(metrics_router)
    add_database_error_handlers(app)
    schema = create_schema(settings)
    app.include_router(GraphQLView(schema, settings), prefix="/graphql")
    if settings.live_page_enabled:
        add_live_page(app)
    if settings.graphql_compiled_queries:
        # Added first, so it runs innermost: after CORS and the request id.
        app.add_middleware(CompiledQueries, schema=schema, settings=settings)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_credentials=True,
        allow_methods=["GET", "POST"],
        allow_headers=[
            "content-type",
            "authorization",
            "apollo-require-preflight",
            "x-apollo-operation-name",
        ],
    )

    # Inside RequestId (it logs that id), outside everything that answers.
    app.add_middleware(RequestLog)
    app.add_middleware(RequestId)
    return app


class RequestId:
    """Every HTTP response names its request (X-Request-ID); resolvers log the same id.

    Plain ASGI: Starlette's BaseHTTPMiddleware runs each request in a task group of its own,
    which cost more than the compiled queries themselves."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        await self.app(scope, receive, send_with_id)


app = create_app()

"""The FastAPI app: GraphQL at /graphql, the REST auth routes, CORS, request logs, lifespan."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from auth.accounts import EmailTakenError, ensure_admin
from db import data_versions
from fastpath.middleware import CompiledQueries
from observability.logs import configure_logging
from observability.middleware import RequestLog
from schema.models import UserCreate
from services import Services, start_services
from settings import FIRST_ADMIN_NAME, PersistedQueries, Settings, get_settings
from startup import check_database, database_problems, exit_on_problem
from web.auth_routes import router as auth_router
from web.body_limit import BodyLimit
from web.errors import add_database_error_handlers
from web.graphiql_page import add_graphiql_assets
from web.graphql_schema import create_schema
from web.graphql_view import GraphQLView
from web.health import router as health_router
from web.lifespan_report import LifespanReport
from web.live_page import add_live_page
from web.load_shedding import ConcurrencyLimit
from web.metrics import router as metrics_router
from web.persisted_layer import PersistedQueryLayer
from web.persisted_manifest import Manifest, load_manifest
from web.persisted_queries import PersistedQueryResolver
from web.rest_docs import add_rest_docs
from web.rest_errors import ERROR_RESPONSES, add_error_handlers
from web.vendored import add_vendored_assets

logger = logging.getLogger("trading_api")
OPENAPI_PATH = "/openapi.json"


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_format_effective, settings.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            # A database that is missing, unreachable, refuses us or is behind the migrations
            # is a start-up problem, told in one line (web/lifespan_report.py).
            with database_problems(settings.database_url):
                await check_database(settings)
                services = await stack.enter_async_context(start_services(settings))
                await ensure_first_admin(settings, services)
            app.state.services = services
            # What start-up built (the schema, the app, the pools) lives as long as the process:
            # out of the collector's sight, a full collection scans only what requests left,
            # in a few ms instead of ~100 ms of a stalled event loop (probes included).
            gc.collect()  # what start-up left as garbage is freed, not frozen for good
            gc.freeze()
            yield

    app = FastAPI(
        title="Trading API",
        summary="GraphQL trading API: users, trades and degrees. GraphQL lives at /graphql.",
        lifespan=lifespan,
        # A 4xx or 5xx of any route has the one error body (web/rest_errors.py).
        responses=ERROR_RESPONSES,
        # The REST docs map the API for anyone: off in production unless REST_DOCS says so.
        # FastAPI's own /docs and /redoc would load their libraries from a CDN: see add_rest_docs.
        docs_url=None,
        redoc_url=None,
        openapi_url=OPENAPI_PATH if settings.rest_docs_enabled else None,
    )
    app.include_router(auth_router)
    app.include_router(health_router)
    app.include_router(metrics_router)
    add_error_handlers(app)
    add_database_error_handlers(app)
    schema = create_schema(settings)
    persisted = PersistedQueryResolver(settings, schema.documents, _manifest(settings))
    app.include_router(GraphQLView(schema, settings, persisted), prefix="/graphql")
    if settings.live_page_enabled:
        add_live_page(app)
    if settings.graphql_ide_enabled:
        add_graphiql_assets(app)
    if settings.rest_docs_enabled:
        add_rest_docs(app, OPENAPI_PATH)
    if settings.live_page_enabled or settings.graphql_ide_enabled or settings.rest_docs_enabled:
        add_vendored_assets(app)  # the libraries those pages load
    if settings.graphql_compiled_queries:
        # Added first, so it runs innermost: after CORS and the request id.
        app.add_middleware(CompiledQueries, schema=schema, settings=settings)
    # Outside the compiled path: a persisted query reaches it (and the view) with its document.
    app.add_middleware(
        PersistedQueryLayer,
        resolver=persisted,
        max_age=settings.persisted_queries_max_age_seconds,
    )
    # Larger bodies get 413 before they are read whole (inside CORS: a page may read why).
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
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

    # It names, logs and measures every request that is let in, whoever answers it.
    app.add_middleware(RequestLog)
    if settings.max_concurrent_requests:
        # Outermost, before any work, logging included: a refusal must cost next to nothing,
        # and a flood of them must not flood the logs (trading_api_requests_shed counts them).
        app.add_middleware(ConcurrencyLimit, limit=settings.max_concurrent_requests)
    app.add_middleware(LifespanReport, debug=settings.log_level == "debug")
    return app


def _manifest(settings: Settings) -> Manifest | None:
    """PERSISTED_QUERIES=registered's operations; a bad manifest stops start-up in one line."""
    path = settings.persisted_query_manifest
    if settings.persisted_queries is not PersistedQueries.REGISTERED or path is None:
        return None
    return load_manifest(path, settings.graphql_max_document_bytes)


async def ensure_first_admin(settings: Settings, services: Services) -> None:
    """FIRST_ADMIN_EMAIL's account, created or promoted (settings.py checked it can sign up)."""
    if not (settings.first_admin_email and settings.first_admin_password):
        return
    # As every sign-up is stored: the email lower case and normalized.
    admin = UserCreate(
        email=settings.first_admin_email,
        password=settings.first_admin_password.get_secret_value(),
        name=FIRST_ADMIN_NAME,
    )
    try:
        async with services.sessions.begin() as session:
            admin_id = await ensure_admin(
                session, services.passwords, admin.email, admin.password, admin.name
            )
            if admin_id is not None:
                # Its role may have changed: no process may serve the old record.
                await data_versions.bump(session, data_versions.USERS)
    except EmailTakenError:
        pass  # another process created it at the same moment


# `uvicorn main:app` imports this: a bad setting ends the process in one line (startup.py).
app = exit_on_problem(create_app)

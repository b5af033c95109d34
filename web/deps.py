"""FastAPI dependencies: named types shared by the REST routes, and the GraphQL context."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Request, status
from starlette.requests import HTTPConnection

from auth.identity import (
    REFUSAL_CHALLENGE,
    SESSION_REFUSED,
    InvalidToken,
    clear_cookie_header,
    signed_in,
    token_from,
    token_is_cookie,
)
from db.models import UserRecord
from schema.context import Context, loaders_for
from services import Services
from settings import Settings
from web.rest_errors import ApiError

NOT_SIGNED_IN = "Not signed in"


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def get_settings(services: ServicesDep) -> Settings:
    return services.settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


async def get_viewer(request: Request, services: ServicesDep) -> UserRecord | None:
    """The signed-in user, None without credentials; a refused token is a 401."""
    try:
        session = await signed_in(services.settings, services.sessions, token_from(request))
    except InvalidToken:
        raise invalid_token(request, services.settings) from None
    return session.user if session else None


def invalid_token(connection: HTTPConnection, settings: Settings) -> ApiError:
    """RFC 6750's refusal of a bad token; a refused cookie is deleted, so that the browser stops
    sending it."""
    headers = {"WWW-Authenticate": REFUSAL_CHALLENGE}
    if token_is_cookie(connection):
        headers["Set-Cookie"] = clear_cookie_header(settings)
    return ApiError(status.HTTP_401_UNAUTHORIZED, SESSION_REFUSED, headers=headers)


ViewerDep = Annotated[UserRecord | None, Depends(get_viewer)]


async def require_user(viewer: ViewerDep) -> UserRecord:
    if viewer is None:
        raise ApiError(
            status.HTTP_401_UNAUTHORIZED, NOT_SIGNED_IN, headers={"WWW-Authenticate": "Bearer"}
        )
    return viewer


CurrentUser = Annotated[UserRecord, Depends(require_user)]


async def get_context(connection: HTTPConnection) -> Context:
    """Strawberry's `context_getter`: a FastAPI dependency, for HTTP requests and WebSockets."""
    services: Services = connection.app.state.services
    session, refused = None, False
    try:
        session = await signed_in(services.settings, services.sessions, token_from(connection))
    except InvalidToken:
        refused = True
    viewer = session.user if session else None
    # Versions are as old as the check that read them: a socket lives long, so what it reads
    # later (events, operations sent over it) comes from the database. Anonymous requests read
    # nothing that is cached (every cached field requires a signed-in viewer).
    versions = session.versions if session and connection.scope["type"] == "http" else None
    reads = services.reads.as_of(versions)
    request_id = getattr(connection.state, "request_id", None) or uuid.uuid4().hex
    return Context(
        services=services,
        viewer=viewer,
        reads=reads,
        loaders=loaders_for(reads, viewer),
        request_id=request_id,
        claims=session.claims if session else None,
        token_refused=refused,
    )

"""FastAPI dependencies as named types, shared by the REST routes and the GraphQL context."""

from __future__ import annotations

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
        session = await signed_in(services, token_from(request))
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

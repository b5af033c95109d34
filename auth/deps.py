"""FastAPI dependencies as named types, shared by the REST routes and the GraphQL context."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request, status

from auth.identity import token_from, viewer_for_token
from db.records import UserRecord
from services import Services
from settings import Settings


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def get_settings(services: ServicesDep) -> Settings:
    return services.settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


async def get_viewer(request: Request, services: ServicesDep) -> UserRecord | None:
    return await viewer_for_token(services, token_from(request))


ViewerDep = Annotated[UserRecord | None, Depends(get_viewer)]


async def require_user(viewer: ViewerDep) -> UserRecord:
    if viewer is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "Not signed in, or the session has expired",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return viewer


CurrentUser = Annotated[UserRecord, Depends(require_user)]

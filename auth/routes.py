"""The REST surface for browsers and scripts: register, log in (cookie or token), log out, me."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Response, status
from fastapi.security import OAuth2PasswordRequestForm

from auth.accounts import EmailTakenError, authenticate, register
from auth.deps import CurrentUser, ServicesDep, SettingsDep
from auth.identity import COOKIE_NAME
from auth.tokens import issue_token
from db.records import UserRecord
from schema.models import Token, UserCreate, UserRead
from services import Services

logger = logging.getLogger(__name__)
router = APIRouter()
PasswordForm = Annotated[OAuth2PasswordRequestForm, Depends()]
BAD_CREDENTIALS = "Incorrect email or password"


def user_read(user: UserRecord) -> UserRead:
    """The signed-in user's own view of themself (email included)."""
    return UserRead(
        id=user.id,
        name=user.name,
        role=user.role,
        email=user.email,
        registered_at=user.registered_at,
    )


async def _check_credentials(services: Services, form: OAuth2PasswordRequestForm) -> UserRecord:
    async with services.sessions() as session:
        user = await authenticate(session, form.username, form.password)
    if user is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, BAD_CREDENTIALS, headers={"WWW-Authenticate": "Bearer"}
        )
    return user


@router.post(
    "/auth/register",
    status_code=status.HTTP_201_CREATED,
    tags=["auth"],
    responses={409: {"description": "The email is already registered"}},
)
async def register_user(data: UserCreate, services: ServicesDep) -> UserRead:
    """Create an account with the `user` role."""
    try:
        async with services.sessions.begin() as session:
            user = await register(session, data)
    except EmailTakenError:
        raise HTTPException(status.HTTP_409_CONFLICT, "That email is already registered") from None
    await services.reads.user_added()
    await _queue_welcome(services, user.id)
    return user_read(user)


async def _queue_welcome(services: Services, user_id: int) -> None:
    """Queue the welcome notification, after the commit: the account stands either way."""
    try:
        await services.jobs.enqueue("send_welcome", user_id=user_id)
    except Exception:
        # Redis down, say: the new user can sign in regardless, so only the log hears of it.
        logger.exception("could not queue the welcome notification of user %d", user_id)


@router.post(
    "/auth/login",
    status_code=status.HTTP_204_NO_CONTENT,
    tags=["auth"],
    responses={401: {"description": BAD_CREDENTIALS}},
)
async def login(form: PasswordForm, services: ServicesDep, response: Response) -> None:
    """Browser login: sets an HttpOnly, SameSite=Lax session cookie (Secure in production)."""
    user = await _check_credentials(services, form)
    issued = issue_token(services.settings, user.id)
    response.set_cookie(
        COOKIE_NAME,
        issued.token,
        max_age=issued.expires_in,
        httponly=True,
        samesite="lax",
        secure=services.settings.is_production,
        path="/",
    )


@router.post("/auth/token", tags=["auth"], responses={401: {"description": BAD_CREDENTIALS}})
async def token(form: PasswordForm, services: ServicesDep) -> Token:
    """Token login for non-browser clients: send it as `Authorization: Bearer <token>`."""
    user = await _check_credentials(services, form)
    issued = issue_token(services.settings, user.id)
    return Token(access_token=issued.token, expires_in=issued.expires_in)


@router.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT, tags=["auth"])
async def logout(response: Response, settings: SettingsDep) -> None:
    """Clears the session cookie."""
    response.delete_cookie(
        COOKIE_NAME, path="/", httponly=True, samesite="lax", secure=settings.is_production
    )


@router.get("/users/me", tags=["users"], responses={401: {"description": "Not signed in"}})
async def me(user: CurrentUser) -> UserRead:
    """The signed-in user."""
    return user_read(user)

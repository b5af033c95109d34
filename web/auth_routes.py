"""The REST surface for browsers and scripts: register, log in (cookie or token), log out, me."""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response, status
from fastapi.security import OAuth2PasswordRequestForm

from auth.accounts import EmailTakenError, authenticate, register
from auth.identity import COOKIE_NAME, InvalidToken, clear_cookie, signed_in, token_from
from auth.responses import AuthRoute
from auth.tokens import IssuedToken, issue_token
from db import data_versions, sessions
from db.models import UserRecord
from events.broadcast import SessionsEnded, end_sockets
from ratelimit.limiter import RateLimitExceeded
from schema.models import MAX_PASSWORD_LENGTH, Token, UserCreate, UserRead
from services import Services
from web.cross_site import (
    COOKIE_ACROSS_SITES,
    REFUSAL,
    refuse_cookie_across_sites,
    refuse_cross_site,
)
from web.deps import NOT_SIGNED_IN, CurrentUser, ServicesDep
from web.rest_errors import ApiError, documented
from workers.queue import add_job

logger = logging.getLogger(__name__)
router = APIRouter(route_class=AuthRoute)
PasswordForm = Annotated[OAuth2PasswordRequestForm, Depends()]
# On every route that changes state: a page on another site may not sign anyone in or out.
SAME_SITE_ONLY = [Depends(refuse_cross_site)]
BAD_CREDENTIALS = "Incorrect email or password"
TOO_MANY_ATTEMPTS = "Too many failed sign-ins; try again later"
TOO_MANY_REGISTRATIONS = "Too many registrations from this address; try again later"
PASSWORD_TOO_LONG = f"The password is longer than {MAX_PASSWORD_LENGTH} characters"
EMAIL_TAKEN = "That email is already registered"
CROSS_SITE = {403: REFUSAL}
SIGN_IN_RESPONSES = documented(
    {
        **CROSS_SITE,
        401: BAD_CREDENTIALS,
        422: PASSWORD_TOO_LONG + ", or a field is missing",
        429: TOO_MANY_ATTEMPTS + " (see Retry-After)",
    }
)
LOGIN_RESPONSES = {
    **SIGN_IN_RESPONSES,
    **documented({403: f"{REFUSAL}; or: {COOKIE_ACROSS_SITES}"}),
}
# 204s carry no body, so no content type either.
NO_CONTENT: dict[str, Any] = {"status_code": status.HTTP_204_NO_CONTENT, "response_class": Response}


def user_read(user: UserRecord) -> UserRead:
    """The signed-in user's own view of themself (email included)."""
    return UserRead(
        id=user.id,
        name=user.name,
        role=user.role,
        email=user.email,
        registered_at=user.registered_at,
    )


async def _sign_in(
    services: Services, form: OAuth2PasswordRequestForm, request: Request
) -> IssuedToken:
    """A new session's token for these credentials; 401 otherwise, 429 after too many failures.

    The attempt is reserved before the password is verified: a failure keeps it, a success
    gives it back. A password no account can have is refused before any of that.
    """
    if len(form.password) > MAX_PASSWORD_LENGTH:
        raise ApiError(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            PASSWORD_TOO_LONG,
            errors=[("password", PASSWORD_TOO_LONG)],
        )
    limits = services.auth_limits
    address = _client_address(request)
    try:
        await limits.reserve_sign_in(form.username, address)
    except RateLimitExceeded as error:
        raise _too_many(TOO_MANY_ATTEMPTS, error) from None
    found = await authenticate(services.sessions, services.passwords, form.username, form.password)
    if found is None:
        raise ApiError(
            status.HTTP_401_UNAUTHORIZED, BAD_CREDENTIALS, headers={"WWW-Authenticate": "Bearer"}
        )
    await limits.signed_in(form.username, address)
    user, version = found
    return issue_token(services.settings, user.id, version)


def _client_address(request: Request) -> str:
    """The address the request comes from, the subject of the per-address limits; behind a
    proxy, uvicorn's --proxy-headers makes it the client's."""
    return request.client.host if request.client else "unknown"


def _too_many(message: str, error: RateLimitExceeded) -> ApiError:
    return ApiError(
        status.HTTP_429_TOO_MANY_REQUESTS,
        message,
        headers={"Retry-After": str(error.retry_after)},
    )


@router.post(
    "/auth/register",
    status_code=status.HTTP_201_CREATED,
    tags=["auth"],
    dependencies=SAME_SITE_ONLY,
    responses=documented(
        {
            **CROSS_SITE,
            409: EMAIL_TAKEN,
            422: "A field is missing or not valid",
            429: TOO_MANY_REGISTRATIONS + " (see Retry-After)",
        }
    ),
)
async def register_user(data: UserCreate, services: ServicesDep, request: Request) -> UserRead:
    """Create an account with the `user` role."""
    try:
        await services.auth_limits.reserve_registration(_client_address(request))
    except RateLimitExceeded as error:
        raise _too_many(TOO_MANY_REGISTRATIONS, error) from None
    password_hash = await services.passwords.hash(data.password)
    try:
        async with services.sessions.begin() as session:
            user = await register(session, data.email, data.name, password_hash)
            # Committed with the account, sent once Redis (or this process) takes the job.
            await add_job(session, "send_welcome", user_id=user.id)
            await data_versions.bump(session, data_versions.USERS)
    except EmailTakenError:
        raise ApiError(
            status.HTTP_409_CONFLICT, EMAIL_TAKEN, errors=[("email", EMAIL_TAKEN)]
        ) from None
    services.relay.wake()
    return user_read(user)


@router.post(
    "/auth/login",
    **NO_CONTENT,
    tags=["auth"],
    dependencies=[*SAME_SITE_ONLY, Depends(refuse_cookie_across_sites)],
    responses=LOGIN_RESPONSES,
)
async def login(
    form: PasswordForm, services: ServicesDep, request: Request, response: Response
) -> None:
    """Browser login: sets an HttpOnly, SameSite=Lax session cookie (Secure in production)."""
    issued = await _sign_in(services, form, request)
    response.set_cookie(  # the attributes clear_cookie repeats
        COOKIE_NAME,
        issued.token,
        max_age=issued.expires_in,
        httponly=True,
        samesite="lax",
        secure=services.settings.is_production,
        path="/",
    )


@router.post("/auth/token", tags=["auth"], dependencies=SAME_SITE_ONLY, responses=SIGN_IN_RESPONSES)
async def token(form: PasswordForm, services: ServicesDep, request: Request) -> Token:
    """Token login for non-browser clients: send it as `Authorization: Bearer <token>`."""
    issued = await _sign_in(services, form, request)
    return Token(access_token=issued.token, expires_in=issued.expires_in)


@router.post(
    "/auth/logout",
    **NO_CONTENT,
    tags=["auth"],
    dependencies=SAME_SITE_ONLY,
    responses=documented(CROSS_SITE),
)
async def logout(request: Request, response: Response, services: ServicesDep) -> None:
    """Ends this session: its token (cookie or bearer) is refused from now on, on every process,
    and its live subscriptions are closed. Clears the cookie; succeeds even when signed out, or
    when the token was already refused (expired, logged out): the client's aim is reached."""
    try:
        current = await signed_in(services.settings, services.sessions, token_from(request))
    except InvalidToken:
        current = None
    if current is not None:
        claims = current.claims
        async with services.sessions.begin() as session:
            await sessions.revoke(
                session,
                session_id=claims.session_id,
                user_id=claims.user_id,
                expires_at=claims.expires_at,
            )
            await end_sockets(session, SessionsEnded(claims.user_id, claims.session_id))
        services.relay.wake()
    clear_cookie(response, services.settings)


@router.post(
    "/auth/logout-all",
    **NO_CONTENT,
    tags=["auth"],
    dependencies=SAME_SITE_ONLY,
    responses=documented({**CROSS_SITE, 401: NOT_SIGNED_IN + ", or the token was refused"}),
)
async def logout_all(user: CurrentUser, response: Response, services: ServicesDep) -> None:
    """Ends every session of the signed-in user, on every device, this one included."""
    async with services.sessions.begin() as session:
        version = await sessions.end_all(session, user.id)
        await end_sockets(session, SessionsEnded(user.id, below_version=version))
    services.relay.wake()
    clear_cookie(response, services.settings)


@router.get(
    "/users/me",
    tags=["users"],
    responses=documented({401: NOT_SIGNED_IN + ", or the token was refused"}),
)
async def me(user: CurrentUser) -> UserRead:
    """The signed-in user."""
    return user_read(user)

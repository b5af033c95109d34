"""Who is asking: the access token from the HttpOnly cookie or an `Authorization: Bearer` header."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import HTTPConnection

from auth.tokens import Claims, read_token
from db import sessions
from db.data_versions import Versions
from db.records import UserRecord
from observability import record
from services import Services

COOKIE_NAME = "access_token"


@dataclass(frozen=True)
class SignedIn:
    user: UserRecord
    claims: Claims
    # The data versions as of this check: the cache keys of this request's reads.
    versions: Versions


def token_from(connection: HTTPConnection) -> str | None:
    scheme, _, credentials = connection.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credentials:
        return credentials.strip()
    return connection.cookies.get(COOKIE_NAME)


async def signed_in(services: Services, token: str | None) -> SignedIn | None:
    """The session a valid token names: None for no token, a bad or logged-out one, a token from
    before the user's last logout-all, or a deactivated user. One statement, on every request."""
    claims = read_token(services.settings, token) if token else None
    if claims is None:
        return None
    async with services.sessions() as session:
        found = await sessions.session_user(session, claims.user_id, claims.session_id)
    if found is None:
        return None
    user = found.user
    if found.revoked or found.token_version != claims.version or not user.is_active:
        return None
    record.set_viewer(user.id)  # for this request's log line
    return SignedIn(user, claims, found.versions)


async def viewer_for_token(services: Services, token: str | None) -> UserRecord | None:
    session = await signed_in(services, token)
    return session.user if session else None

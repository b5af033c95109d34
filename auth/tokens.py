"""JWT access tokens (pyjwt): HS256 pinned on decode, every registered claim required."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

from settings import Settings

ALGORITHM = "HS256"
REQUIRED_CLAIMS = ["exp", "iat", "sub", "aud", "iss"]


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires_in: int


def issue_token(settings: Settings, user_id: int) -> IssuedToken:
    now = datetime.now(UTC)
    lifetime = timedelta(minutes=settings.jwt_lifetime_minutes)
    claims = {
        "sub": str(user_id),
        "iat": now,
        "exp": now + lifetime,
        "aud": settings.jwt_audience,
        "iss": settings.jwt_issuer,
        "jti": uuid.uuid4().hex,
    }
    token = jwt.encode(claims, settings.signing_key, algorithm=ALGORITHM)
    return IssuedToken(token=token, expires_in=int(lifetime.total_seconds()))


def user_id_from_token(settings: Settings, token: str) -> int | None:
    """The user id a valid token names, or None for anything expired, forged or malformed."""
    try:
        claims = jwt.decode(
            token,
            settings.signing_key,
            algorithms=[ALGORITHM],
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            options={"require": REQUIRED_CLAIMS},
        )
        return int(claims["sub"])
    except (jwt.PyJWTError, ValueError, TypeError):
        return None

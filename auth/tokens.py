"""JWT access tokens (pyjwt): HS256 only, every claim required, keys identified by `kid`.

Keys rotate without ending sessions: tokens are signed with JWT_SECRET and verified with it or
JWT_PREVIOUS_SECRET, told apart by the `kid` header (a fingerprint of the key, never the key).
A token names its session (`jti`, for logout) and the user's token version (`ver`, raised to
end every session of the user at once).
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache

import jwt

from settings import Settings

ALGORITHM = "HS256"
REQUIRED_CLAIMS = ["exp", "iat", "sub", "aud", "iss", "jti", "ver"]


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires_in: int


@dataclass(frozen=True)
class Claims:
    user_id: int
    session_id: str  # the jti
    version: int
    expires_at: datetime


@lru_cache(maxsize=8)  # called on every request; the keys change only with a restart
def key_id(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def _verification_keys(settings: Settings) -> dict[str, str]:
    keys = [settings.signing_key, *settings.previous_signing_keys]
    return {key_id(key): key for key in keys}


def issue_token(settings: Settings, user_id: int, version: int) -> IssuedToken:
    now = datetime.now(UTC)
    lifetime = timedelta(minutes=settings.jwt_lifetime_minutes)
    claims = {
        "sub": str(user_id),
        "iat": now,
        "exp": now + lifetime,
        "aud": settings.jwt_audience,
        "iss": settings.jwt_issuer,
        "jti": uuid.uuid4().hex,
        "ver": version,
    }
    token = jwt.encode(
        claims,
        settings.signing_key,
        algorithm=ALGORITHM,
        headers={"kid": key_id(settings.signing_key)},
    )
    return IssuedToken(token=token, expires_in=int(lifetime.total_seconds()))


def read_token(settings: Settings, token: str) -> Claims | None:
    """The claims of a valid token; None for anything expired, forged, malformed or unknown."""
    try:
        kid = jwt.get_unverified_header(token).get("kid")
        key = _verification_keys(settings).get(kid) if isinstance(kid, str) else None
        if key is None:
            return None  # no kid, or one this server never signed with
        claims = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            options={"require": REQUIRED_CLAIMS},
        )
        version = claims["ver"]
        if not isinstance(version, int) or isinstance(version, bool):
            return None
        return Claims(
            user_id=int(claims["sub"]),
            session_id=str(claims["jti"]),
            version=version,
            expires_at=datetime.fromtimestamp(claims["exp"], UTC),
        )
    except (jwt.PyJWTError, ValueError, TypeError):
        return None

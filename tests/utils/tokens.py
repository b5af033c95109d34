"""Access tokens made by hand: the claims auth/tokens.py issues, signed well or forged."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from auth.tokens import key_id
from tests.utils.settings import TEST_SECRET

AUDIENCE = "trading-api"
ISSUER = "trading-api"
KID = key_id(TEST_SECRET)


def claims_for(user_id: int, **changes: Any) -> dict[str, Any]:
    """The claims auth/tokens.py issues; a change of None drops that claim."""
    now = datetime.now(UTC)
    claims: dict[str, Any] = {
        "sub": str(user_id),
        "iat": now,
        "exp": now + timedelta(minutes=5),
        "aud": AUDIENCE,
        "iss": ISSUER,
        "jti": "hand-made",
        "ver": 0,
    }
    claims.update(changes)
    return {key: value for key, value in claims.items() if value is not None}


def encode(claims: dict[str, Any], key: str = TEST_SECRET, kid: str | None = KID) -> str:
    headers = {"kid": kid} if kid is not None else None
    return jwt.encode(claims, key, algorithm="HS256", headers=headers)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64_json(value: dict[str, Any]) -> str:
    return b64(json.dumps(value, default=lambda d: int(d.timestamp())).encode())


def sign_by_hand(header: dict[str, Any], claims: dict[str, Any], signature: bytes) -> str:
    return f"{b64_json(header)}.{b64_json(claims)}.{b64(signature)}"


def unsigned(claims: dict[str, Any]) -> str:
    """`alg: none`: no signature at all."""
    return sign_by_hand({"alg": "none", "typ": "JWT", "kid": KID}, claims, b"")


def hs512(claims: dict[str, Any]) -> str:
    """Correctly signed with the server's own key, but with HS512 (signed by hand, since pyjwt
    warns about the key length for HS512)."""
    header = {"alg": "HS512", "typ": "JWT", "kid": KID}
    signing_input = f"{b64_json(header)}.{b64_json(claims)}".encode()
    signature = hmac.new(TEST_SECRET.encode(), signing_input, hashlib.sha512).digest()
    return f"{signing_input.decode()}.{b64(signature)}"


def tampered(claims: dict[str, Any], new_sub: str) -> str:
    """A genuinely signed token whose payload is swapped for one naming another user."""
    header, _, signature = encode(claims).split(".")
    return f"{header}.{b64_json({**claims, 'sub': new_sub})}.{signature}"


def past(**delta: float) -> datetime:
    return datetime.now(UTC) - timedelta(**delta)

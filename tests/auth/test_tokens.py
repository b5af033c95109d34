"""Access tokens: a valid hand-made token signs in; every forged or broken one is refused,
both by `GET /users/me` (401) and by GraphQL (`me` is null)."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest
from sqlalchemy import update

from auth.tokens import key_id
from db.models import User
from services import Services
from tests.utils.api import Api, error_codes
from tests.utils.app import serve
from tests.utils.settings import TEST_SECRET, make_settings
from tests.utils.tokens import (
    AUDIENCE,
    ISSUER,
    KID,
    claims_for,
    encode,
    hs512,
    past,
    tampered,
    unsigned,
)

PASSWORD = "trade-secret-1"
OTHER_KEY = "another-signing-key-" + "y" * 32


# Each builder gets (user id, an id of another existing user) and returns a token.
FORGERIES: dict[str, Callable[[int, int], str]] = {
    "expired": lambda uid, _: encode(claims_for(uid, iat=past(hours=2), exp=past(seconds=5))),
    "tampered sub": lambda uid, other: tampered(claims_for(uid), str(other)),
    "wrong key": lambda uid, _: encode(claims_for(uid), OTHER_KEY),
    "unknown kid": lambda uid, _: encode(claims_for(uid), OTHER_KEY, kid=key_id(OTHER_KEY)),
    "no kid": lambda uid, _: encode(claims_for(uid), kid=None),
    "missing jti": lambda uid, _: encode(claims_for(uid, jti=None)),
    "missing ver": lambda uid, _: encode(claims_for(uid, ver=None)),
    "older version": lambda uid, _: encode(claims_for(uid, ver=-1)),
    "string version": lambda uid, _: encode(claims_for(uid, ver="0")),
    "alg none": lambda uid, _: unsigned(claims_for(uid)),
    "HS512 with the right key": lambda uid, _: hs512(claims_for(uid)),
    "wrong audience": lambda uid, _: encode(claims_for(uid, aud="another-api")),
    "wrong issuer": lambda uid, _: encode(claims_for(uid, iss="someone-else")),
    "missing exp": lambda uid, _: encode(claims_for(uid, exp=None)),
    "missing iat": lambda uid, _: encode(claims_for(uid, iat=None)),
    "missing sub": lambda uid, _: encode(claims_for(uid, sub=None)),
    "missing aud": lambda uid, _: encode(claims_for(uid, aud=None)),
    "missing iss": lambda uid, _: encode(claims_for(uid, iss=None)),
    "non-integer sub": lambda uid, _: encode(claims_for(uid, sub="abc")),
    "fractional sub": lambda uid, _: encode(claims_for(uid, sub=f"{uid}.0")),
    "sub of no user": lambda uid, _: encode(claims_for(uid, sub="987654321")),
    "issued in the future": lambda uid, _: encode(
        claims_for(uid, iat=datetime.now(UTC) + timedelta(hours=1))
    ),
    "not a jwt": lambda uid, _: "not.a.jwt",
    "truncated signature": lambda uid, _: encode(claims_for(uid))[:-6],
}


# --- helpers ---------------------------------------------------------------------------------


async def users_me(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.get("/users/me", headers={"Authorization": f"Bearer {token}"})


async def graphql_me(api: Api, token: str) -> dict[str, Any]:
    return await api.gql("{ me { id email } }", token=token)


def refused(response: httpx.Response) -> bool:
    """REST's refusal of a token (RFC 6750's invalid_token), not the challenge to sign in."""
    return (
        response.status_code == 401
        and response.headers["www-authenticate"] == 'Bearer error="invalid_token"'
        and response.json()["code"] == "UNAUTHENTICATED"
    )


async def cookie_me(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.get("/users/me", headers={"Cookie": f"access_token={token}"})


# --- tests -----------------------------------------------------------------------------------


def test_hand_signed_forgeries_are_otherwise_valid() -> None:
    """The HS512, alg-none and tampered tokens differ from a good one only in what they forge,
    so their refusal below is down to the algorithm pin and the signature check."""
    claims = claims_for(7)
    with warnings.catch_warnings():  # the test key is shorter than HS512 would like
        warnings.simplefilter("ignore", jwt.InsecureKeyLengthWarning)
        decoded = jwt.decode(
            hs512(claims),
            TEST_SECRET,
            algorithms=["HS512"],
            audience=AUDIENCE,
            issuer=ISSUER,
            options={"require": ["exp", "iat", "sub", "aud", "iss"]},
        )
    assert decoded["sub"] == "7"
    assert jwt.get_unverified_header(unsigned(claims))["alg"] == "none"
    assert jwt.decode(unsigned(claims), options={"verify_signature": False})["sub"] == "7"
    forged = tampered(claims, "8")
    assert jwt.decode(forged, options={"verify_signature": False})["sub"] == "8"
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(forged, TEST_SECRET, algorithms=["HS256"], audience=AUDIENCE, issuer=ISSUER)


async def test_hand_made_token_with_correct_claims_signs_in(
    api: Api, client: httpx.AsyncClient
) -> None:
    """The control for the forgeries below: the same builder, unmodified, is accepted."""
    user = await api.register("alice@example.com")
    token = encode(claims_for(user["id"]))

    response = await users_me(client, token)
    assert response.status_code == 200, response.text
    assert response.json()["email"] == "alice@example.com"
    assert (await cookie_me(client, token)).status_code == 200
    assert await graphql_me(api, token) == {
        "data": {"me": {"id": user["id"], "email": "alice@example.com"}}
    }


async def test_issued_token_carries_the_expected_claims(
    api: Api, client: httpx.AsyncClient
) -> None:
    """What the server issues matches the format the forgeries are built from."""
    user_id, token = await api.signup("bob@example.com")
    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    claims = jwt.decode(token, TEST_SECRET, algorithms=["HS256"], audience=AUDIENCE, issuer=ISSUER)
    assert claims["sub"] == str(user_id)
    assert claims["exp"] - claims["iat"] == 12 * 60 * 60
    assert {"exp", "iat", "sub", "aud", "iss", "jti", "ver"} <= set(claims)
    assert jwt.get_unverified_header(token)["kid"] == KID


@pytest.mark.parametrize("forge", FORGERIES.values(), ids=FORGERIES.keys())
async def test_forged_token_is_refused(
    api: Api, client: httpx.AsyncClient, forge: Callable[[int, int], str]
) -> None:
    user = await api.register("carol@example.com")
    other = await api.register("dave@example.com")
    token = forge(user["id"], other["id"])

    response = await users_me(client, token)
    assert refused(response), response.text
    assert refused(await cookie_me(client, token))
    assert error_codes(await graphql_me(api, token)) == ["UNAUTHENTICATED"]


async def test_token_of_a_deactivated_user_is_refused(
    api: Api, client: httpx.AsyncClient, services: Services
) -> None:
    """A token issued while the user was active stops working once they are deactivated."""
    user_id, token = await api.signup("erin@example.com")
    assert (await users_me(client, token)).status_code == 200

    async with services.sessions.begin() as session:
        await session.execute(update(User).where(User.id == user_id).values(is_active=False))

    assert refused(await users_me(client, token))
    assert refused(await cookie_me(client, token))
    assert error_codes(await graphql_me(api, token)) == ["UNAUTHENTICATED"]
    # Signed-in-only fields refuse it too.
    body = await api.gql("{ users { id } }", token=token)
    assert body["data"] is None
    assert error_codes(body) == ["UNAUTHENTICATED"]


async def test_rotated_keys_verify_old_tokens_and_sign_new_ones(
    api: Api, client: httpx.AsyncClient, database_url: str
) -> None:
    """JWT_SECRET becomes JWT_PREVIOUS_SECRET: tokens it signed keep working; new ones use the
    new key (another kid). A server that forgot the old key refuses them."""
    _, old_token = await api.signup("rotate@example.com")
    rotated = make_settings(database_url, jwt_secret=OTHER_KEY, jwt_previous_secret=TEST_SECRET)
    async with serve(rotated) as (rotated_client, _):
        assert (await users_me(rotated_client, old_token)).status_code == 200
        new_token = (
            await rotated_client.post(
                "/auth/token", data={"username": "rotate@example.com", "password": PASSWORD}
            )
        ).json()["access_token"]
        assert jwt.get_unverified_header(new_token)["kid"] == key_id(OTHER_KEY)
        assert (await users_me(rotated_client, new_token)).status_code == 200
    async with serve(make_settings(database_url, jwt_secret=OTHER_KEY)) as (forgot, _):
        assert (await users_me(forgot, old_token)).status_code == 401
        assert (await users_me(forgot, new_token)).status_code == 200

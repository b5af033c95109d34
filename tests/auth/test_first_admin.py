"""The first admin (FIRST_ADMIN_EMAIL): created at start-up, kept single and restored at every
start, never handed to whoever registered the address first."""

from __future__ import annotations

from sqlalchemy import select, update

from db.models import ADMIN_ROLE_ID, USER_ROLE_ID, User
from services import Services
from settings import Settings
from tests.auth.cookies import gql, login
from tests.utils.api import Api
from tests.utils.app import serve
from tests.utils.graphql import count_rows
from tests.utils.settings import ADMIN_EMAIL, ADMIN_PASSWORD, make_settings


async def users_with_email(services: Services, email: str) -> list[tuple[int, bool]]:
    """(role_id, is_active) of every row with this email, straight from the table."""
    async with services.sessions() as session:
        rows = await session.execute(
            select(User.role_id, User.is_active).where(User.email == email)
        )
    return [(role_id, is_active) for role_id, is_active in rows]


async def test_first_admin_is_created_at_start_up(api: Api) -> None:
    token = await api.admin_token()
    body = await api.gql("{ me { email role } }", token=token)
    assert body == {"data": {"me": {"email": ADMIN_EMAIL, "role": "admin"}}}


async def test_second_start_keeps_one_admin(
    api: Api, services: Services, settings: Settings
) -> None:
    """Start-up is idempotent: a second app on the same database neither fails nor duplicates."""
    assert await users_with_email(services, ADMIN_EMAIL) == [(ADMIN_ROLE_ID, True)]
    before = await count_rows(services, User)

    async with serve(settings) as (client, _):
        assert (await login(client, ADMIN_EMAIL, ADMIN_PASSWORD)).status_code == 204
        assert await gql(client, "{ me { role } }") == {"data": {"me": {"role": "admin"}}}

    assert await users_with_email(services, ADMIN_EMAIL) == [(ADMIN_ROLE_ID, True)]
    assert await count_rows(services, User) == before
    token = await api.admin_token()
    assert await api.gql("{ me { role } }", token=token) == {"data": {"me": {"role": "admin"}}}


async def test_start_up_restores_a_demoted_admin(
    api: Api, services: Services, settings: Settings
) -> None:
    """The configured admin is made active and admin again at every start."""
    async with services.sessions.begin() as session:
        await session.execute(
            update(User)
            .where(User.email == ADMIN_EMAIL)
            .values(role_id=USER_ROLE_ID, is_active=False)
        )

    async with serve(settings):
        pass

    assert await users_with_email(services, ADMIN_EMAIL) == [(ADMIN_ROLE_ID, True)]
    token = await api.admin_token()
    assert await api.gql("{ me { role } }", token=token) == {"data": {"me": {"role": "admin"}}}


async def test_start_up_does_not_hand_admin_to_whoever_registered_the_email(
    database_url: str,
) -> None:
    """FIRST_ADMIN_EMAIL configured after someone else registered that address: start-up must
    not make that person (who knows their own password, not FIRST_ADMIN_PASSWORD) an admin."""
    unconfigured = make_settings(database_url, first_admin_email=None, first_admin_password=None)
    async with serve(unconfigured) as (client, _):
        await Api(client).register(ADMIN_EMAIL, "Squatter", password="squatter-secret-9")

    async with serve(make_settings(database_url)) as (client, _):
        response = await client.post(
            "/auth/token", data={"username": ADMIN_EMAIL, "password": "squatter-secret-9"}
        )
        assert response.status_code == 200, response.text
        body = await Api(client).gql("{ me { role } }", token=response.json()["access_token"])
        assert body["data"]["me"]["role"] == "user", "the squatter became admin"


async def test_first_admin_email_is_stored_lower_cased(database_url: str) -> None:
    settings = make_settings(database_url, first_admin_email="Boss@Example.COM")
    async with serve(settings) as (client, app):
        assert await users_with_email(app.state.services, "boss@example.com") == [
            (ADMIN_ROLE_ID, True)
        ]
        assert (await login(client, "boss@example.com", ADMIN_PASSWORD)).status_code == 204
    # And a restart with the same mixed-case setting finds it instead of failing.
    async with serve(settings) as (_, app):
        assert await users_with_email(app.state.services, "boss@example.com") == [
            (ADMIN_ROLE_ID, True)
        ]

"""A client's view of the API: REST auth, then GraphQL with a bearer token."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from tests.utils.settings import ADMIN_EMAIL, ADMIN_PASSWORD


@dataclass
class Api:
    """Drives the API the way a client does: REST auth, then GraphQL with a bearer token."""

    client: httpx.AsyncClient

    async def register(
        self, email: str, name: str = "Trader", password: str = "trade-secret-1"
    ) -> dict[str, Any]:
        response = await self.client.post(
            "/auth/register", json={"email": email, "password": password, "name": name}
        )
        assert response.status_code == 201, response.text
        user: dict[str, Any] = response.json()
        return user

    async def token(self, email: str, password: str = "trade-secret-1") -> str:
        response = await self.client.post(
            "/auth/token", data={"username": email, "password": password}
        )
        assert response.status_code == 200, response.text
        token: str = response.json()["access_token"]
        return token

    async def signup(self, email: str, name: str = "Trader") -> tuple[int, str]:
        user = await self.register(email, name)
        return user["id"], await self.token(email)

    async def admin_token(self) -> str:
        return await self.token(ADMIN_EMAIL, ADMIN_PASSWORD)

    async def gql(
        self, query: str, variables: dict[str, Any] | None = None, token: str | None = None
    ) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = await self.client.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def data(self, query: str, token: str, **variables: Any) -> dict[str, Any]:
        """The `data` of a query that must succeed."""
        body = await self.gql(query, variables, token=token)
        assert "errors" not in body, body
        result: dict[str, Any] = body["data"]
        return result


def error_codes(body: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in body.get("errors", [])]

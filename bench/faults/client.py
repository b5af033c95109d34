"""GraphQL over HTTP as the fault runs' clients speak it: every answer is sorted into one kind
("ok", "HTTP 503", "GraphQL SERVICE_UNAVAILABLE", "connection refused", ...), counted by family,
and retried by the callers that retry."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

OK = "ok"
REQUEST_TIMEOUT = 10.0
# Answers a retry cannot change: the request itself is wrong. Anything else is retried.
FINAL_CODES = frozenset({"BAD_USER_INPUT", "CONFLICT", "GRAPHQL_VALIDATION_FAILED"})


def now() -> float:
    """The one clock of a run (answers, receipts and faults are compared on it)."""
    return time.monotonic()


@dataclass
class Answer:
    outcome: str  # OK or the kind of failure
    data: dict[str, Any] | None = None
    code: str | None = None  # the first error's extensions.code

    @property
    def ok(self) -> bool:
        return self.outcome == OK

    @property
    def final(self) -> bool:
        """Answered for good: success, or a refusal a retry would get again."""
        return self.ok or self.code in FINAL_CODES


@dataclass
class Errors:
    """Failures seen by clients, by family (writes, reads, jobs, sockets) and kind."""

    counts: dict[str, Counter[str]] = field(default_factory=dict)

    def add(self, family: str, kind: str) -> None:
        self.counts.setdefault(family, Counter())[kind] += 1

    def total(self, family: str | None = None) -> int:
        families = [family] if family else list(self.counts)
        return sum(sum(self.counts.get(f, Counter()).values()) for f in families)

    def describe(self, family: str) -> str:
        counts = self.counts.get(family)
        if not counts:
            return "0"
        return ", ".join(f"{kind} {n}" for kind, n in counts.most_common())


def _first_code(body: Any) -> str | None:
    if isinstance(body, dict) and isinstance(errors := body.get("errors"), list) and errors:
        extensions = errors[0].get("extensions") if isinstance(errors[0], dict) else None
        code = extensions.get("code") if isinstance(extensions, dict) else None
        return str(code) if code is not None else "no code"
    return None


async def gql(
    http: httpx.AsyncClient,
    base_url: str,
    token: str,
    query: str,
    variables: dict[str, Any] | None = None,
) -> Answer:
    """One request; never raises for a failure of the service, it answers with its kind."""
    try:
        response = await http.post(
            f"{base_url}/graphql",
            json={"query": query, "variables": variables or {}},
            headers={"Authorization": f"Bearer {token}"},
            timeout=REQUEST_TIMEOUT,
        )
    except httpx.ConnectError:
        return Answer("connection refused")
    except httpx.TimeoutException:
        return Answer("timeout")
    except httpx.TransportError as error:
        return Answer(f"connection lost ({type(error).__name__})")
    try:
        body = response.json()
    except ValueError:
        body = None
    code = _first_code(body)
    if response.status_code != 200:
        return Answer(f"HTTP {response.status_code}" + (f" {code}" if code else ""), code=code)
    if code is not None:
        return Answer(f"GraphQL {code}", code=code)
    if not isinstance(body, dict) or not isinstance(body.get("data"), dict):
        return Answer("malformed answer")
    return Answer(OK, body["data"])


async def sign_up(http: httpx.AsyncClient, base_url: str, email: str, password: str) -> str:
    """Register (once per cluster) and sign in; the bearer token."""
    registered = await http.post(
        f"{base_url}/auth/register", json={"email": email, "password": password, "name": "Faults"}
    )
    if registered.status_code not in (201, 409):
        raise RuntimeError(f"register {email}: {registered.status_code} {registered.text}")
    response = await http.post(
        f"{base_url}/auth/token", data={"username": email, "password": password}
    )
    response.raise_for_status()
    token: str = response.json()["access_token"]
    return token

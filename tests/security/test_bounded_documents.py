"""Documents that cost parsing and validation time, and requests that would grow the caches,
against a live server: refused for little CPU, and the caches stay bounded (issue: validation
is unbounded; caches keyed by raw request text grow without bound)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.security.live import MB, REFUSAL_CPU_SECONDS, cost_of, cost_once_warm
from tests.utils.live import Account, Live

REPEATED_ME = "{ " + "me { name } " * 1_200 + "}"


def fragment_bomb(levels: int, fan_out: int) -> str:
    """Each fragment spreads the next `fan_out` times: walked at every spread, the work is
    fan_out ** levels."""
    fragments = [
        f"fragment F{i} on Query {{ {' '.join([f'...F{i + 1}'] * fan_out)} }}"
        for i in range(levels - 1)
    ]
    fragments.append(f"fragment F{levels - 1} on Query {{ me {{ id }} }}")
    return "{ ...F0 } " + " ".join(fragments)


def post(live: Live, body: dict[str, Any], token: str | None = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with live.http() as http:
        return http.post("/graphql", json=body, headers=headers)


def error_code(response: httpx.Response) -> str:
    assert response.status_code == 200, response.text
    errors = response.json()["errors"]
    code: str = errors[0]["extensions"]["code"]
    return code


@pytest.mark.parametrize("signed_in", [False, True], ids=["anonymous", "signed-in"])
def test_repeated_fields_are_refused_before_the_overlap_rule_runs(
    live: Live, alice: Account, signed_in: bool
) -> None:
    """1,200 `me { name }`: 1.5-2 s of CPU anonymous, 4 s signed in (validated twice)."""
    token = alice.token if signed_in else None
    # A different document each time: the refusal itself is cheap, not only its cached copy.
    attacks = [REPEATED_ME.replace("{ me", f"{{ a{i}: me", 1) for i in range(3)]
    with cost_of(live) as cost:
        for query in attacks:
            response = post(live, {"query": query}, token)
            assert error_code(response) == "GRAPHQL_VALIDATION_FAILED"
            assert "repeats fields" in response.json()["errors"][0]["message"]
    assert cost.per(len(attacks)) < REFUSAL_CPU_SECONDS, cost


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("{ " + "me { id } " * 1_300 + "}", "GRAPHQL_PARSE_FAILED"),  # 5,200 tokens
        (REPEATED_ME, "GRAPHQL_VALIDATION_FAILED"),
    ],
    ids=["parse", "validation"],
)
def test_a_refused_document_is_refused_again_from_the_cache(
    live: Live, query: str, code: str
) -> None:
    """Parse failures were not cached: each cost the parse again (tens of milliseconds)."""
    assert error_code(post(live, {"query": query})) == code
    with cost_of(live) as cost:
        for _ in range(20):
            assert error_code(post(live, {"query": query})) == code
    assert cost.per(20) < 0.01, cost


def test_fragments_spread_many_times_over_cost_no_more_than_once(live: Live) -> None:
    """Each level ten times the last: 0.3 s at six levels in the depth and alias limiters,
    30 s at eight."""
    with cost_of(live) as cost:
        response = post(live, {"query": fragment_bomb(levels=8, fan_out=10)})
    # Valid, and shallow: what it would resolve, 10 ** 7 times `me`, is what refuses it.
    assert error_code(response) == "QUERY_TOO_COMPLEX"
    assert cost.cpu_seconds < REFUSAL_CPU_SECONDS, cost


def test_a_large_comment_is_not_parsed(live: Live) -> None:
    """A 1 MB comment: 0.4-0.8 s of parsing, and 2 MB kept per distinct text."""

    def send(tag: str) -> None:
        response = post(live, {"query": f"# {tag} " + "x" * 1_000_000 + "\n{ me { id } }"})
        assert error_code(response) == "GRAPHQL_PARSE_FAILED"
        assert "at most 65536" in response.json()["errors"][0]["message"]

    cost = cost_once_warm(live, send, requests=100)
    assert cost.per(200) < REFUSAL_CPU_SECONDS, cost
    assert cost.rss_growth_bytes < 40 * MB, cost  # texts kept: 400 MB


def test_large_unused_variables_do_not_grow_the_caches(live: Live, alice: Account) -> None:
    """A signed-in `{ me { id } }` with a 1 MB unused variable, 100 times: +97 MB (the compiled
    statements were kept by the request's text, variables included)."""

    def send(tag: str) -> None:
        body = {"query": "{ me { id } }", "variables": {"pad": tag + "x" * 1_000_000}}
        assert post(live, body, alice.token).json() == {"data": {"me": {"id": alice.id}}}

    cost = cost_once_warm(live, send, requests=100)
    assert cost.rss_growth_bytes < 40 * MB, cost  # texts kept: 200 MB

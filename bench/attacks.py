"""The attacks of issue 12, as a client makes them, for `make bench-abuse` (bench/abuse.py).

Each attack gets a freshly started server (`Target`) with its own SQLite database, does its
preparation, then runs inside `target.measured()`, which reads the server's CPU time and RSS
from /proc around the attack itself. It answers how many requests it made and, in a few words,
what the client got back. The same attacks run against the code before the bounds and after.
"""

from __future__ import annotations

import json
import socket
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect
from websockets.typing import Subprotocol

from auth.tokens import ALGORITHM, key_id

PASSWORD = "attacker-password-1"  # noqa: S105 - throwaway accounts on a throwaway database
TRADE = {"currency": "BTC", "side": "BUY", "price": "1", "amount": "1"}
ADD = "mutation($t: [TradeInput!]!, $k: String) { addTrades(trades: $t, idempotencyKey: $k) "


@dataclass
class Measured:
    cpu_seconds: float = 0.0
    rss_growth_bytes: int = 0


@dataclass
class Target:
    """A running server: its URL, its process id, the signing key its tokens use."""

    base_url: str
    pid: int
    secret: str
    usage: Callable[[int], tuple[float, int]]
    measurement: Measured = field(default_factory=Measured)
    _accounts: int = 0

    @contextmanager
    def measured(self) -> Iterator[None]:
        cpu, rss = self.usage(self.pid)
        try:
            yield
        finally:
            cpu_after, rss_after = self.usage(self.pid)
            self.measurement = Measured(cpu_after - cpu, rss_after - rss)

    def http(self, timeout: float = 120) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, timeout=timeout)

    def sign_up(self) -> tuple[int, str]:
        """A new account's id and bearer token."""
        self._accounts += 1
        email = f"attacker{self._accounts}@example.com"
        with self.http() as http:
            user = http.post(
                "/auth/register", json={"email": email, "password": PASSWORD, "name": "Eve"}
            )
            token = http.post("/auth/token", data={"username": email, "password": PASSWORD})
        return user.json()["id"], token.json()["access_token"]

    def gql(self, query: str, token: str | None = None, **variables: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        with self.http() as http:
            return http.post(
                "/graphql", json={"query": query, "variables": variables}, headers=headers
            )

    @contextmanager
    def socket(self, token: str) -> Iterator[ClientConnection]:
        url = self.base_url.replace("http://", "ws://") + "/graphql"
        protocols = [Subprotocol("graphql-transport-ws")]
        # No keepalive pings and no size limit: the client takes whatever the server sends.
        with connect(
            url, subprotocols=protocols, open_timeout=30, ping_interval=None, max_size=None
        ) as ws:
            ws.send(json.dumps({"type": "connection_init", "payload": {"authToken": token}}))
            ws.recv(timeout=30)
            yield ws


@dataclass(frozen=True)
class Outcome:
    requests: int
    answer: str


def answer_of(response: httpx.Response) -> str:
    """`200 QUERY_TOO_COMPLEX`, `200 data`, `429`: what a client sees first."""
    try:
        body = response.json()
    except ValueError:
        return str(response.status_code)
    if isinstance(body, dict) and body.get("errors"):
        code = body["errors"][0].get("extensions", {}).get("code", "error")
        return f"{response.status_code} {code}"
    return (
        f"{response.status_code} data" if response.status_code == 200 else str(response.status_code)
    )


def tally(answers: list[str]) -> str:
    return ", ".join(f"{n} x {answer}" for answer, n in Counter(answers).most_common())


def ws_answer(ws: ClientConnection, timeout: float) -> str:
    """The first message of an operation, or how the socket closed."""
    try:
        message = json.loads(ws.recv(timeout=timeout))
    except TimeoutError:
        return f"nothing within {timeout:.0f} s"
    except ConnectionClosed as closed:
        return f"closed {closed.rcvd.code if closed.rcvd else '?'}"
    payload = message.get("payload")
    if isinstance(payload, list):
        payload = {"errors": payload}
    errors = (payload or {}).get("errors") or []
    if errors:
        return f"{message['type']} {errors[0].get('extensions', {}).get('code', 'error')}"
    return f"{message['type']} data"


# --- 1. subscriptions ------------------------------------------------------------------------

HEAVY_LIVE = (
    "subscription { tradeAdded { user { trades(limit: 100) { user { trades(limit: 100) "
    "{ user { trades(limit: 20) { id } } } } } } } }"
)


def heavy_subscription(target: Target) -> Outcome:
    """One subscription over the budget, then one trade: the CPU of that one event."""
    _, eve = target.sign_up()
    _, other = target.sign_up()
    target.gql(ADD + "{ id } }", other, t=[TRADE] * 100)
    with target.socket(eve) as ws, target.measured():
        ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": HEAVY_LIVE}}))
        time.sleep(0.5)
        target.gql(ADD + "{ id } }", other, t=[TRADE])
        return Outcome(1, ws_answer(ws, timeout=60))


def many_subscriptions(target: Target) -> Outcome:
    """Ten distinct selections within the budget each, then ten trades: CPU per trade."""
    _, eve = target.sign_up()
    target.gql(ADD + "{ id } }", eve, t=[TRADE] * 100)  # what the selections walk
    selection = "user { trades(limit: 100) { user { trades(limit: 40) { id } } } }"  # 4,203
    with target.socket(eve) as ws:
        for i in range(10):
            query = f"subscription {{ tradeAdded {{ n{i}: {selection} }} }}"
            ws.send(json.dumps({"id": str(i), "type": "subscribe", "payload": {"query": query}}))
        time.sleep(0.5)
        with target.measured():
            for _ in range(10):
                target.gql(ADD + "{ id } }", eve, t=[TRADE])
            answers = [ws_answer(ws, timeout=60) for _ in range(10)]
    return Outcome(10, tally(answers))


# --- 2. a replayed batch ---------------------------------------------------------------------


def replayed_batch(target: Target) -> Outcome:
    _, eve = target.sign_up()
    target.gql(ADD + "{ id } }", eve, t=[TRADE] * 1_000, k="again")
    heavy = ADD + "{ user { trades(limit: 100) { user { trades(limit: 7) { id } } } } } }"
    with target.measured():
        response = target.gql(heavy, eve, t=[TRADE] * 1_000, k="again")
    return Outcome(1, answer_of(response))


# --- 3. validation ---------------------------------------------------------------------------


def repeated_fields(target: Target, signed_in: bool) -> Outcome:
    token = target.sign_up()[1] if signed_in else None
    documents = ["{ " + f"a{i}: me {{ name }} " + "me { name } " * 1_199 + "}" for i in range(3)]
    with target.measured():
        answers = [answer_of(target.gql(document, token)) for document in documents]
    return Outcome(len(documents), tally(answers))


# --- 4. a WebSocket message of 13 MB ---------------------------------------------------------


def huge_socket_message(target: Target) -> Outcome:
    _, eve = target.sign_up()
    payload = {"query": ADD + "{ id } }", "variables": {"t": [TRADE] * 200_000}}
    with target.socket(eve) as ws, target.measured():
        ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
        return Outcome(1, ws_answer(ws, timeout=120))


# --- 5. a burst of wrong passwords -----------------------------------------------------------


def password_burst(target: Target) -> Outcome:
    target.sign_up()

    def wrong(_: int) -> str:
        with target.http() as http:
            form = {"username": "attacker1@example.com", "password": "wrong-password"}
            return str(http.post("/auth/token", data=form).status_code)

    with target.measured(), ThreadPoolExecutor(50) as pool:
        answers = list(pool.map(wrong, range(50)))
    return Outcome(50, tally(answers))


# --- 6. caches grown by the request's text ---------------------------------------------------


def large_variables(target: Target) -> Outcome:
    _, eve = target.sign_up()
    for i in range(5):  # the allocator's first growth
        target.gql("{ me { id } }", eve, pad=f"{i}" + "x" * 1_000_000)
    with target.measured():
        answers = [
            answer_of(target.gql("{ me { id } }", eve, pad=f"{i}" + "x" * 1_000_000))
            for i in range(5, 105)
        ]
    return Outcome(100, tally(answers))


def large_comments(target: Target) -> Outcome:
    def query(i: int) -> str:
        return f"# {i} " + "x" * 1_000_000 + "\n{ me { id } }"

    for i in range(5):
        target.gql(query(i))
    with target.measured():
        answers = [answer_of(target.gql(query(i))) for i in range(5, 105)]
    return Outcome(100, tally(answers))


# --- 7. registrations and reports ------------------------------------------------------------


def registration_burst(target: Target) -> Outcome:
    def register(n: int) -> str:
        with target.http() as http:
            body = {"email": f"burst{n}@example.com", "password": PASSWORD, "name": "Eve"}
            return str(http.post("/auth/register", json=body).status_code)

    with target.measured(), ThreadPoolExecutor(60) as pool:
        answers = list(pool.map(register, range(60)))
    return Outcome(60, tally(answers))


def report_requests(target: Target) -> Outcome:
    """30 requests for a report over 21,000 trades; in development the jobs run in the API
    process, so the measurement waits until they are done."""
    _, eve = target.sign_up()
    for _ in range(21):
        target.gql(ADD + "{ id } }", eve, t=[TRADE] * 1_000)
    with target.measured():
        answers = [
            answer_of(target.gql("mutation { requestTradeReport { id } }", eve)) for _ in range(30)
        ]
        _wait_until_idle(target)
    return Outcome(30, tally(answers))


def aliased_reports(target: Target) -> Outcome:
    _, eve = target.sign_up()
    for _ in range(21):
        target.gql(ADD + "{ id } }", eve, t=[TRADE] * 1_000)
    aliased = "mutation { " + " ".join(f"r{i}: requestTradeReport {{ id }}" for i in range(30))
    with target.measured():
        response = target.gql(aliased + " }", eve)
        _wait_until_idle(target)
    return Outcome(1, answer_of(response))


def _wait_until_idle(target: Target, quiet_seconds: float = 1.0, limit: float = 120) -> None:
    """Until the server's CPU stops moving: its in-process jobs are done."""
    deadline = time.monotonic() + limit
    last = target.usage(target.pid)[0]
    while time.monotonic() < deadline:
        time.sleep(quiet_seconds)
        now = target.usage(target.pid)[0]
        if now - last < 0.02:
            return
        last = now


# --- 8. 500s ---------------------------------------------------------------------------------


def deep_json(target: Target) -> Outcome:
    body = '{"query": "{ me { id } }", "variables": ' + "[" * 5_000 + "]" * 5_000 + "}"
    headers = {"content-type": "application/json"}
    answers = []
    with target.measured(), target.http() as http:
        for path in ("/graphql", "/auth/register"):
            try:
                answers.append(str(http.post(path, content=body, headers=headers).status_code))
            except httpx.TransportError:
                answers.append("dropped")
    return Outcome(2, tally(answers))


def long_password(target: Target) -> Outcome:
    with target.measured(), target.http() as http:
        form = {"username": "nobody@example.com", "password": "x" * 4_097}
        response = http.post("/auth/token", data=form)
    return Outcome(1, str(response.status_code))


# --- 9. a socket outliving its token ---------------------------------------------------------


def socket_after_expiry(target: Target) -> Outcome:
    _, eve = target.sign_up()
    claims = jwt.decode(eve, options={"verify_signature": False})
    claims["exp"] = datetime.now(UTC) + timedelta(seconds=2)
    short = jwt.encode(claims, target.secret, ALGORITHM, headers={"kid": key_id(target.secret)})
    with target.socket(short) as ws:
        time.sleep(4)
        with target.measured():
            payload = {"query": ADD + "{ id } }", "variables": {"t": [TRADE]}}
            try:
                ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
            except ConnectionClosed as closed:
                return Outcome(1, f"closed {closed.rcvd.code if closed.rcvd else '?'}")
            return Outcome(1, ws_answer(ws, timeout=10))


# --- 10. login CSRF --------------------------------------------------------------------------


def cross_site_login(target: Target) -> Outcome:
    target.sign_up()
    headers = {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}
    form = {"username": "attacker1@example.com", "password": PASSWORD}
    with target.measured(), target.http() as http:
        response = http.post("/auth/login", data=form, headers=headers)
    cookie = "cookie set" if "set-cookie" in response.headers else "no cookie"
    return Outcome(1, f"{response.status_code}, {cookie}")


# --- 12. exposure and input ------------------------------------------------------------------


def slow_headers(target: Target) -> Outcome:
    """A connection that sends its request line a byte every second: still open after 30 s?"""
    host, port = target.base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as conn, target.measured():
        started = time.monotonic()
        for byte in b"GET /healthz HTTP/1.1\r\nHost: x\r\n":
            try:
                conn.sendall(bytes([byte]))
                conn.settimeout(1)
                if conn.recv(1024) == b"":
                    return Outcome(1, f"closed after {time.monotonic() - started:.0f} s")
            except TimeoutError:
                pass
            except OSError:
                return Outcome(1, f"closed after {time.monotonic() - started:.0f} s")
            if time.monotonic() - started > 30:
                break
    return Outcome(1, "open after 30 s")


def headers(target: Target) -> Outcome:
    with target.measured(), target.http() as http:
        response = http.get("/healthz")
    nosniff = response.headers.get("x-content-type-options") == "nosniff"
    return Outcome(1, "nosniff" if nosniff else "no nosniff")


def eleven_levels(target: Target) -> Outcome:
    _, eve = target.sign_up()
    names = ["me"] + ["trades(limit: 1)", "user"] * 5
    query = "{ " + " { ".join(names[:10]) + " { id" + " }" * 11  # `id` is the eleventh
    with target.measured():
        response = target.gql(query, eve)
    return Outcome(1, answer_of(response))


def unicode_input(target: Target) -> Outcome:
    _, eve = target.sign_up()
    # A dotless i (BTC upper-cased to BTCI) and an Arabic-Indic three.
    odd = [{"currency": "BTC\u0131"}, {"amount": "1_000"}, {"price": "\u0663"}]
    with target.measured():
        answers = [answer_of(target.gql(ADD + "{ currency } }", eve, t=[TRADE | o])) for o in odd]
    return Outcome(3, tally(answers))


Attack = Callable[[Target], Outcome]
ATTACKS: list[tuple[str, str, Attack]] = [
    ("1", "subscription over the cost budget, one event", heavy_subscription),
    ("1", "ten distinct subscriptions, per trade", many_subscriptions),
    ("2", "replayed addTrades key, 1,000 trades, nested selection", replayed_batch),
    ("3", "1,200 x `me { name }`, anonymous", lambda t: repeated_fields(t, signed_in=False)),
    ("3", "1,200 x `me { name }`, signed in", lambda t: repeated_fields(t, signed_in=True)),
    ("4", "addTrades with 200,000 trades over a WebSocket (13 MB)", huge_socket_message),
    ("5", "50 concurrent wrong passwords, one account", password_burst),
    ("6", "signed-in `{ me { id } }` with a 1 MB unused variable", large_variables),
    ("6", "anonymous document with a 1 MB comment", large_comments),
    ("7", "60 concurrent registrations, one address", registration_burst),
    ("7", "30 report requests over 21,000 trades (jobs included)", report_requests),
    ("7", "30 aliased report requests in one operation (jobs included)", aliased_reports),
    ("8", "JSON nested 5,000 deep: /graphql, /auth/register", deep_json),
    ("8", "/auth/token with a 4,097-byte password", long_password),
    ("9", "mutation over a socket 2 s after its token expired", socket_after_expiry),
    ("10", "cross-site form POST to /auth/login", cross_site_login),
    ("12", "request line sent a byte a second", slow_headers),
    ("12", "X-Content-Type-Options", headers),
    ("12", "11 levels of fields (limit 10)", eleven_levels),
    ("12", "currency `BTC` + dotless i, amount `1_000`, an Arabic-Indic digit", unicode_input),
]

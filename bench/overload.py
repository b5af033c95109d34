"""Overload benchmark (not a test): does one server process shed load instead of collapsing?

    python -m bench.overload [--limit N] [--step-seconds 3] [--seconds 15] [--rounds 3]
                             [--factor 10] [--clients N] [--no-backoff]

Starts one production-shaped server process (`python -m web.server`, ENVIRONMENT=production,
PostgreSQL in a throwaway database, no Redis), signs a user in, and drives `{ me { id name } }`
with closed-loop clients, each on its own keep-alive connection:

1. doubles the clients (1, 2, 4, ...) until goodput (200 answers without errors, per second)
   stops growing: the peak, and the fewest clients that reach 95% of it (saturation);
2. runs `factor` times the saturating clients, in windows alternating with the peak's clients
   (the machine's other load drifts: both get their share of it), and reports goodput against
   the peak's (target: at least 80%), the latency of the 503s (target: p99 under 50 ms), and of
   a `/healthz` probe on a new connection every 100 ms (target: p99 under 100 ms).

Clients honour Retry-After (with up to 50% jitter), as HTTP clients and load balancers do;
`--no-backoff` makes them retry at once, as an attacker would. The load generator runs in this
process and shares the machine's cores with the server and PostgreSQL: figures vary with what
else runs (the report says how long the server waited for a CPU).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import string
import sys
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.crowd import PROBE_TIMEOUT, Step, load, percentile
from bench.dataset import SERVER_URL, database_url, recreate
from bench.servers import Server, running
from tests.utils.databases import migrate
from tests.utils.ports import free_port

ROOT = Path(__file__).resolve().parent.parent
DATABASE = "trading_overload"
EMAIL, PASSWORD = "overload@example.com", "overload-password-1"
SATURATION = 0.95  # of the peak: the knee of the goodput curve
TARGETS = {"goodput": 0.8, "shed_p99_ms": 50.0, "healthz_p99_ms": 100.0}


def show(step: Step) -> None:
    statuses = ", ".join(f"{s or 'broken'}: {n}" for s, n in sorted(step.statuses.items()))
    ok_p99 = percentile(step.ok_latencies, 0.99) * 1000
    print(
        f"  {step.clients:5d} clients: {step.goodput:7.0f} ok/s, ok p99 {ok_p99:7.1f} ms "
        f"({statuses})",
        flush=True,
    )


@contextlib.contextmanager
def server(limit: int | None) -> Iterator[tuple[Server, int, str]]:
    """The production-shaped server on a fresh database, and a signed-in user's token."""
    asyncio.run(recreate(DATABASE, SERVER_URL))
    url = database_url(DATABASE)
    migrate(url)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    alphabet = string.ascii_letters + string.digits
    env = {
        **os.environ,
        "ENVIRONMENT": "production",
        "JWT_SECRET": "".join(secrets.choice(alphabet) for _ in range(40)),
        "DATABASE_URL": url,
        "REDIS_URL": "",  # empty, not unset: a .env file must not bring Redis in
    }
    if limit is not None:
        env["MAX_CONCURRENT_REQUESTS"] = str(limit)
    command = [sys.executable, "-m", "web.server", "--host", "127.0.0.1", "--port", str(port)]
    command.append("--no-access-log")

    def ready(http: httpx.Client) -> bool:
        return http.get(f"{base}/healthz").status_code == 200

    with running("overload", command, f"{base}/graphql", ready, env, ROOT) as started:
        with httpx.Client(base_url=base, timeout=30) as http:
            registered = http.post(
                "/auth/register", json={"email": EMAIL, "password": PASSWORD, "name": "Load"}
            )
            registered.raise_for_status()
            signed_in = http.post("/auth/token", data={"username": EMAIL, "password": PASSWORD})
            signed_in.raise_for_status()
        yield started, port, signed_in.json()["access_token"]


def run(coroutine: Coroutine[None, None, Step]) -> Step:
    """On uvloop, as the server: the load generator must not be the bottleneck."""
    return uvloop.run(coroutine)


def saturate(port: int, token: str, args: argparse.Namespace) -> tuple[int, int]:
    """(clients at the goodput peak, fewest clients reaching SATURATION of it), doubling the
    clients until two steps in a row add nothing."""
    steps: list[Step] = []
    clients, flat = 1, 0
    while clients <= args.max_clients and flat < 2:
        step = run(load("127.0.0.1", port, token, clients, args.step_seconds, True, False))
        show(step)
        best = max((s.goodput for s in steps), default=0.0)
        flat = flat + 1 if step.goodput < best * 1.05 else 0
        steps.append(step)
        clients *= 2
    peak = max(steps, key=lambda s: s.goodput)
    knee = min(s.clients for s in steps if s.goodput >= SATURATION * peak.goodput)
    return peak.clients, knee


@dataclass
class Usage:
    cpu_seconds: float = 0.0
    waiting_seconds: float = 0.0


def compare(
    started: Server, port: int, token: str, clients: tuple[int, int], args: argparse.Namespace
) -> tuple[Step, Step, Usage]:
    """The peak's clients and the overload's, in alternating windows: the machine's other load
    drifts, and alternating spreads it over both alike. The overload's server usage too."""
    peak_clients, overload_clients = clients
    peak, overload, usage = Step(peak_clients, 0), Step(overload_clients, 0), Usage()
    window = args.seconds / args.rounds
    for _ in range(args.rounds):
        run(load("127.0.0.1", port, token, peak_clients, window, True, False, into=peak))
        cpu, waited = started.cpu_seconds(), waiting_seconds(started.process.pid)
        run(load("127.0.0.1", port, token, overload_clients, window, args.backoff, True, overload))
        usage.cpu_seconds += started.cpu_seconds() - cpu
        usage.waiting_seconds += waiting_seconds(started.process.pid) - waited
    return peak, overload, usage


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, help="MAX_CONCURRENT_REQUESTS (default: the app's)")
    parser.add_argument("--step-seconds", type=float, default=3.0)
    parser.add_argument("--seconds", type=float, default=15.0, help="at the peak and overloaded")
    parser.add_argument("--rounds", type=int, default=3, help="alternating windows of each")
    parser.add_argument("--factor", type=int, default=10, help="overload: x saturating clients")
    parser.add_argument("--clients", type=int, help="overload clients (default: factor x knee)")
    parser.add_argument("--max-clients", type=int, default=64, help="of the saturation search")
    parser.add_argument("--no-backoff", dest="backoff", action="store_false")
    args = parser.parse_args(argv)
    print("== overload: one server process, { me { id name } } signed in", flush=True)
    with server(args.limit) as (started, port, token):
        run(load("127.0.0.1", port, token, 8, 2.0, True, False))  # warm-up
        print("- saturation search", flush=True)
        peak_clients, knee = saturate(port, token, args)
        clients = args.clients or args.factor * knee
        backoff = "honouring Retry-After" if args.backoff else "retrying at once"
        print(
            f"- {peak_clients} clients (the peak) and {clients} ({backoff}), "
            f"{args.rounds} alternating windows of {args.seconds / args.rounds:g} s each",
            flush=True,
        )
        peak, overload, usage = compare(started, port, token, (peak_clients, clients), args)
        show(peak)
        show(overload)
        logged = started.log.read_text(errors="replace")
    return report(peak, knee, overload, usage, logged)


def waiting_seconds(pid: int) -> float:
    """Time the process's threads spent runnable but waiting for a CPU (the kernel's
    schedstat): what other processes on the machine add to every latency measured here."""
    total = 0
    for stat in Path(f"/proc/{pid}/task").glob("*/schedstat"):
        with contextlib.suppress(OSError):
            total += int(stat.read_text().split()[1])
    return total / 1e9


def report(peak: Step, knee: int, step: Step, usage: Usage, logged: str) -> int:
    shed = len(step.shed_latencies)
    figures = {
        "goodput": step.goodput / peak.goodput,
        "shed_p99_ms": percentile(step.shed_latencies, 0.99) * 1000,
        "healthz_p99_ms": percentile(step.probes, 0.99) * 1000,
    }
    missed = sum(1 for took in step.probes if took >= PROBE_TIMEOUT)
    print(
        f"- peak goodput {peak.goodput:.0f} ok/s with {peak.clients} clients; "
        f"saturated from {knee} clients"
    )
    print(
        f"- at {step.clients} clients: goodput {step.goodput:.0f} ok/s = "
        f"{figures['goodput']:.0%} of the peak (target >= {TARGETS['goodput']:.0%})"
    )
    print(
        f"- 503s: {shed} ({shed / step.seconds:.0f}/s), latency p50 "
        f"{percentile(step.shed_latencies, 0.5) * 1000:.1f} ms, p99 {figures['shed_p99_ms']:.1f} "
        f"ms (target < {TARGETS['shed_p99_ms']:g} ms)"
    )
    print(
        f"- /healthz: {len(step.probes)} probes, {missed} missed, p50 "
        f"{percentile(step.probes, 0.5) * 1000:.1f} ms, p99 "
        f"{figures['healthz_p99_ms']:.1f} ms (target < {TARGETS['healthz_p99_ms']:g} ms)"
    )
    print(
        f"- server during the overload: {usage.cpu_seconds:.1f} s of CPU, "
        f"{usage.waiting_seconds:.1f} s waiting for a CPU "
        f"(other processes), over {step.seconds:g} s"
    )
    print(
        f"- server log: {logged.count('Traceback')} tracebacks, "
        f"{logged.count('database unavailable')} 'database unavailable' lines, "
        f"{logged.count('answering it the general way')} general-path retries"
    )
    met = (
        figures["goodput"] >= TARGETS["goodput"]
        and (shed == 0 or figures["shed_p99_ms"] < TARGETS["shed_p99_ms"])
        and figures["healthz_p99_ms"] < TARGETS["healthz_p99_ms"]
    )
    print("- targets met" if met else "- TARGETS MISSED")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())

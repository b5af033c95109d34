"""Side-by-side HTTP benchmark (`make bench`): the project against PostGraphile and the ceiling.

From a fresh clone it installs the anchors (PostGraphile, autocannon) if missing, builds the
benchmark databases, then measures one server process at a time on this machine:

1. throughput, latency and server CPU per request for each workload of the anchors'
   queries.json, on the project with its result cache off (cold) and on (warm: with Redis, as
   every multi-process deployment runs, and with the in-process cache), PostGraphile and the
   ceiling (limit_server.py), over rounds that each start every server in turn; and `candles`
   on the project alone, cold and warm (no anchor has candles);
2. SQL statements per request of the project, counted in-process;
3. scaling at 10x data: deep `page` offsets and wider `nested` selections, project vs PostGraphile;
4. the live fan-out benchmark (bench/live.py);

and writes the tables into bench/RESULTS.md between the `make bench` markers.

    make bench [ARGS="--quick --skip-scaling --skip-live --rounds 2"] [D=5] [C=16]
    python -m bench.compare [--quick] [--skip-scaling] [--skip-live] [--duration D]
                            [--connections C] [--warmup SECONDS] [--rounds N]

The warm-with-Redis server uses $BENCH_REDIS_URL (default redis://127.0.0.1:6379/13), emptied
before it starts. Anchors come from $ANCHORS_DIR (default ../shared/anchors beside the repo)
and are installed into $ANCHORS_HOME (default ~/.cache/trading-api-anchors).

Ratios are only meaningful within one run: servers and load generator share the machine's cores.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import secrets
import signal
import string
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NoReturn

import httpx
from redis import Redis

from bench import dataset
from bench.load import (
    CANDLES,
    WORKLOADS,
    Run,
    autocannon,
    load_queries,
    project_queries,
    with_offset,
    with_users,
)
from bench.report import (
    CEILING,
    COLD,
    DATABASE,
    OFFSETS,
    PG_URL,
    POSTGRAPHILE,
    RESULTS,
    ROOT,
    SCALED_DATABASE,
    SCALING_MAX_COST,
    USERS,
    WARM_LOCAL,
    WARM_REDIS,
    Config,
    Results,
    machine,
    report,
    scaling_table,
    statements_table,
    throughput_tables,
    write_results,
)
from bench.servers import Server, running
from bench.statements import statements_per_request
from tests.utils.ports import free_port


def step(title: str) -> None:
    print(f"\n== {title}", flush=True)


def ensure_anchors(config: Config) -> None:
    """Install PostGraphile and autocannon once per machine (they live outside the project)."""
    needed = [config.autocannon, config.anchors_home / "node_modules/postgraphile/package.json"]
    if all(path.exists() for path in needed):
        print(f"  installed in {config.anchors_home}")
        return
    print(f"  installing into {config.anchors_home} (npm)", flush=True)
    env = {**os.environ, "ANCHORS_HOME": str(config.anchors_home)}
    subprocess.run(["bash", str(config.anchors_dir / "setup.sh")], check=True, env=env)  # noqa: S603, S607


class Bench:
    """Starts the servers under test, one at a time, and measures them."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.queries = load_queries(config.anchors_dir)
        # A fresh production key per run: the project refuses weak or missing ones.
        alphabet = string.ascii_letters + string.digits
        self.jwt_secret = "".join(secrets.choice(alphabet) for _ in range(40))
        self.env = {**os.environ, "ANCHORS_HOME": str(config.anchors_home)}

    @contextlib.contextmanager
    def project(
        self, name: str, database: str, cache_ttl: int, redis_url: str = "", **settings: str
    ) -> Iterator[tuple[Server, dict[str, str]]]:
        """The project as it is served (`python -m web.server`) in production mode, with Redis
        when `redis_url` is given (emptied first), else in-process only; and a bearer header."""
        if redis_url:
            with Redis.from_url(redis_url) as redis:
                redis.flushdb()
        port = free_port()
        env = {
            **self.env,
            "ENVIRONMENT": "production",
            "JWT_SECRET": self.jwt_secret,
            "DATABASE_URL": dataset.database_url(database),
            # Empty, not unset, without Redis: a .env file must not bring Redis in.
            "REDIS_URL": redis_url,
            "CACHE_TTL_SECONDS": str(cache_ttl),
            # Production logs a JSON line per request: an inherited or .env setting must not
            # mute the request log or make it cheaper.
            "LOG_LEVEL": "info",
            "LOG_FORMAT": "json",
            **{key.upper(): value for key, value in settings.items()},
        }
        python = str(ROOT / ".venv" / "bin" / "python")
        command = [python, "-m", "web.server", "--host", "127.0.0.1", "--port", str(port)]
        base = f"http://127.0.0.1:{port}"

        def ready(client: httpx.Client) -> bool:
            return client.get(f"{base}/healthz").status_code == 200

        with running(
            name, [*command, "--no-access-log"], f"{base}/graphql", ready, env, ROOT
        ) as server:
            response = httpx.post(
                f"{base}/auth/token",
                data={"username": dataset.BENCH_EMAIL, "password": dataset.BENCH_PASSWORD},
                timeout=30,
            )
            if response.status_code != 200:
                raise RuntimeError(f"sign-in failed: {response.status_code} {response.text}")
            yield server, {"authorization": f"Bearer {response.json()['access_token']}"}
            _require_observed(server, base)

    @contextlib.contextmanager
    def postgraphile(self, database: str) -> Iterator[Server]:
        port = free_port()
        env = {
            **self.env,
            "ANCHOR_DATABASE_URL": PG_URL.format(database),
            "ANCHOR_PORT": str(port),
        }
        url = f"http://127.0.0.1:{port}/graphql"
        command = ["bash", str(self.config.anchors_dir / "run_postgraphile.sh")]
        with running(POSTGRAPHILE, command, url, _graphql_ready(url), env, ROOT) as server:
            yield server

    @contextlib.contextmanager
    def ceiling(self, database: str) -> Iterator[Server]:
        port = free_port()
        env = {**self.env, "ANCHOR_DATABASE_URL": PG_URL.format(database)}
        url = f"http://127.0.0.1:{port}/graphql"
        uvicorn = str(ROOT / ".venv" / "bin" / "uvicorn")
        app_dir = str(self.config.anchors_dir)
        command = [uvicorn, "--app-dir", app_dir, "limit_server:app", "--port", str(port)]
        command += ["--host", "127.0.0.1", "--no-access-log"]
        ready = _graphql_ready(url, self.queries["contract"]["point"])
        with running(CEILING, command, url, ready, env, ROOT) as server:
            yield server

    def measure(
        self, server: Server, queries: dict[str, str], headers: dict[str, str] | None = None
    ) -> dict[str, Run]:
        """Load each query in turn (label -> query); the server is the only one under load."""
        return {
            label: autocannon(
                self.config.autocannon,
                server,
                f"{label:18s} {server.name:12s}",
                query,
                headers or {},
                self.config.seconds,
                self.config.connections,
                self.config.warmup,
            )
            for label, query in queries.items()
        }


def _graphql_ready(url: str, query: str = "{ __typename }") -> Callable[[httpx.Client], bool]:
    def ready(client: httpx.Client) -> bool:
        return client.post(url, json={"query": query}).status_code == 200

    return ready


def _require_observed(server: Server, base: str) -> None:
    """The project ran as production does, with one log line per request and /metrics counting
    them: a benchmark with either off would flatter it."""
    metrics = httpx.get(f"{base}/metrics", timeout=30).text
    counted = sum(
        float(line.rsplit(" ", 1)[1])
        for line in metrics.splitlines()
        if line.startswith("trading_api_http_requests_total{") and 'route="/graphql"' in line
    )
    logged = server.log.read_text(errors="replace").count("trading_api.requests")
    print(f"  {server.name}: {counted:,.0f} GraphQL requests in /metrics, {logged:,} logged")
    if not counted or not logged:
        raise RuntimeError(f"{server.name} ran without its request log or metrics")


def throughput(bench: Bench, results: Results) -> None:
    """Rounds that each start every server in turn and load every workload on it: noise that
    lasts a while (another process, the CPU's clock speed) lands on all servers, not on one."""
    contract, postgraphile = bench.queries["contract"], bench.queries["postgraphile"]
    projects = ((COLD, 0, ""), (WARM_REDIS, 300, bench.config.redis_url), (WARM_LOCAL, 300, ""))
    for number in range(1, bench.config.rounds + 1):
        print(f"  round {number} of {bench.config.rounds}", flush=True)
        runs: list[dict[str, Run]] = []  # one per server: workload -> run
        for name, ttl, redis_url in projects:
            with bench.project(name, DATABASE, ttl, redis_url) as (server, headers):
                runs.append(bench.measure(server, project_queries(contract), headers))
        with bench.postgraphile(DATABASE) as server:
            runs.append(bench.measure(server, postgraphile))
        with bench.ceiling(DATABASE) as server:
            runs.append(bench.measure(server, contract))
        for workload in (*WORKLOADS, CANDLES):
            results.throughput.setdefault(workload, []).append(
                [run[workload] for run in runs if workload in run]
            )


def scaling(bench: Bench, results: Results) -> None:
    """Project (cold) vs PostGraphile at 10x data: deeper offsets, more users per request."""
    variants: dict[str, tuple[str, str]] = {}  # label -> (contract, postgraphile)
    contract, postgraphile = bench.queries["contract"], bench.queries["postgraphile"]
    for offset in OFFSETS:
        variants[f"page offset {offset:,}"] = (
            with_offset(contract["page"], offset),
            with_offset(postgraphile["page"], offset),
        )
    for users in USERS:
        variants[f"nested {users} users"] = (
            with_users(contract["nested"], users),
            with_users(postgraphile["nested"], users),
        )
    with bench.project(COLD, SCALED_DATABASE, 0, graphql_max_cost=SCALING_MAX_COST) as (
        server,
        headers,
    ):
        ours = bench.measure(server, {k: v[0] for k, v in variants.items()}, headers)
    with bench.postgraphile(SCALED_DATABASE) as server:
        theirs = bench.measure(server, {k: v[1] for k, v in variants.items()})
    for label in variants:
        workload, variant = label.split(" ", 1)
        results.scaling.append((workload, variant, ours[label], theirs[label]))


def live(config: Config, results: Results) -> None:
    """bench/live.py as its own process (it runs its own servers), its output kept."""
    args = ["--subscribers", "100", "--seconds", "5"] if config.quick else []
    args += ["--compression", "deflate", "none"]  # both, to choose per deployment
    command = [sys.executable, "-m", "bench.live", *args]
    print(f"  python -m bench.live {' '.join(args)}", flush=True)
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)  # noqa: S603
    try:
        assert process.stdout is not None  # noqa: S101 - stdout=PIPE
        for line in process.stdout:
            print(f"  {line}", end="", flush=True)
            results.live.append(line.rstrip("\n"))
    except BaseException:
        process.send_signal(signal.SIGINT)  # its servers are stopped in its finally blocks
        raise
    finally:
        process.wait()
    if process.returncode != 0:
        raise RuntimeError(f"bench.live exited with {process.returncode}")


# --- report ---------------------------------------------------------------------------------


def parse_args() -> Config:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="2 s runs, a smaller live run")
    parser.add_argument("--skip-scaling", action="store_true", help="no scale-10 section")
    parser.add_argument("--skip-live", action="store_true", help="no live fan-out section")
    parser.add_argument(
        "--duration", type=int, default=None, help="seconds per run (env D, default 5)"
    )
    parser.add_argument(
        "--connections", type=int, default=None, help="connections (env C, default 16)"
    )
    parser.add_argument(
        "--warmup", type=int, default=1, help="unmeasured seconds of load before each run"
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="throughput rounds, every server in each (3)"
    )
    args = parser.parse_args()
    seconds = args.duration or int(os.environ.get("D") or (2 if args.quick else 5))
    default_anchors = ROOT.parent / "shared" / "anchors"
    default_home = Path.home() / ".cache" / "trading-api-anchors"
    return Config(
        anchors_dir=Path(os.environ.get("ANCHORS_DIR") or default_anchors).resolve(),
        anchors_home=Path(os.environ.get("ANCHORS_HOME") or default_home).resolve(),
        seconds=max(seconds, 1),
        connections=args.connections or int(os.environ.get("C") or 16),
        warmup=max(args.warmup, 0),
        rounds=max(args.rounds, 1),
        quick=args.quick,
        skip_scaling=args.skip_scaling,
        skip_live=args.skip_live,
        redis_url=os.environ.get("BENCH_REDIS_URL") or "redis://127.0.0.1:6379/13",
    )


def _terminate(signum: int, _frame: Any) -> NoReturn:
    raise SystemExit(128 + signum)  # unwinds through the `with` blocks that stop the servers


def main() -> None:
    config = parse_args()
    signal.signal(signal.SIGTERM, _terminate)
    # The in-process steps import the app, which logs at INFO: httpx would log every call.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    started = time.monotonic()
    results = Results()
    print(
        f"# make bench: D={config.seconds} s, C={config.connections}, "
        f"warm-up {config.warmup} s, {config.rounds_text}, {machine()}"
    )

    step(f"1. anchors ({config.anchors_dir})")
    if not (config.anchors_dir / "queries.json").exists():
        raise SystemExit(f"no anchors at {config.anchors_dir}: set ANCHORS_DIR")
    ensure_anchors(config)
    bench = Bench(config)

    step("2. datasets")
    dataset.build(DATABASE, 1)
    if not config.skip_scaling:
        dataset.build(SCALED_DATABASE, 10)

    step("3-4. throughput: project cold and warm, PostGraphile, ceiling")
    throughput(bench, results)
    print(throughput_tables(results))

    step("5. SQL statements per request (in-process)")
    for mode, ttl in (("cold", 0), ("warm", 300)):
        results.statements[mode] = asyncio.run(
            statements_per_request(
                dataset.database_url(DATABASE),
                bench.jwt_secret,
                ttl,
                project_queries(bench.queries["contract"]),
            )
        )
    print(statements_table(results))

    if not config.skip_scaling:
        step("6. scaling at scale 10")
        scaling(bench, results)
        print(scaling_table(results))

    if not config.skip_live:
        step("7. live fan-out (bench/live.py)")
        live(config, results)

    step(f"8. results -> {RESULTS.relative_to(ROOT)}")
    section = report(config, results, started)
    write_results(section)
    print(section)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        print("\ninterrupted: servers stopped", file=sys.stderr)
        sys.exit(130)

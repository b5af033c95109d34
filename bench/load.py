"""Load for the HTTP benchmark: the workloads of the anchors' queries.json (and the project's
own, `candles`), checked once and then driven by autocannon, with the server's and PostgreSQL's
CPU time read around each run."""

from __future__ import annotations

import json
import re
import subprocess
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

from bench.dataset import EPOCH, progress
from bench.servers import Server, postgres_cpu_seconds

WORKLOADS = ("point", "page", "nested")
# The project's own workload, beside the anchors' (PostGraphile has no candles): one currency's
# one-minute candles over the dataset's first five hours, 300 buckets of about 20 trades each.
CANDLES = "candles"
CANDLES_QUERY = (
    f'{{ candles(currency: "BTC", interval: ONE_MINUTE, from: "{EPOCH.isoformat()}", '
    f'to: "{(EPOCH + timedelta(hours=5)).isoformat()}") '
    "{ start open high low close volume trades } }"
)


def load_queries(anchors_dir: Path) -> dict[str, dict[str, str]]:
    """`{"contract": {workload: query}, "postgraphile": {...}}`, the same work in both dialects."""
    queries: dict[str, dict[str, str]] = json.loads((anchors_dir / "queries.json").read_text())
    return queries


def project_queries(contract: dict[str, str]) -> dict[str, str]:
    """The workloads the project is measured on: the anchors' and its own."""
    return {**contract, CANDLES: CANDLES_QUERY}


def with_offset(query: str, offset: int) -> str:
    """The same query from another offset (the `page` workload's only list argument)."""
    return _replace_once(query, r"offset: \d+", f"offset: {offset}")


def with_users(query: str, users: int) -> str:
    """The same nested query over `users` top-level users, in either dialect."""
    query = re.sub(r"\busers\(limit: \d+", f"users(limit: {users}", query)
    return re.sub(r"\ballUsers\(first: \d+", f"allUsers(first: {users}", query)


def _replace_once(query: str, pattern: str, replacement: str) -> str:
    rewritten, count = re.subn(pattern, replacement, query, count=1)
    if count != 1:
        raise ValueError(f"{pattern!r} not found in {query!r}")
    return rewritten


@dataclass
class Run:
    """One autocannon run against one server; CPU is the server's and PostgreSQL's, not the
    load generator's."""

    server: str
    rps: float
    p50: float
    p99: float
    total: int
    non2xx: int
    errors: int
    bytes_per_request: float
    cpu_seconds: float
    db_cpu_seconds: float  # PostgreSQL's, during the same run

    @property
    def cpu_us_per_request(self) -> float:
        return self.cpu_seconds / max(self.total, 1) * 1e6

    @property
    def db_cpu_us_per_request(self) -> float:
        return self.db_cpu_seconds / max(self.total, 1) * 1e6


def check(server: Server, query: str, headers: dict[str, str]) -> None:
    """One request, which must answer data without errors: a benchmark of error answers is
    worthless, and on a cached server this request is the warm-up."""
    response = httpx.post(server.url, json={"query": query}, headers=headers, timeout=60)
    try:
        body: dict[str, Any] = response.json()
    except ValueError:
        body = {}
    data = body.get("data")
    if response.status_code != 200 or "errors" in body or not _has_data(data):
        raise RuntimeError(
            f"{server.name} answered {response.status_code} to {query}:\n{response.text[:2000]}"
        )


def _has_data(data: object) -> bool:
    """Every top-level field is there, and lists (or PostGraphile's `nodes`) are not empty."""
    if not isinstance(data, dict) or not data:
        return False
    for value in data.values():
        if isinstance(value, dict) and "nodes" in value:
            value = value["nodes"]
        if not value:
            return False
    return True


def autocannon(
    binary: Path,
    server: Server,
    label: str,
    query: str,
    headers: dict[str, str],
    seconds: int,
    connections: int,
    warmup: int = 0,
) -> Run:
    """Check the workload, load it unmeasured for `warmup` seconds (JIT, pools and the
    statement caches of every server alike), then for `seconds` with a progress bar."""
    check(server, query, headers)
    command = [str(binary), "-j", "-c", str(connections), "-m", "POST"]
    for name, value in {"content-type": "application/json", **headers}.items():
        command += ["-H", f"{name}: {value}"]
    command += ["-b", json.dumps({"query": query}), server.url]
    if warmup:
        subprocess.run(  # noqa: S603 - a fixed command line
            [*command, "-d", str(warmup)], capture_output=True, check=True
        )
    cpu_before, db_before = server.cpu_seconds(), postgres_cpu_seconds()
    started = time.monotonic()
    process = subprocess.Popen(  # noqa: S603 - a fixed command line
        [*command, "-d", str(seconds)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    try:
        shown = -1
        while process.poll() is None:
            elapsed = min(int(time.monotonic() - started), seconds - 1)
            if elapsed != shown:  # once a second: the bar is also what a log file keeps
                progress(label, shown := elapsed, seconds)
            time.sleep(0.1)
        output = process.communicate()[0]
    finally:
        if process.poll() is None:  # interrupted: no load may outlive the benchmark
            process.kill()
            process.wait()
    cpu, db_cpu = server.cpu_seconds() - cpu_before, postgres_cpu_seconds() - db_before
    progress(label, seconds, seconds)
    if process.returncode != 0:
        raise RuntimeError(f"autocannon exited with {process.returncode} on {label}")
    result = json.loads(output)
    total = result["requests"]["total"]
    return Run(
        server=server.name,
        rps=result["requests"]["average"],
        p50=result["latency"]["p50"],
        p99=result["latency"]["p99"],
        total=total,
        non2xx=result["non2xx"],
        errors=result["errors"],
        bytes_per_request=result["throughput"]["total"] / max(total, 1),
        cpu_seconds=cpu,
        db_cpu_seconds=db_cpu,
    )

"""The tables `make bench` prints and writes into bench/RESULTS.md, and what they are about."""

from __future__ import annotations

import os
import platform
import re
import statistics
import subprocess
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from bench.load import Run

ROOT = Path(__file__).resolve().parent.parent

RESULTS = ROOT / "bench" / "RESULTS.md"
START_MARKER, END_MARKER = "<!-- make bench: start -->", "<!-- make bench: end -->"
DATABASE, SCALED_DATABASE = "trading_bench", "trading_bench_x10"
PG_URL = "postgresql://postgres@127.0.0.1:5432/{}"
# Statements per request the project aims for (issue 6); warm may do fewer. `candles` is not
# compiled: the session check, then the buckets' statement (issue 17).
TARGETS = {"point": 1, "page": 1, "nested": 3, "candles": 2}
OFFSETS = (0, 10_000, 100_000)
USERS = (10, 50, 100)
# `nested` over 100 users prices above the default budget of 10,000; the scaling runs measure
# throughput, not the limit, so that server gets a budget that lets every variant through.
SCALING_MAX_COST = "1000000"
# The servers of the throughput table, in the order each round starts them.
COLD, WARM_REDIS, WARM_LOCAL = "project cold", "project warm, Redis", "project warm, in-process"
POSTGRAPHILE, CEILING = "PostGraphile", "ceiling"


@dataclass
class Config:
    anchors_dir: Path
    anchors_home: Path
    seconds: int
    connections: int
    warmup: int
    rounds: int  # of the throughput table: each starts every server in turn
    quick: bool
    skip_scaling: bool
    skip_live: bool
    redis_url: str  # the warm-with-Redis server's; emptied before it starts

    @property
    def rounds_text(self) -> str:
        return f"{self.rounds} round{'s' if self.rounds != 1 else ''}"

    @property
    def autocannon(self) -> Path:
        return self.anchors_home / "node_modules" / ".bin" / "autocannon"


@dataclass
class Results:
    # workload -> rounds -> that round's runs, one per server
    throughput: dict[str, list[list[Run]]] = field(default_factory=dict)
    statements: dict[str, dict[str, float]] = field(default_factory=dict)  # cold/warm -> ...
    scaling: list[tuple[str, str, Run, Run]] = field(default_factory=list)
    live: list[str] = field(default_factory=list)


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = [header, ["---"] * len(header), *rows]
    return "\n".join("| " + " | ".join(cells) + " |" for cells in lines)


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b else "-"


def cpu(run: Run) -> str:
    return f"{run.cpu_us_per_request:,.0f} + {run.db_cpu_us_per_request:,.0f}"


def total_cpu(run: Run) -> float:
    return run.cpu_us_per_request + run.db_cpu_us_per_request


@dataclass(frozen=True)
class Spread:
    """A figure over rounds: its median, lowest and highest."""

    median: float
    low: float
    high: float

    @classmethod
    def of(cls, values: Iterable[float]) -> Spread:
        ordered = sorted(values)
        return cls(statistics.median(ordered), ordered[0], ordered[-1])

    def text(self, digits: int = 1, unit: str = "") -> str:
        median = f"{self.median:,.{digits}f}{unit}"
        if self.low == self.high:
            return median
        return f"{median} ({self.low:,.{digits}f}-{self.high:,.{digits}f}{unit})"


def by_server(rounds: list[list[Run]]) -> dict[str, list[Run]]:
    """Each server's runs, one per round, in the order the rounds started the servers."""
    runs: dict[str, list[Run]] = {}
    for round_runs in rounds:
        for run in round_runs:
            runs.setdefault(run.server, []).append(run)
    return runs


def per_round(
    rounds: list[list[Run]], server: str, anchor: str, figure: Callable[[Run], float]
) -> Spread | None:
    """`figure` of `server` ÷ that of `anchor` within each round (noise that hits one round hits
    both alike), over the rounds; None when the anchor's figure is 0 in every round, or the
    anchor did not run the workload (PostGraphile has no candles)."""
    runs = by_server(rounds)
    if anchor not in runs:
        return None
    ratios = [
        figure(ours) / figure(theirs)
        for ours, theirs in zip(runs[server], runs[anchor], strict=True)
        if figure(theirs)
    ]
    return Spread.of(ratios) if ratios else None


def ratio_text(spread: Spread | None, ranged: bool = True) -> str:
    if spread is None:
        return "-"
    return spread.text(2, "x") if ranged else f"{spread.median:.2f}x"


def median(runs: list[Run], figure: Callable[[Run], float]) -> float:
    return statistics.median(figure(run) for run in runs)


def throughput_rows(rounds: list[list[Run]]) -> list[list[str]]:
    """One row per server: rps with its spread over rounds, the other figures' medians, and
    ratios taken within each round."""
    rows = []
    for server, runs in by_server(rounds).items():
        rows.append(
            [
                server,
                Spread.of(run.rps for run in runs).text(),
                f"{median(runs, lambda run: run.p50):.0f}",
                f"{median(runs, lambda run: run.p99):.0f}",
                f"{median(runs, lambda run: run.cpu_us_per_request):,.0f} + "
                f"{median(runs, lambda run: run.db_cpu_us_per_request):,.0f}",
                ratio_text(per_round(rounds, server, POSTGRAPHILE, lambda run: run.rps)),
                ratio_text(per_round(rounds, server, CEILING, lambda run: run.rps)),
                ratio_text(per_round(rounds, server, POSTGRAPHILE, total_cpu), ranged=False),
                f"{median(runs, lambda run: run.bytes_per_request):,.0f}",
                f"{sum(run.non2xx for run in runs)}/{sum(run.errors for run in runs)}",
            ]
        )
    return rows


def warm_against_cold(rounds: list[list[Run]]) -> str:
    """The goal's "warm never slower than cold": each warm server's rps ÷ cold's, per round."""
    servers = by_server(rounds)
    parts = []
    for warm in (WARM_REDIS, WARM_LOCAL):
        if warm in servers and COLD in servers:
            spread = per_round(rounds, warm, COLD, lambda run: run.rps)
            slower = spread is not None and spread.median < 1
            parts.append(
                f"{warm} {ratio_text(spread)}" + (" **slower than cold**" if slower else "")
            )
    return f"rps ÷ {COLD}, per round: " + "; ".join(parts) if parts else ""


def throughput_tables(results: Results) -> str:
    header = [
        "server",
        "rps: median (min-max)",
        "p50 ms",
        "p99 ms",
        "CPU µs/req: server + PostgreSQL",
        "rps ÷ PostGraphile, per round",
        "rps ÷ ceiling, per round",
        "total CPU ÷ PostGraphile",
        "bytes/req",
        "non2xx/errors",
    ]
    sections = []
    for workload, rounds in results.throughput.items():
        alone = "" if POSTGRAPHILE in by_server(rounds) else " (the project only: no anchor has it)"
        section = f"**{workload}**{alone}\n\n{table(header, throughput_rows(rounds))}"
        if line := warm_against_cold(rounds):
            section += f"\n\n{line}"
        sections.append(section)
    return "\n\n".join(sections)


def statements_table(results: Results) -> str:
    cold, warm = results.statements["cold"], results.statements["warm"]
    rows = []
    for workload, target in TARGETS.items():
        met = cold[workload] <= target and warm[workload] <= target
        rows.append(
            [
                workload,
                f"{cold[workload]:g}",
                f"{warm[workload]:g}",
                f"{'≤ ' if target > 1 else ''}{target}",
                "yes" if met else "**no**",
            ]
        )
    return table(["workload", "cold", "warm", "target", "met"], rows)


def scaling_table(results: Results) -> str:
    rows = [
        [
            workload,
            variant,
            f"{ours.rps:,.1f}",
            f"{theirs.rps:,.1f}",
            ratio(ours.rps, theirs.rps),
            cpu(ours),
            cpu(theirs),
            ratio(total_cpu(ours), total_cpu(theirs)),
        ]
        for workload, variant, ours, theirs in results.scaling
    ]
    header = [
        "workload",
        "variant",
        "project rps",
        "PostGraphile rps",
        "rps ratio",
        "project CPU µs/req: server + PostgreSQL",
        "PostGraphile CPU µs/req: server + PostgreSQL",
        "total CPU ratio",
    ]
    return table(header, rows)


def machine() -> str:
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.MULTILINE)
    meminfo = Path("/proc/meminfo").read_text()
    memory = re.search(r"^MemTotal:\s*(\d+) kB", meminfo, re.MULTILINE)
    ram = f"{int(memory.group(1)) / 1024**2:.1f} GiB RAM" if memory else "RAM unknown"
    cpu = model.group(1) if model else platform.processor() or "CPU unknown"
    return f"{cpu}, {os.cpu_count()} cores, {ram}"


def commit() -> str:
    def git(*args: str) -> str:
        return subprocess.run(  # noqa: S603
            ["git", *args],  # noqa: S607
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()

    head = f"`{git('rev-parse', '--short', 'HEAD')}`"
    return head + (" + uncommitted changes" if git("status", "--porcelain") else "")


def report(config: Config, results: Results, started: float) -> str:
    parts = [
        "## `make bench`: latest run",
        "",
        f"- date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC ({time.monotonic() - started:.0f} s)",
        f"- commit: {commit()}",
        f"- machine: {machine()}; servers, PostgreSQL and load generator share it",
        f"- load: autocannon, C={config.connections} connections, D={config.seconds} s per run "
        f"after {config.warmup} s unmeasured, one server process under load at a time, "
        f"{config.rounds_text} of every server; CPU per "
        "request is user+system time (/proc) over the run divided by the requests answered, of "
        "the server's processes + of PostgreSQL's (all its processes on this machine)",
        f"- data: `{DATABASE}` (scale 1: 1,000 users, 20,000 trades, 1,000 degrees); project in "
        "production mode with its request log and /metrics on, cold = `CACHE_TTL_SECONDS=0`, "
        "warm = 300 with Redis (`REDIS_URL`, the production shape) and with the in-process cache",
        "- workloads: the anchors' `point`, `page` and `nested` on every server; `candles` "
        "(BTC's one-minute candles over 5 hours: 300 buckets) on the project alone, cold and warm",
    ]
    if results.throughput:
        parts += [
            "",
            f"### Throughput, latency, CPU: {config.rounds_text}",
            "",
            "Each round starts every server in turn and loads each workload on it, so noise "
            "that lasts lands on every server. Figures are medians over the rounds (rps with "
            "its lowest-highest); a ratio is taken within each round, then its median (and "
            "range) over the rounds.",
            "",
            throughput_tables(results),
        ]
    if results.statements:
        parts += [
            "",
            "### SQL statements per request (project, counted in-process over 10 requests)",
            "",
            statements_table(results),
        ]
    if results.scaling:
        parts += [
            "",
            f"### Scaling: `{SCALED_DATABASE}` (scale 10), project cold vs PostGraphile",
            "",
            "`page` from deeper offsets, `nested` over more users (offset 200, 20 trades each);"
            f" the project runs with `GRAPHQL_MAX_COST={SCALING_MAX_COST}` here.",
            "",
            scaling_table(results),
        ]
    if results.live:
        lines = [re.sub(r"^# ", "", line) for line in results.live]
        parts += ["", "### Live fan-out (bench/live.py)", "", *lines]
    return "\n".join(parts).rstrip() + "\n"


def write_results(section: str) -> None:
    """Replace what is between the markers (appending them if missing); the rest is history."""
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    block = f"{START_MARKER}\n{section}{END_MARKER}"
    if START_MARKER in text and END_MARKER in text:
        before, rest = text.split(START_MARKER, 1)
        after = rest.split(END_MARKER, 1)[1]
        text = before + block + after
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    RESULTS.write_text(text)


# --- main -----------------------------------------------------------------------------------

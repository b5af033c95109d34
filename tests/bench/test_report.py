"""`make bench`'s throughput table over rounds: medians and spreads of each server's figures, and
ratios taken within each round, from runs built by hand (no servers); the project's own
`candles` workload, reported without anchors."""

from __future__ import annotations

from graphql import build_schema, parse, validate, value_from_ast_untyped

from bench.load import CANDLES, CANDLES_QUERY, Run, project_queries
from bench.report import (
    CEILING,
    COLD,
    POSTGRAPHILE,
    ROOT,
    WARM_LOCAL,
    WARM_REDIS,
    Results,
    Spread,
    per_round,
    throughput_tables,
)
from schema.models import candle_items


def run(server: str, rps: float, p50: float = 10, non2xx: int = 0, cpu: float = 1.0) -> Run:
    """`rps` for 1 s: `cpu` seconds of the server's CPU for `rps` requests."""
    return Run(server, rps, p50, 2 * p50, int(rps), non2xx, 0, 100.0, cpu, 0.0)


# Three rounds of four servers. Cold and PostGraphile's rps move together (a noisy round hits
# both), so per round cold is 1.00x PostGraphile, although its median (200) is twice theirs (100).
ROUNDS = [
    [run(COLD, 100), run(WARM_REDIS, 150), run(POSTGRAPHILE, 100), run(CEILING, 400)],
    [
        run(COLD, 200, p50=30, non2xx=2),
        run(WARM_REDIS, 180),
        run(POSTGRAPHILE, 100),
        run(CEILING, 400),
    ],
    [run(COLD, 400), run(WARM_REDIS, 360), run(POSTGRAPHILE, 400), run(CEILING, 400)],
]


def test_spread_is_the_median_and_the_extremes() -> None:
    assert Spread.of([3, 1, 2]) == Spread(2, 1, 3)
    assert Spread.of([4, 1, 2, 3]) == Spread(2.5, 1, 4)
    assert Spread.of([120.0, 100.0, 110.0]).text() == "110.0 (100.0-120.0)"
    assert Spread.of([1.5]).text(2, "x") == "1.50x"  # one round: no range


def test_ratios_are_taken_within_each_round() -> None:
    ratio = per_round(ROUNDS, COLD, POSTGRAPHILE, lambda r: r.rps)
    assert ratio == Spread(1.0, 1.0, 2.0)  # 1.00, 2.00, 1.00: not 200 / 100
    warm = per_round(ROUNDS, WARM_REDIS, COLD, lambda r: r.rps)
    assert warm == Spread(0.9, 0.9, 1.5)  # 1.50, 0.90, 0.90


def test_the_table_shows_medians_spreads_and_per_round_ratios() -> None:
    text = throughput_tables(Results(throughput={"page": ROUNDS}))
    rows = {line.split(" | ")[0].lstrip("| "): line.split(" | ") for line in text.splitlines()}
    cold = rows[COLD]
    assert cold[1] == "200.0 (100.0-400.0)"  # rps
    assert cold[2:4] == ["10", "20"]  # p50, p99: medians, 30 and 60 of one round left out
    assert cold[4] == "5,000 + 0"  # 1 s of CPU over 200 requests, the median round
    assert cold[5] == "1.00x (1.00-2.00x)"  # rps ÷ PostGraphile
    assert cold[6] == "0.50x (0.25-1.00x)"  # rps ÷ ceiling
    assert cold[7] == "1.00x"  # total CPU ÷ PostGraphile: per round 1.00, 0.50, 1.00
    assert cold[9] == "2/0 |"  # non-2xx answers of every round
    assert rows[POSTGRAPHILE][1] == "100.0 (100.0-400.0)"
    assert f"rps ÷ {COLD}, per round: {WARM_REDIS} 0.90x (0.90-1.50x) **slower than cold**" in text


def test_warm_at_least_as_fast_as_cold_is_not_flagged() -> None:
    rounds = [[run(COLD, 100), run(WARM_REDIS, 100), run(POSTGRAPHILE, 100), run(CEILING, 100)]]
    text = throughput_tables(Results(throughput={"point": rounds}))
    assert f"{WARM_REDIS} 1.00x" in text
    assert "slower" not in text


def test_a_workload_no_anchor_has_is_reported_for_the_project_alone() -> None:
    """`candles`: PostGraphile and the ceiling do not run it; its ratios to them are blank, warm
    is still held against cold."""
    rounds = [
        [run(COLD, 100), run(WARM_REDIS, 300), run(WARM_LOCAL, 400)],
        [run(COLD, 120), run(WARM_REDIS, 330), run(WARM_LOCAL, 480)],
    ]
    text = throughput_tables(Results(throughput={CANDLES: rounds}))
    assert text.startswith("**candles** (the project only: no anchor has it)")
    rows = {line.split(" | ")[0].lstrip("| "): line.split(" | ") for line in text.splitlines()}
    assert set(rows) >= {COLD, WARM_REDIS, WARM_LOCAL}
    assert POSTGRAPHILE not in rows and CEILING not in rows
    assert rows[COLD][5:8] == ["-", "-", "-"]  # no PostGraphile, no ceiling
    assert f"{WARM_REDIS} 2.88x (2.75-3.00x)" in text
    assert f"{WARM_LOCAL} 4.00x" in text


def test_the_anchored_workloads_still_name_their_anchor() -> None:
    text = throughput_tables(Results(throughput={"page": ROUNDS}))
    assert text.startswith("**page**\n")


def test_the_candles_workload_is_a_valid_query_of_the_served_schema() -> None:
    """What `make bench` sends, checked against schema.graphql (the served schema, which
    tests/schema keeps in step), over the buckets it claims."""
    schema = build_schema((ROOT / "schema.graphql").read_text())
    assert validate(schema, parse(CANDLES_QUERY)) == []
    assert project_queries({"point": "{ me { id } }"}) == {
        "point": "{ me { id } }",
        CANDLES: CANDLES_QUERY,
    }
    [field] = parse(CANDLES_QUERY).definitions[0].selection_set.selections  # type: ignore[attr-defined]
    arguments = {a.name.value: value_from_ast_untyped(a.value) for a in field.arguments}
    assert candle_items(arguments) == 300

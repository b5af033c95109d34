"""Helpers shared by the tests and the benchmarks. The process helpers (ports, programs,
postgres_server, redis_server) are plain Python, without pytest: bench/ imports them, and a
benchmark runs without the test runner's machinery."""

"""Helpers that test modules import (fixtures live in the conftest.py files). The process
helpers (ports, programs, postgres_server, redis_server) are plain Python, without pytest: bench/
imports them, and a benchmark runs without the test runner's machinery."""

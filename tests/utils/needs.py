"""What a test needs of the machine (PostgreSQL, Redis, Node.js, Chromium...)."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def needed(reason: str) -> NoReturn:
    """Fail in CI (`CI` set), skip loudly elsewhere: a missing service or program must not pass
    silently where the whole suite is meant to run."""
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)

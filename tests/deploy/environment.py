"""The environment of a production process in the deployment tests: settings passed explicitly."""

from __future__ import annotations

import os
import secrets

# What run-prod and the containers need; the tests pass them explicitly, never from the outside.
REQUIRED_VARIABLES = ("DATABASE_URL", "REDIS_URL", "JWT_SECRET")


def production_environment(database_url: str, redis_url: str) -> dict[str, str]:
    """The environment a production process gets: a random key, no settings from the caller."""
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in REQUIRED_VARIABLES and not name.startswith(("FIRST_ADMIN_", "ENVIRONMENT"))
    }
    env.update(
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        JWT_SECRET=secrets.token_urlsafe(48),
        ENVIRONMENT="production",
    )
    return env

"""Settings of the app under test: the first admin it creates, its signing key, the origin CORS
allows, its Redis database; make_settings builds them."""

from __future__ import annotations

import os
from typing import Any

from settings import Settings

ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "admin-password-1"
TEST_SECRET = "test-signing-key-" + "x" * 32
# The one origin CORS_ORIGINS allows, in-process and in the uvicorn processes alike.
APP_ORIGIN = "http://app.example"
# A logical database of its own, emptied around every test that uses it.
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def make_settings(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "jwt_secret": TEST_SECRET,
        "first_admin_email": ADMIN_EMAIL,
        "first_admin_password": ADMIN_PASSWORD,
        "cors_origins": [APP_ORIGIN],
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)

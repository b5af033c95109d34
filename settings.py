"""The one settings object, read from the environment and a `.env` file; nothing else reads them."""

from __future__ import annotations

import os
import secrets
import time
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

# Development keeps its generated signing key here (git-ignored), so restarts and several
# processes started from the same checkout agree on it.
DEV_SECRET_FILE = Path(__file__).with_name(".jwt_secret")
MIN_SECRET_LENGTH = 32
WEAK_SECRETS = {"changethis", "secret", "changeme", "jwt-secret", "development"}


class Environment(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///./trading.db"
    redis_url: str | None = None
    environment: Environment = Environment.DEVELOPMENT
    jwt_secret: SecretStr | None = None
    jwt_lifetime_minutes: int = Field(default=60 * 12, gt=0)
    jwt_audience: str = "trading-api"
    jwt_issuer: str = "trading-api"
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    first_admin_email: str | None = None
    first_admin_password: SecretStr | None = None
    # Demo accounts and trades are loaded by `make run` in development only.
    demo_data: bool = True

    @model_validator(mode="before")
    @classmethod
    def _split_origins(cls, values: dict[str, object]) -> dict[str, object]:
        origins = values.get("cors_origins")
        if isinstance(origins, str):
            values["cors_origins"] = [o.strip() for o in origins.split(",") if o.strip()]
        return values

    @model_validator(mode="after")
    def _require_strong_secret(self) -> Settings:
        if self.jwt_secret is None:
            if self.is_production:
                raise ValueError("JWT_SECRET is required in production")
            self.jwt_secret = SecretStr(_development_secret())
        secret = self.jwt_secret.get_secret_value()
        if self.is_production and (
            len(secret) < MIN_SECRET_LENGTH or secret.lower() in WEAK_SECRETS
        ):
            raise ValueError(
                f"JWT_SECRET must be at least {MIN_SECRET_LENGTH} random characters in production"
            )
        if bool(self.first_admin_email) != bool(self.first_admin_password):
            raise ValueError("FIRST_ADMIN_EMAIL and FIRST_ADMIN_PASSWORD go together")
        return self

    @property
    def is_production(self) -> bool:
        return self.environment is Environment.PRODUCTION

    @property
    def signing_key(self) -> str:
        if self.jwt_secret is None:  # the validator sets it; this narrows the type
            raise RuntimeError("no signing key")
        return self.jwt_secret.get_secret_value()


def _development_secret() -> str:
    """Read the development key, creating it once; O_EXCL makes concurrent first starts agree."""
    try:
        fd = os.open(DEV_SECRET_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        # Another process may have created the file and not written it yet.
        for _ in range(50):
            if secret := DEV_SECRET_FILE.read_text().strip():
                return secret
            time.sleep(0.02)
        raise RuntimeError(f"{DEV_SECRET_FILE} is empty: delete it to generate a new key") from None
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_urlsafe(48))
    return DEV_SECRET_FILE.read_text().strip()


@lru_cache
def get_settings() -> Settings:
    return Settings()

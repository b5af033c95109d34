"""Settings validation: the signing key rules per environment, CORS parsing, the first admin,
and defaults. No database: every test builds `Settings(_env_file=None, ...)` directly."""

from __future__ import annotations

import secrets
import stat
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

import settings as settings_module
from settings import MIN_SECRET_LENGTH, Environment, Settings, problems

STRONG_SECRET = secrets.token_urlsafe(36)  # 48 random characters
SETTINGS_ENV_VARS = [
    "DATABASE_URL",
    "REDIS_URL",
    "ENVIRONMENT",
    "JWT_SECRET",
    "JWT_LIFETIME_MINUTES",
    "JWT_AUDIENCE",
    "JWT_ISSUER",
    "CORS_ORIGINS",
    "FIRST_ADMIN_EMAIL",
    "FIRST_ADMIN_PASSWORD",
    "DEMO_DATA",
    "LOG_LEVEL",
]


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No setting leaks in from the shell, and the development key file is a temporary one."""
    for name in SETTINGS_ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    secret_file = tmp_path / ".jwt_secret"
    monkeypatch.setattr(settings_module, "DEV_SECRET_FILE", secret_file)
    return secret_file


# --- The signing key -------------------------------------------------------------------------


def test_production_requires_a_secret() -> None:
    with pytest.raises(ValidationError, match="JWT_SECRET is required in production"):
        Settings(_env_file=None, environment="production")


def test_production_does_not_generate_a_key_file(clean_environment: Path) -> None:
    with pytest.raises(ValidationError):
        Settings(_env_file=None, environment="production")
    assert not clean_environment.exists()


@pytest.mark.parametrize(
    "secret",
    [
        "changethis",
        "CHANGETHIS",
        "secret",
        "",
        secrets.token_urlsafe(48)[: MIN_SECRET_LENGTH - 1],
    ],
    ids=["weak", "weak upper-case", "weak short", "empty", "one character short"],
)
def test_production_refuses_a_short_or_weak_secret(secret: str) -> None:
    with pytest.raises(ValidationError, match=r"JWT_SECRET (must be at least|is required)"):
        Settings(_env_file=None, environment="production", jwt_secret=secret)


def test_production_refuses_a_weak_secret_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv("JWT_SECRET", "changethis")
    with pytest.raises(ValidationError):
        Settings(_env_file=None)


@pytest.mark.parametrize(
    "secret",
    [STRONG_SECRET, secrets.token_urlsafe(48)[:MIN_SECRET_LENGTH]],
    ids=["48 characters", "exactly the minimum"],
)
def test_production_accepts_a_strong_secret(secret: str, clean_environment: Path) -> None:
    settings = Settings(_env_file=None, environment="production", jwt_secret=secret)
    assert settings.is_production
    assert settings.environment is Environment.PRODUCTION
    assert settings.signing_key == secret
    assert not clean_environment.exists()


def test_development_generates_and_keeps_a_key(clean_environment: Path) -> None:
    """The first start writes a random key (owner-only); later starts read the same one."""
    first = Settings(_env_file=None)

    assert not first.is_production
    assert clean_environment.read_text().strip() == first.signing_key
    assert len(first.signing_key) >= MIN_SECRET_LENGTH
    assert stat.S_IMODE(clean_environment.stat().st_mode) == 0o600
    second = Settings(_env_file=None)
    assert second.signing_key == first.signing_key


def test_development_reads_an_existing_key_file(clean_environment: Path) -> None:
    clean_environment.write_text("  an-existing-development-key-0123456789  \n")
    assert Settings(_env_file=None).signing_key == "an-existing-development-key-0123456789"


def test_development_key_files_differ_per_checkout(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Generated keys are random, not a fixed default."""
    keys = []
    for name in ("one", "two"):
        monkeypatch.setattr(settings_module, "DEV_SECRET_FILE", tmp_path / name)
        keys.append(Settings(_env_file=None).signing_key)
    assert keys[0] != keys[1]


def test_development_with_an_explicit_secret_writes_no_file(clean_environment: Path) -> None:
    secret = "an-explicit-development-key-000000"
    settings = Settings(_env_file=None, jwt_secret=secret)
    assert settings.signing_key == secret
    assert not clean_environment.exists()


def test_a_short_secret_is_refused_in_development_too() -> None:
    """pyjwt warns about HS256 keys under 32 bytes; they are refused everywhere."""
    with pytest.raises(ValidationError, match="JWT_SECRET must be at least"):
        Settings(_env_file=None, jwt_secret="short-key")


def test_production_refuses_a_long_but_repetitive_secret() -> None:
    with pytest.raises(ValidationError, match="random characters"):
        Settings(_env_file=None, environment="production", jwt_secret="a" * 40)


def test_development_does_not_sign_with_an_empty_secret() -> None:
    """`JWT_SECRET=` (set but empty, as a `.env` template or compose file leaves it) counts as
    unset: development generates its key instead of signing with "" (a 500 on every login)."""
    settings = Settings(_env_file=None, jwt_secret="")
    assert len(settings.signing_key) >= MIN_SECRET_LENGTH


def test_development_refuses_an_empty_key_file(clean_environment: Path) -> None:
    """An empty file (say, a crash mid-write) is reported instead of signing with ""."""
    clean_environment.write_text("")
    with pytest.raises(RuntimeError, match="is empty"):
        Settings(_env_file=None)


def test_secret_is_hidden_from_repr() -> None:
    settings = Settings(_env_file=None, environment="production", jwt_secret=STRONG_SECRET)
    assert STRONG_SECRET not in repr(settings)
    assert STRONG_SECRET not in str(settings.model_dump())


# --- CORS origins ----------------------------------------------------------------------------


def test_cors_origins_from_a_comma_separated_env_var(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CORS_ORIGINS", "http://a.example, http://b.example")
    settings = Settings(_env_file=None, jwt_secret=STRONG_SECRET)
    assert settings.cors_origins == ["http://a.example", "http://b.example"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("http://a.example", ["http://a.example"]),
        (" http://a.example ,, http://b.example, ", ["http://a.example", "http://b.example"]),
        ("", []),
    ],
)
def test_cors_origins_string_forms(
    monkeypatch: pytest.MonkeyPatch, value: str, expected: list[str]
) -> None:
    monkeypatch.setenv("CORS_ORIGINS", value)
    assert Settings(_env_file=None, jwt_secret=STRONG_SECRET).cors_origins == expected


def test_cors_origins_are_normalized_to_what_browsers_send() -> None:
    settings = Settings(
        _env_file=None, jwt_secret=STRONG_SECRET, cors_origins="https://a.example/, http://b:3000"
    )
    assert settings.cors_origins == ["https://a.example", "http://b:3000"]


@pytest.mark.parametrize("origin", ["a.example", "ftp://a.example", "https://a.example/app"])
def test_malformed_cors_origins_are_refused(origin: str) -> None:
    with pytest.raises(ValidationError, match="CORS origin"):
        Settings(_env_file=None, jwt_secret=STRONG_SECRET, cors_origins=origin)


def test_cors_origins_default_to_vites_dev_server_in_development_only() -> None:
    """A page on Vite's default address may call a development API with the user's cookie, as
    the README's Apollo example does; production allows no other origin unless told."""
    development = Settings(_env_file=None, jwt_secret=STRONG_SECRET)
    assert development.cors_origins == ["http://localhost:5173", "http://127.0.0.1:5173"]
    production = Settings(_env_file=None, jwt_secret=STRONG_SECRET, environment="production")
    assert production.cors_origins == []


@pytest.mark.parametrize("environment", ["development", "production"])
def test_cors_origins_when_set_are_taken_as_they_are(
    monkeypatch: pytest.MonkeyPatch, environment: str
) -> None:
    monkeypatch.setenv("ENVIRONMENT", environment)
    monkeypatch.setenv("CORS_ORIGINS", "")
    assert Settings(_env_file=None, jwt_secret=STRONG_SECRET).cors_origins == []
    monkeypatch.setenv("CORS_ORIGINS", "https://app.example")
    assert Settings(_env_file=None, jwt_secret=STRONG_SECRET).cors_origins == [
        "https://app.example"
    ]


def test_cors_origins_as_a_list() -> None:
    settings = Settings(_env_file=None, jwt_secret=STRONG_SECRET, cors_origins=["http://a.example"])
    assert settings.cors_origins == ["http://a.example"]


# --- The first admin -------------------------------------------------------------------------


def test_first_admin_email_without_password_is_refused() -> None:
    with pytest.raises(ValidationError, match="go together"):
        Settings(_env_file=None, jwt_secret=STRONG_SECRET, first_admin_email="a@example.com")


def test_first_admin_password_without_email_is_refused() -> None:
    with pytest.raises(ValidationError, match="go together"):
        Settings(_env_file=None, jwt_secret=STRONG_SECRET, first_admin_password="pw-123456789")


def test_first_admin_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FIRST_ADMIN_EMAIL", "boss@example.com")
    monkeypatch.setenv("FIRST_ADMIN_PASSWORD", "boss-password-1")
    settings = Settings(_env_file=None, jwt_secret=STRONG_SECRET)
    assert settings.first_admin_email == "boss@example.com"
    assert settings.first_admin_password is not None
    assert settings.first_admin_password.get_secret_value() == "boss-password-1"
    assert "boss-password-1" not in repr(settings)


def test_a_first_admin_on_a_reserved_domain_is_a_bad_setting() -> None:
    """Start-up creates the account under the sign-up rules: `.test` is no mail domain."""
    with pytest.raises(ValidationError) as refused:
        Settings(
            _env_file=None,
            jwt_secret=STRONG_SECRET,
            first_admin_email="admin@acme.test",
            first_admin_password="boss-password-1",
        )
    (line,) = problems(refused.value)
    assert line.startswith("FIRST_ADMIN_EMAIL: value is not a valid email address")
    assert "reserved name" in line


def test_a_weak_first_admin_password_is_refused_without_repeating_it() -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(
            _env_file=None,
            jwt_secret=STRONG_SECRET,
            first_admin_email="admin@example.com",
            first_admin_password="aaaaaaaaaaaa",
        )
    (line,) = problems(refused.value)
    assert line == "FIRST_ADMIN_PASSWORD: password is too easy to guess"
    assert "aaaaaaaaaaaa" not in str(refused.value)


def test_no_first_admin_by_default() -> None:
    settings = Settings(_env_file=None, jwt_secret=STRONG_SECRET)
    assert settings.first_admin_email is None
    assert settings.first_admin_password is None


# --- Defaults and other fields ---------------------------------------------------------------


def test_defaults() -> None:
    settings = Settings(_env_file=None, jwt_secret=STRONG_SECRET)
    assert settings.database_url == "sqlite+aiosqlite:///./trading.db"
    assert settings.environment is Environment.DEVELOPMENT
    assert settings.redis_url is None
    assert settings.jwt_lifetime_minutes == 12 * 60
    assert settings.jwt_audience == settings.jwt_issuer == "trading-api"


def test_database_url_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql+asyncpg://u@db.example/trading")
    settings = Settings(_env_file=None, jwt_secret=STRONG_SECRET)
    assert settings.database_url == "postgresql+asyncpg://u@db.example/trading"


@pytest.mark.parametrize("minutes", [0, -5])
def test_token_lifetime_must_be_positive(minutes: int) -> None:
    with pytest.raises(ValidationError):
        Settings(_env_file=None, jwt_secret=STRONG_SECRET, jwt_lifetime_minutes=minutes)


def test_unknown_environment_is_refused() -> None:
    with pytest.raises(ValidationError):
        Settings(_env_file=None, jwt_secret=STRONG_SECRET, environment="staging")


def test_env_file_is_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A `.env` file supplies settings; real environment variables override it."""
    env_file = tmp_path / ".env"
    env_file.write_text(
        f"ENVIRONMENT=production\nJWT_SECRET={STRONG_SECRET}\nDATABASE_URL=sqlite+aiosqlite:///x.db\n"
    )
    monkeypatch.setenv("DATABASE_URL", "sqlite+aiosqlite:///from-env.db")
    settings = Settings(_env_file=env_file)
    assert settings.is_production
    assert settings.signing_key == STRONG_SECRET
    assert settings.database_url == "sqlite+aiosqlite:///from-env.db"


def test_a_worker_is_dead_only_after_missing_two_heartbeats() -> None:
    """One late heartbeat (a busy worker, a slow Redis) must not get its jobs run again."""
    with pytest.raises(ValidationError, match="at least twice WORKER_HEARTBEAT_SECONDS"):
        Settings(
            _env_file=None,
            jwt_secret=STRONG_SECRET,
            worker_heartbeat_seconds=3,
            worker_stale_seconds=5,
        )
    settings = Settings(_env_file=None, jwt_secret=STRONG_SECRET)
    assert settings.worker_stale_seconds >= 2 * settings.worker_heartbeat_seconds


def test_log_level_in_either_case(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOG_LEVEL", "DEBUG")
    assert Settings(_env_file=None, jwt_secret=STRONG_SECRET).log_level == "debug"
    assert Settings(_env_file=None, jwt_secret=STRONG_SECRET, log_level="info").log_level == "info"


def test_a_bad_setting_is_named_with_the_values_allowed() -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(_env_file=None, jwt_secret=STRONG_SECRET, log_level="loud")
    assert problems(refused.value) == [
        "LOG_LEVEL: Input should be 'debug', 'info', 'warning' or 'error'"
    ]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("database_url", "postgresql://app@db/trading"),  # no async driver installed for it
        ("database_url", "trading.db"),
        ("redis_url", "localhost:6379"),
    ],
)
def test_a_url_for_a_driver_not_installed_is_a_bad_setting(name: str, value: str) -> None:
    given: dict[str, Any] = {name: value}
    with pytest.raises(ValidationError) as refused:
        Settings(_env_file=None, jwt_secret=STRONG_SECRET, **given)
    (line,) = problems(refused.value)
    assert line.startswith(f"{name.upper()}: must look like ")

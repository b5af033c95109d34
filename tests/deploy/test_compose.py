"""compose.yaml, read as compose reads it: the services, their order, health checks and settings.
(`docker compose config` and `up` cannot run here: there is no Docker engine; see
docs/operations.md.)"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from settings import Settings
from tests.deploy.compose import APP_SERVICES, VARIABLES, compose, environment, services
from tests.deploy.dockerfile import MissingVariable, parse
from tests.utils.databases import ROOT


def test_compose_runs_the_database_redis_a_migration_the_api_and_a_worker() -> None:
    assert set(services()) == {"postgres", "redis", "migrate", *APP_SERVICES}


def test_every_long_running_service_has_a_health_check() -> None:
    for name in ("postgres", "redis", "api", "worker"):
        check = services()[name]["healthcheck"]
        assert check["test"][0] in ("CMD", "CMD-SHELL"), name
        assert {"interval", "timeout", "retries"} <= set(check), name
    # The one-shot migration serves nothing: the image's /healthz check is turned off for it.
    assert services()["migrate"]["healthcheck"] == {"disable": True}


def test_health_checks_ask_the_right_thing() -> None:
    assert "pg_isready" in services()["postgres"]["healthcheck"]["test"]
    assert services()["redis"]["healthcheck"]["test"] == ["CMD", "redis-cli", "ping"]
    api_check = " ".join(services()["api"]["healthcheck"]["test"])
    assert "http://127.0.0.1:8000/readyz" in api_check
    assert services()["worker"]["healthcheck"]["test"] == [
        "CMD",
        "arq",
        "--check",
        "workers.WorkerSettings",
    ]


def test_the_migration_runs_once_the_database_is_healthy_and_the_others_wait_for_it() -> None:
    migrate = services()["migrate"]
    assert migrate["command"] == ["python", "manage.py", "migrate"]
    assert migrate["restart"] == "no"
    assert migrate["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    for name in ("api", "worker"):
        assert services()[name]["depends_on"] == {
            "migrate": {"condition": "service_completed_successfully"},
            "postgres": {"condition": "service_healthy"},
            "redis": {"condition": "service_healthy"},
        }, name


def test_the_api_runs_the_images_command_with_several_workers_and_multiprocess_metrics() -> None:
    api = services()["api"]
    assert "command" not in api  # the Dockerfile's CMD: uvicorn, $WEB_CONCURRENCY workers
    assert int(environment("api")["WEB_CONCURRENCY"]) > 1
    assert environment("api", {**VARIABLES, "API_WORKERS": "8"})["WEB_CONCURRENCY"] == "8"
    metrics_dir = environment("api")["PROMETHEUS_MULTIPROC_DIR"]
    # A tmpfs: emptied at every start, as prometheus-client's multiprocess mode needs.
    assert [mount.split(":")[0] for mount in api["tmpfs"]] == [metrics_dir]
    assert "uid=10001" in api["tmpfs"][0]  # writable by the image's user
    assert services()["worker"]["command"] == ["python", "-m", "workers"]


def test_the_tmpfs_owner_is_the_images_user() -> None:
    runtime = parse(ROOT / "Dockerfile")[-1]
    user = runtime.last("USER")
    assert user is not None
    uid, _, gid = user.arguments.partition(":")
    assert f"uid={uid},gid={gid}" in services()["api"]["tmpfs"][0]


def test_every_app_service_is_the_same_image_in_production_on_the_compose_services() -> None:
    postgres = services()["postgres"]["environment"]
    for name in APP_SERVICES:
        service = services()[name]
        assert service["build"] == "."
        assert service["image"] == "trading-api:latest"
        env = environment(name)
        assert env["ENVIRONMENT"] == "production"
        database = urlsplit(env["DATABASE_URL"])
        assert database.scheme == "postgresql+asyncpg"
        assert (database.hostname, database.port) == ("postgres", 5432)
        assert database.username == postgres["POSTGRES_USER"]
        assert database.password == VARIABLES["POSTGRES_PASSWORD"]
        assert database.path == f"/{postgres['POSTGRES_DB']}"
        assert urlsplit(env["REDIS_URL"]).hostname == "redis"
        assert env["JWT_SECRET"] == VARIABLES["JWT_SECRET"]


def test_the_app_environment_is_valid_production_settings() -> None:
    for name in APP_SERVICES:
        values = {key.lower(): value for key, value in environment(name).items()}
        settings = Settings(_env_file=None, **values)  # type: ignore[arg-type]
        assert settings.is_production
        assert settings.first_admin_email is None or not settings.first_admin_email


@pytest.mark.parametrize("missing", ["JWT_SECRET", "POSTGRES_PASSWORD"])
def test_compose_stops_with_a_clear_message_when_a_secret_is_unset(missing: str) -> None:
    variables = {name: value for name, value in VARIABLES.items() if name != missing}
    with pytest.raises(MissingVariable, match=f"^{missing}: set {missing}"):
        environment("api", variables)
    with pytest.raises(MissingVariable, match=f"^{missing}: set {missing}"):
        environment("migrate", {**variables, missing: ""})


def test_data_lives_in_named_volumes() -> None:
    assert set(compose()["volumes"]) == {"postgres-data", "redis-data"}
    assert services()["postgres"]["volumes"] == ["postgres-data:/var/lib/postgresql/data"]
    assert services()["redis"]["volumes"] == ["redis-data:/data"]

"""compose.yaml as the deployment tests read it: its services and their interpolated environment."""

from __future__ import annotations

from typing import Any

import yaml  # type: ignore[import-untyped]  # PyYAML comes with uvicorn[standard], untyped

from tests.deploy.dockerfile import interpolate
from tests.utils.databases import ROOT

APP_SERVICES = ("migrate", "api", "worker")
VARIABLES = {"JWT_SECRET": "a-random-key-of-more-than-32-characters-7Qz", "POSTGRES_PASSWORD": "pw"}


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text())
    return loaded


def services() -> dict[str, Any]:
    found: dict[str, Any] = compose()["services"]
    return found


def environment(service: str, variables: dict[str, str] | None = None) -> dict[str, str]:
    """A service's environment after interpolation, as its container would see it."""
    values = services()[service].get("environment", {})
    given = VARIABLES if variables is None else variables
    return {name: interpolate(str(value), given) for name, value in values.items()}

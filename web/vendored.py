"""The vendored browser libraries (web/vendor/, refreshed by `make vendor`), served under /vendor/.

Each package's files sit in a folder named for its exact version, pinned in web/vendor/package.json:
a URL never changes content, so browsers may keep the files for a year.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

from web.page_headers import WithHeaders, immutable

VENDOR_DIRECTORY = Path(__file__).with_name("vendor")
ASSETS_DIRECTORY = VENDOR_DIRECTORY / "assets"
ASSETS_PATH = "/vendor"


@cache
def pinned_versions() -> dict[str, str]:
    """npm package name -> exact version, as web/vendor/package.json pins them."""
    manifest = json.loads((VENDOR_DIRECTORY / "package.json").read_text())
    versions: dict[str, str] = manifest["dependencies"]
    return versions


def folder_name(package: str) -> str:
    """Its folder, as web/vendor/copy.mjs names it: `@graphiql/plugin-explorer` ->
    `graphiql-plugin-explorer@3.2.5`."""
    return f"{package.removeprefix('@').replace('/', '-')}@{pinned_versions()[package]}"


def asset_url(package: str, file: str) -> str:
    """The URL of one of a package's vendored files, e.g. ("graphiql", "graphiql.min.js")."""
    return f"{ASSETS_PATH}/{folder_name(package)}/{file}"


def add_vendored_assets(app: FastAPI) -> None:
    app.mount(
        ASSETS_PATH,
        WithHeaders(StaticFiles(directory=ASSETS_DIRECTORY), immutable),
        name="vendored-assets",
    )

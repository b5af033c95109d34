"""GraphiQL at /graphql: our page (web/playground/) in place of Strawberry's, which loads its
libraries from a CDN. Everything it loads is on this origin: the vendored GraphiQL, React and
explorer plugin (web/vendor/) and the page's own script and styles under /playground/."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from string import Template

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

from web.page_headers import WithHeaders, content_security_policy, page_headers
from web.vendored import asset_url

PAGE_DIRECTORY = Path(__file__).with_name("playground")
ASSETS_PATH = "/playground"


@cache
def _page() -> str:
    return Template((PAGE_DIRECTORY / "graphiql.html").read_text()).substitute(
        graphiql_js=asset_url("graphiql", "graphiql.min.js"),
        graphiql_css=asset_url("graphiql", "graphiql.min.css"),
        explorer_js=asset_url("@graphiql/plugin-explorer", "index.umd.js"),
        explorer_css=asset_url("@graphiql/plugin-explorer", "style.css"),
        react_js=asset_url("react", "react.production.min.js"),
        react_dom_js=asset_url("react-dom", "react-dom.production.min.js"),
    )


def _headers(host: str, _status: int = 200) -> dict[str, str]:
    return page_headers(content_security_policy(host))


def graphiql_page(host: str) -> HTMLResponse:
    return HTMLResponse(_page(), headers=_headers(host))


def add_graphiql_assets(app: FastAPI) -> None:
    """The page's own script and styles, under /playground/."""
    app.mount(
        ASSETS_PATH,
        WithHeaders(StaticFiles(directory=PAGE_DIRECTORY), _headers),
        name="graphiql-assets",
    )

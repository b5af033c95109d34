"""The REST docs, /docs (Swagger UI) and /redoc, rendered by FastAPI's own functions with the
vendored libraries (web/vendor/) in place of its CDN defaults: they render with no internet.

FastAPI's own routes are turned off (docs_url=None) so that these can name the local files
(FastAPI's "Self-hosting JavaScript and CSS for docs"); each page gets a CSP that allows only
this origin and the page's own inline script, by its hash.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse

from web.page_headers import content_security_policy, inline_script_hashes, page_headers
from web.vendored import asset_url

SWAGGER_UI_PATH = "/docs"
OAUTH2_REDIRECT_PATH = "/docs/oauth2-redirect"
REDOC_PATH = "/redoc"
FAVICON = asset_url("swagger-ui-dist", "favicon-32x32.png")


def _with_policy(page: HTMLResponse, host: str, **allowances: bool) -> HTMLResponse:
    html = bytes(page.body).decode()
    policy = content_security_policy(host, script_hashes=inline_script_hashes(html), **allowances)
    return HTMLResponse(html, headers=page_headers(policy))


def add_rest_docs(app: FastAPI, openapi_url: str) -> None:
    """/docs, its OAuth2 redirect page and /redoc, describing `openapi_url`."""

    @app.get(SWAGGER_UI_PATH, include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        page = get_swagger_ui_html(
            openapi_url=request.scope.get("root_path", "") + openapi_url,
            title=f"{app.title} - Swagger UI",
            swagger_js_url=asset_url("swagger-ui-dist", "swagger-ui-bundle.js"),
            swagger_css_url=asset_url("swagger-ui-dist", "swagger-ui.css"),
            swagger_favicon_url=FAVICON,
            oauth2_redirect_url=OAUTH2_REDIRECT_PATH,
            # Swagger UI would send the schema to validator.swagger.io for its badge.
            swagger_ui_parameters={"validatorUrl": None},
        )
        return _with_policy(page, request.headers.get("host", ""))

    @app.get(OAUTH2_REDIRECT_PATH, include_in_schema=False)
    async def swagger_ui_redirect(request: Request) -> HTMLResponse:
        return _with_policy(get_swagger_ui_oauth2_redirect_html(), request.headers.get("host", ""))

    @app.get(REDOC_PATH, include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        page = get_redoc_html(
            openapi_url=request.scope.get("root_path", "") + openapi_url,
            title=f"{app.title} - ReDoc",
            redoc_js_url=asset_url("redoc", "redoc.standalone.js"),
            redoc_favicon_url=FAVICON,
            with_google_fonts=False,
        )
        # ReDoc writes <style> elements as it renders (styled-components), and FastAPI's page
        # has one of its own.
        return _with_policy(
            page, request.headers.get("host", ""), inline_styles=True, blob_workers=True
        )

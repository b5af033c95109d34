"""Cross-site requests to the auth routes that change state are refused: login CSRF.

A page on another site can POST a form to /auth/login with the attacker's credentials, and the
victim's browser then keeps the attacker's session cookie (SameSite does not stop it: the
response sets the cookie, it does not send one). Browsers say where a request comes from:
`Sec-Fetch-Site` (same-origin, same-site, cross-site, none) and `Origin`. Requests with
neither header are not from a browser (curl, scripts) and carry no ambient credentials.

A page of CORS_ORIGINS on another *site* (http://localhost:5173 calling http://127.0.0.1:8000:
another host, so another site, whatever the ports) cannot sign in with the cookie at all: the
browser drops a SameSite=Lax cookie set by the answer to such a request, and would not send it
back on the page's requests either. /auth/login says so instead of answering 204.
"""

from __future__ import annotations

from fastapi import HTTPException, Request, status

from web.deps import SettingsDep

# `none`: the user typed the URL or used a bookmark, no page made the request.
TRUSTED_FETCH_SITES = frozenset({"same-origin", "none"})
REFUSAL = (
    "Cross-site requests to this route are refused: sign in from this site's own pages or "
    "from an origin listed in CORS_ORIGINS"
)
COOKIE_ACROSS_SITES = (
    "The browser would drop the session cookie: this page and the API are on different sites "
    "(another host, such as localhost and 127.0.0.1). Serve both from the same host, or sign in "
    "with POST /auth/token and send the token as a bearer"
)


async def refuse_cross_site(request: Request, settings: SettingsDep) -> None:
    """A FastAPI dependency of the auth routes that sign in, register and log out: 403 when a
    browser sends the request from a page that is neither this origin nor one of CORS_ORIGINS."""
    fetch_site = request.headers.get("sec-fetch-site")
    origin = request.headers.get("origin")
    if fetch_site is None and origin is None:
        return
    if fetch_site in TRUSTED_FETCH_SITES:
        return
    own = f"{request.url.scheme}://{request.url.netloc}".lower()
    if origin is not None and origin.lower() in {own, *(o.lower() for o in settings.cors_origins)}:
        return
    raise HTTPException(status.HTTP_403_FORBIDDEN, REFUSAL)


async def refuse_cookie_across_sites(request: Request) -> None:
    """A FastAPI dependency of POST /auth/login: 403 rather than a 204 that signs nobody in, when
    the browser says the page is on another site and the answer is not a page it navigates to
    (only a top-level navigation may set a SameSite=Lax cookie across sites)."""
    if (
        request.headers.get("sec-fetch-site") == "cross-site"
        and request.headers.get("sec-fetch-mode") != "navigate"
    ):
        origin = request.headers.get("origin", "this page")
        own = f"{request.url.scheme}://{request.url.netloc}"
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, f"{COOKIE_ACROSS_SITES} (page: {origin}, API: {own})"
        )

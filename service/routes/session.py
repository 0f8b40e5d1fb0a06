"""Signing in to the web pages with an API key, kept in an HTTP-only, SameSite=Strict cookie.

The cookie authenticates page reads (GET/HEAD) only; every write still needs the key in an
`Authorization` header, so a cross-site form can never act with a signed-in person's cookie.
"""

from __future__ import annotations

from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from alignment.access import keys
from alignment.settings import get_settings
from service.auth import SESSION_COOKIE
from service.deps import SessionDep

router = APIRouter(include_in_schema=False)
CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; "
    "frame-ancestors 'none'"
)
MAX_FORM_BYTES = 4096


def _page(error: str | None = None, status: int = 200) -> HTMLResponse:
    from service.routes.reports import _pages

    html = _pages().get_template("sign_in.html.j2").render(error=error)
    return HTMLResponse(html, status_code=status, headers={"Content-Security-Policy": CSP})


@router.get("/sign-in", response_class=HTMLResponse)
def sign_in_page() -> HTMLResponse:
    return _page()


@router.post("/sign-in", response_class=HTMLResponse)
async def sign_in(request: Request, session: SessionDep) -> Response:
    body = (await request.body())[:MAX_FORM_BYTES].decode("utf-8", "replace")
    raw = (parse_qs(body).get("key") or [""])[0].strip()
    principal = keys.authenticate(session, raw) if raw else None
    if principal is None:
        return _page("That key is not valid (unknown, mistyped or revoked).", status=401)
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        raw,
        httponly=True,
        samesite="strict",
        secure=get_settings().service.https,
        max_age=12 * 3600,
        path="/",
    )
    return response


@router.post("/sign-out")
def sign_out() -> Response:
    response = RedirectResponse("/sign-in", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response

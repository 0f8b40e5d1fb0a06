"""Signing in to the web pages with an API key; the session is an HTTP-only, SameSite=Strict cookie.

The cookie holds a signed session ticket, not the key (service/auth.py): it lasts 12 hours, and
signing out ends every page session of the key on the server. It authenticates page reads;
a page's form also needs the page's token in its action URL (`?csrf=`, an HMAC of the ticket),
so a form on another site can never act with a signed-in person's cookie.

A page asked for while signed out sends the browser here with `?next=<that page>`; signing in
goes on to it. Only a path on this site is followed, anything else goes to `/`: the sign-in
page is open to anyone, and a link to it must not send a person signing in somewhere else.
A page's form sent signed out (signed out in another tab) comes here with `?unsaved=1` and the
form's page as `next`: the page says the form was not saved (its own words: the link carries a
flag, never a message). Signing out comes here too, and the page says "You are signed out." (a
minute-long flag cookie for this page only, set with the session's deletion: the address stays
`/sign-in`, and no link can make the page say it to someone still signed in).
"""

from __future__ import annotations

import hmac
import re
import secrets
from typing import Annotated
from urllib.parse import parse_qs

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from alignment.settings import get_settings
from service.auth import (
    SESSION_COOKIE,
    SESSION_HOURS,
    end_page_sessions,
    form_token,
    session_ticket,
)
from service.deps import SessionDep
from service.login_limits import attempt_names
from service.templating import PAGE_CSP, page

router = APIRouter(include_in_schema=False)
MAX_FORM_BYTES = 4096


CSRF_COOKIE = "gt_csrf"
# Set by signing out, read once by the sign-in page that follows (GET /sign-in).
SIGNED_OUT_COOKIE = "gt_signed_out"
SIGNED_OUT = "You are signed out."
# A path on this site: one leading slash (two, or a slash and a backslash, name another host to
# a browser), then printable ASCII without a backslash (browsers read it as a slash) and no
# space or control character (browsers drop tabs and newlines: "/\t/host" becomes "//host").
LOCAL_PATH = re.compile(r"/(?![/\\])[\x21-\x5b\x5d-\x7e]*")
MAX_NEXT_CHARS = 2000


def local_path(target: str | None) -> str | None:
    """`target` when it is a path on this site, otherwise None."""
    if not target or len(target) > MAX_NEXT_CHARS or not LOCAL_PATH.fullmatch(target):
        return None
    return target


def _secure(request: Request) -> bool:
    """Cookies only over TLS when the page came over TLS (directly, or from a proxy uvicorn
    trusts), or when the operator says the service is served behind TLS."""
    return get_settings().service.https or request.url.scheme == "https"


UNSAVED = (
    "You were signed out (in another tab or window, or the sign-in ended), so the form you sent "
    "was not saved. Sign in to go back to its page, and send it again."
)


def _page(
    request: Request,
    error: str | None = None,
    status: int = 200,
    next_page: str | None = None,
    notice: str | None = None,
    signed_out: bool = False,
) -> HTMLResponse:
    """The form, with a fresh double-submit token: the same value in a SameSite=Strict cookie
    and in a hidden field, which a page on another site can neither read nor set; and the
    page to go on to, when it is one of this site's."""
    token = secrets.token_urlsafe(24)
    response = page(
        "sign_in.html.j2",
        csp=PAGE_CSP,
        status_code=status,
        error=error,
        csrf=token,
        next_page=local_path(next_page),
        notice=notice,
        signed_out=SIGNED_OUT if signed_out else None,
    )
    response.set_cookie(
        CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=_secure(request),
        path="/sign-in",
    )
    return response


async def _form_body(request: Request) -> bytes | None:
    """The sign-in form's body, or None past MAX_FORM_BYTES. Read no further than that: the
    page is open to anyone, and the service's body limit (64 MiB) is for bundles."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_FORM_BYTES:
        return None
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            return None
    return body


@router.get("/sign-in", response_class=HTMLResponse)
def sign_in_page(
    request: Request,
    next_page: Annotated[str | None, Query(alias="next")] = None,
    unsaved: str = "",
) -> HTMLResponse:
    # Any value says it: a page open to anyone refuses nothing over a flag.
    # Signed out just now (the flag cookie) and not signed in again since (no session cookie).
    signed_out = SIGNED_OUT_COOKIE in request.cookies and SESSION_COOKIE not in request.cookies
    response = _page(
        request, next_page=next_page, notice=UNSAVED if unsaved else None, signed_out=signed_out
    )
    if SIGNED_OUT_COOKIE in request.cookies:  # said once: a reload is the plain sign-in page
        response.delete_cookie(SIGNED_OUT_COOKIE, path="/sign-in")
    return response


@router.post("/sign-in", response_class=HTMLResponse)
async def sign_in(request: Request, session: SessionDep) -> Response:
    body = await _form_body(request)
    if body is None:
        return _page(request, "The form is too large; it holds a key and nothing else.", 413)
    form = parse_qs(body.decode("utf-8", "replace"))
    raw = (form.get("key") or [""])[0].strip()
    next_page = local_path((form.get("next") or [""])[0])
    sent, kept = (form.get("csrf") or [""])[0], request.cookies.get(CSRF_COOKIE, "")
    if not kept or not hmac.compare_digest(sent.encode(), kept.encode()):
        expired = "The form expired or came from another site; please sign in again."
        return _page(request, expired, 403, next_page)
    ticket = None
    if raw:
        # Limited like a refused API key (service/permissions.py): 429 before the lookup once
        # this address, or this address with this key's prefix, has failed too often.
        names = attempt_names(request, raw)
        limiter = request.app.state.failed_attempts
        limiter.check(names)
        ticket = session_ticket(session, raw)
        if ticket is None:
            limiter.failed(names)
    if ticket is None:
        invalid = "That key is not valid (unknown, mistyped or revoked)."
        return _page(request, invalid, 401, next_page)
    response = RedirectResponse(next_page or "/", status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        ticket,
        httponly=True,
        samesite="strict",
        secure=_secure(request),
        max_age=SESSION_HOURS * 3600,
        path="/",
    )
    return response


@router.post("/sign-out")
def sign_out(request: Request, session: SessionDep) -> Response:
    """Forget the cookie, and end every page session of its key on the server: a copy of the
    cookie elsewhere stops working too (the key itself stays valid for the API)."""
    ticket = request.cookies.get(SESSION_COOKIE, "")
    # Ending the key's sessions everywhere needs the page's token: another page (a sibling
    # subdomain's) may clear this browser's cookie, not sign the person out of every browser.
    tokened = bool(ticket) and hmac.compare_digest(
        request.query_params.get("csrf", "").encode(), form_token(ticket).encode()
    )
    if tokened:
        end_page_sessions(session, ticket)
    response = RedirectResponse("/sign-in", status_code=303)
    # Another site's form carries neither the cookie (SameSite=Strict) nor the token, yet a
    # cookie deleted in answer to it would be gone all the same: it signs nobody out.
    if tokened or _from_this_site(request):
        response.delete_cookie(SESSION_COOKIE, path="/")
        response.set_cookie(
            SIGNED_OUT_COOKIE,
            "1",
            max_age=60,
            httponly=True,
            samesite="strict",
            secure=_secure(request),
            path="/sign-in",
        )
    return response


def _from_this_site(request: Request) -> bool:
    """A request a page of this site sent, as the browser says (Sec-Fetch-Site, or Origin)."""
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None:
        return fetch_site in ("same-origin", "none")
    origin = request.headers.get("origin")
    return origin is not None and origin == f"{request.url.scheme}://{request.url.netloc}"

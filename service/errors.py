"""One JSON error shape for every failure: {"error": {"code", "message", "details"}}.

`details` is always a list (empty when there is nothing more to say). Each problem names where
it is: `$...` is a JSON path into the request body (`$` itself is the whole body),
`query.NAME` and `path.NAME` name a URL parameter.

A browser on a page gets the same status as a page instead (error.html.j2): the message, each
detail in a person's words (service/error_words.py), links back, and a way to sign out or in.
API clients (any other Accept, JSON bodies) keep the JSON.
"""

import hmac
import re
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel
from starlette.exceptions import HTTPException
from starlette.routing import Match

from alignment.bundle.validate import json_path
from alignment.errors import DomainError, field_message
from service.auth import SESSION_COOKIE, form_token
from service.error_nav import STATE_KEY as ORG_NAV
from service.error_nav import read_org_nav
from service.error_words import field_of, page_message
from service.permissions import rule_for
from service.templating import page


class Problem(BaseModel):
    path: str
    message: str


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: list[Problem | dict[str, Any]]


class ErrorBody(BaseModel):
    """What every error answers."""

    error: ErrorDetail


def documented(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for error statuses, so clients (and fuzzers) know every answer."""
    meaning = {
        400: "The body could not be read.",
        401: "No valid API key.",
        403: "The key's role may not do this.",
        404: "No such record in the key's organization.",
        409: "Conflicts with what exists (or a retry still running).",
        413: "The body is larger than the limit.",
        415: "The body's content type is not accepted.",
        422: "The request is not valid; details name each problem.",
        429: "Too many requests for this key; see Retry-After.",
        503: "A dependency (database, model provider) is unavailable.",
    }
    # The JSON content entry keeps errors documented as JSON on CSV and HTML routes too.
    return {
        s: {"model": ErrorBody, "description": meaning[s], "content": {"application/json": {}}}
        for s in statuses
    }


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": as_list(details)}}


def as_list(details: Any) -> list[Any]:
    """Clients iterate `details`; a lone object or message becomes a one-item list."""
    if details is None:
        return []
    if isinstance(details, list):
        return details
    if isinstance(details, str):
        return [{"path": "$", "message": details}]
    return [details]


def request_path(loc: tuple[Any, ...] | list[Any]) -> str:
    """FastAPI's error location in the notation above."""
    where, *rest = loc or ("body",)
    if where == "body":
        return json_path(rest)
    return ".".join(str(p) for p in (where, *rest))


def _problem(err: dict[str, Any]) -> dict[str, str]:
    if err.get("type") == "json_invalid":  # loc holds a character offset, not a JSON path
        reason = (err.get("ctx") or {}).get("error", "")
        offset = err["loc"][-1]
        return {"path": "$", "message": f"{err['msg']} at character {offset}: {reason}".strip()}
    return {"path": request_path(err["loc"]), "message": field_message(err)}


def _body_not_json(request: Request, exc: RequestValidationError) -> str | None:
    """Why a JSON route could not read the body, when it came as another media type or none:
    FastAPI then validates the raw bytes and says only "Input should be a valid dictionary"."""
    sent = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if sent == "application/json" or sent.endswith("+json"):
        return None
    if not sent and request.headers.get("content-length", "0") == "0":
        return None  # no body at all: the route's own message says what it needs
    if not any(tuple(err.get("loc", ())) == ("body",) for err in exc.errors()):
        return None
    # Without a type FastAPI reads no JSON at all, and "should be an object" would be wrong
    # about a body that is one.
    sent_as = f"as {sent!r}" if sent else "without a Content-Type"
    return f"the body was sent {sent_as}; send JSON with Content-Type: application/json"


def domain_error_response(request: Request, exc: DomainError) -> Response:
    headers = getattr(exc, "headers", None)
    if wants_page(request):
        if exc.status == 401 and not _form_of_a_session(request):
            signed_out = RedirectResponse(_sign_in_and_back(request), status_code=303)
            # A cookie sent with its own page's token, whose sign-in ended, is no use any more.
            # Only then: another site's form arrives without the cookie (SameSite=Strict), and
            # deleting it on that answer would let any site sign a person out.
            if request.method == "POST" and SESSION_COOKIE in request.cookies:
                signed_out.delete_cookie(SESSION_COOKIE, path="/")
            return signed_out
        if exc.status == 401:  # the API's words ("send a Bearer key") mean nothing here
            return error_page(request, 401, FORM_REFUSED, None, headers)
        if exc.status == 403:  # nor do "GET /orgs/{org_id}/report.html"
            return error_page(request, 403, _not_for_role(request), None, headers)
        return error_page(request, exc.status, exc.message, exc.details, headers)
    return JSONResponse(
        error_body(exc.code, exc.message, exc.details), status_code=exc.status, headers=headers
    )


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def domain_error(request: Request, exc: DomainError) -> Response:
        if wants_page(request):  # what the page reads from the database, off the event loop
            await read_org_nav(request, exc.status)
        return domain_error_response(request, exc)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        errors = exc.errors()
        details = [_problem(err) for err in errors]
        if wants_page(request):
            await read_org_nav(request, 422)
            said = [{**d, "message": page_message(e)} for d, e in zip(details, errors, strict=True)]
            return error_page(request, 422, "request is not valid", said)
        if unread := _body_not_json(request, exc):
            return JSONResponse(error_body("unsupported_media_type", unread), status_code=415)
        return JSONResponse(error_body("invalid", "request is not valid", details), status_code=422)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        code = getattr(exc, "code", None) or {404: "not_found", 405: "method_not_allowed"}.get(
            exc.status_code, "http_error"
        )
        details = getattr(exc, "details", None)  # service/json_body.BodyRefused names them
        headers = dict(getattr(exc, "headers", None) or {})
        if exc.status_code == 405:
            headers["Allow"] = ", ".join(allowed_methods(request))
        if wants_page(request):
            await read_org_nav(request, exc.status_code)
            return error_page(request, exc.status_code, str(exc.detail), details, headers)
        return JSONResponse(
            error_body(code, str(exc.detail), details),
            status_code=exc.status_code,
            headers=headers,
        )


FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")


def wants_page(request: Request) -> bool:
    """A browser on a page: asking for a page, or sending a page's form. Not an API client
    (JSON bodies, other Accept headers), and not a form sent to an API route: only the pages'
    own routes, the ones left out of the API schema, take forms from a page."""
    if request.method in ("GET", "HEAD"):
        return "text/html" in request.headers.get("accept", "")
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    route = request.scope.get("route")
    is_page_route = route is not None and not getattr(route, "include_in_schema", True)
    return request.method == "POST" and content_type in FORMS and is_page_route


def _not_for_role(request: Request) -> str:
    role = getattr(getattr(request.state, "principal", None), "role", None)
    if role == "platform_admin":  # belongs to no organization: no admin of its own to ask
        return (
            "This page is not open to a platform admin key: a platform admin creates "
            "organizations and their first admin key, and an organization's pages are for its "
            "own keys. Sign in with one of them."
        )
    named = str(role).replace("_", " ")
    who = f"{'an' if named[:1] in 'aeiou' else 'a'} {named} key" if role else "this key"
    return (
        f"This page is not open to {who}. Ask your organization's admin if you need it, or "
        "sign in with another key."
    )


def _sign_in_and_back(request: Request) -> str:
    """The sign-in page, asked to go on to the page the browser asked for (`?next=`; the
    sign-in page follows only a path on this site), and `/` is where signing in goes anyway.

    A form's POST address is no page to go back to: a form sent signed out (signing out in
    another tab ends this one's too) goes back to the page the form is on, and the sign-in
    page says nothing was saved (`unsaved=1`, a flag: the words are the page's own)."""
    if request.method not in ("GET", "HEAD"):
        back = _page_of_form(request)
        return f"/sign-in?{urlencode({'next': back, 'unsaved': 1} if back else {'unsaved': 1})}"
    path = request.scope.get("raw_path") or request.url.path.encode()
    query = request.scope.get("query_string", b"")
    here = path.decode("latin-1") + (f"?{query.decode('latin-1')}" if query else "")
    if here == "/":
        return "/sign-in"
    return f"/sign-in?{urlencode({'next': here})}"


# (a page form's route, up to the page it is on): the review queue's forms and the team page's.
FORM_PAGES = ("/orgs/{org_id}/review", "/orgs/{org_id}/team/{team_id}")


def _page_of_form(request: Request) -> str | None:
    """The page a form sent here is on, from the form's route: the site sends no Referer
    (Referrer-Policy: no-referrer), and the route names its page."""
    route = getattr(request.scope.get("route"), "path", "")
    for page_path in FORM_PAGES:
        if route.startswith(page_path + "/"):
            steps = re.findall(r"\{(\w+)\}", page_path)
            values = {s: quote(str(request.path_params.get(s, "")), safe="") for s in steps}
            if all(values.values()):
                return page_path.format(**values)
    return None


def _form_of_a_session(request: Request) -> bool:
    """A form sent with the sign-in cookie but refused for not carrying the cookie's page token
    (another site's form, a page from before a restart): opening the page again, not signing
    in, is the way on.

    A form that carries the right token for its cookie was refused for the cookie itself: its
    sign-in ended (signed out in another browser, expired, the key revoked). That is a form
    sent signed out, and goes on to sign in as one."""
    ticket = request.cookies.get(SESSION_COOKIE)
    if request.method != "POST" or not ticket:
        return False
    sent = request.query_params.get("csrf", "")
    return not hmac.compare_digest(sent.encode(), form_token(ticket).encode())


FORM_REFUSED = (
    "the form did not carry this page's sign-in token (it came from another site, or from a "
    "page opened before the service restarted); nothing was changed: open the page again and "
    "send the form from there"
)
TITLES = {
    400: "The request could not be read",
    401: "This form was not accepted",
    403: "Your role may not open this",
    404: "Not found",
    405: "This address does not take that request",
    409: "This changed since you opened it",
    413: "What you sent is too large",
    415: "What you sent is not in a form this page takes",
    422: "Something in the address or form is not valid",
    429: "Too many requests: wait a moment and try again",
    503: "Unavailable for a moment: try again shortly",
}
ORG_PAGES = (  # (route path, label): an organization's pages a way back may lead to
    ("/orgs/{org_id}/review", "Review queue"),
    ("/orgs/{org_id}/strategy-map", "Strategy map"),
    ("/orgs/{org_id}/report.html", "Report"),
)
ORG_IN_PATH = re.compile(r"^/orgs/([^/]+)/")


def error_page(
    request: Request,
    status: int,
    message: str,
    details: Any = None,
    headers: dict[str, str] | None = None,
) -> Response:
    principal = getattr(request.state, "principal", None)
    ticket = request.cookies.get(SESSION_COOKIE)
    return page(
        "error.html.j2",
        status_code=status,
        headers=headers,
        status=status,
        title=TITLES.get(status, "Something went wrong"),
        message=message,
        details=[_shown(d) for d in as_list(details)],
        ways=_ways_back(request, principal),
        signed_in=getattr(principal, "name", None),
        # Signed in through the pages: signing out (with this page's token, as the home page's
        # button) is the way to "sign in with another key"; otherwise, signing in.
        sign_out_token=form_token(ticket) if ticket else None,
        nav=getattr(request.state, ORG_NAV, None),
        request_id=request.scope.get("state", {}).get("request_id", ""),
    )


def _shown(detail: Any) -> dict[str, str]:
    """A detail as the field it names (path, and words where the pages have them) and message;
    anything else a route put there is shown as text."""
    if isinstance(detail, dict) and "message" in detail:
        path, words = field_of(str(detail.get("path", "")))
        return {"path": path, "words": words, "message": str(detail["message"])}
    return {"path": "", "words": "", "message": str(detail)}


def _ways_back(request: Request, principal: Any) -> list[dict[str, str]]:
    ways = []
    if request.method == "POST" and (form_page := _page_of_form(request)):
        ways.append({"href": form_page, "label": "The page this form is on"})
    if previous := _same_origin_referer(request):
        ways.append({"href": previous, "label": "Back to the page you came from"})
    ways.append({"href": "/", "label": "Home: your organizations"})
    # Only the signed-in principal's own organization: another's answers 404 like a missing
    # one, and a link must not lead to a page its role may not open.
    found = ORG_IN_PATH.match(request.url.path)
    org_id = found.group(1) if found else None
    if principal is not None and org_id is not None and org_id == principal.org_id:
        for path, label in ORG_PAGES:
            rule = rule_for("GET", path)
            if rule is not None and principal.role in rule.roles:
                href = path.replace("{org_id}", quote(org_id, safe=""))
                ways.append({"href": href, "label": f"{label} of {org_id}"})
    return ways


def _same_origin_referer(request: Request) -> str | None:
    """The previous page when it is on this site (as a path, so the link cannot leave it);
    another site's address is not a way back."""
    referer = urlsplit(request.headers.get("referer", ""))
    here = request.url
    if (referer.scheme, referer.netloc) != (here.scheme, here.netloc):
        return None
    # One leading slash: "//host/..." (or "/\\host") would be read as another site.
    previous = "/" + referer.path.lstrip("/\\") + (f"?{referer.query}" if referer.query else "")
    return None if previous == here.path + (f"?{here.query}" if here.query else "") else previous


METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at this path. Starlette's own Allow names only the
    first matching route's, and FastAPI makes one route per method, so ask the routes."""
    routes = request.app.router.routes
    served = {
        method
        for method in METHODS
        if any(r.matches({**request.scope, "method": method})[0] == Match.FULL for r in routes)
    }
    if "GET" in served:
        served.add("HEAD")  # head_requests.HeadAsGet answers it
    return [method for method in METHODS if method in served]

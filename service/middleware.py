"""The ASGI layer every request passes first: request ids, security headers, body size,
control characters in the URL, and the URL's ids in the Unicode form they are stored in. Pure
ASGI (no BaseHTTPMiddleware), so bodies stream through.
"""

from __future__ import annotations

import json
import re
import secrets
from typing import Any
from urllib.parse import parse_qsl, unquote

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from alignment.bundle.text_rules import CONTROL, normal_id
from service.error_nav import read_org_nav, read_signed_in
from service.errors import ORG_IN_PATH, error_page, wants_page

REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
]
# Pages set their own, stricter policy; this one covers API answers and error bodies.
DEFAULT_CSP = b"default-src 'none'; frame-ancestors 'none'"
# Swagger UI and ReDoc run their own scripts and styles from /static.
DOCS_CSP = (
    b"default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    b"img-src 'self' data:; worker-src 'self' blob:; frame-ancestors 'none'"
)


def json_error(status: int, code: str, message: str, details: list[Any]) -> tuple[int, bytes]:
    """An error body written before any route runs, spelled byte for byte as the routes'
    `JSONResponse` spells theirs (compact, UTF-8): one API, one JSON spacing."""
    body = {"error": {"code": code, "message": message, "details": details}}
    text = json.dumps(body, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return status, text.encode()


class EdgeMiddleware:
    def __init__(self, app: ASGIApp, *, max_body_bytes: int, hsts: bool = False) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.hsts = hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        send = self._decorated(scope, send, request_id)

        if problem := _url_problem(scope):
            if page := await _error_page(scope, problem):
                await page(scope, receive, send)
                return
            await respond(send, *json_error(422, "invalid", "the URL is not valid", [problem]))
            return
        # In place: the router records the matched route in this same scope, which the access
        # log around this layer reads.
        scope["path"] = normal_path(scope.get("path", ""))
        declared = _content_length(scope)
        if declared is not None and declared > self.max_body_bytes:
            await respond(send, *self._too_large())
            return
        received = 0
        started = over = False

        async def limited_receive() -> Message:
            nonlocal received, over
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    over = True
                    raise _BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if over:
                # FastAPI's JSON routes catch any error while reading the body and answer 400
                # "error parsing the body": the 413 is what the client must hear instead.
                if message["type"] == "http.response.start" and not started:
                    started = True
                    await respond(send, *self._too_large())
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _BodyTooLarge:
            if not started:
                await respond(send, *self._too_large())

    def _too_large(self) -> tuple[int, bytes]:
        limit = self.max_body_bytes
        return json_error(
            413,
            "payload_too_large",
            f"the request body is larger than {limit} bytes (GOLDENTHREAD_MAX_BODY_BYTES)",
            [{"path": "$", "message": f"at most {limit} bytes"}],
        )

    def _decorated(self, scope: Scope, send: Send, request_id: str) -> Send:
        path = scope.get("path", "")
        csp = DOCS_CSP if path in ("/docs", "/docs/oauth2-redirect", "/redoc") else DEFAULT_CSP

        async def decorated(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {name.lower() for name, _ in headers}
                extra = [*SECURITY_HEADERS, (b"x-request-id", request_id.encode())]
                if b"content-security-policy" not in names:
                    extra.append((b"content-security-policy", csp))
                if self.hsts:
                    extra.append((b"strict-transport-security", b"max-age=31536000"))
                headers += [(n, v) for n, v in extra if n not in names]
                message = {**message, "headers": headers}
            await send(message)

        return decorated


class _BodyTooLarge(Exception):
    pass


def _request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == b"x-request-id":
            candidate = value.decode("latin-1")
            if REQUEST_ID.match(candidate):
                return candidate
    return secrets.token_hex(8)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _url_problem(scope: Scope) -> dict[str, str] | None:
    """Control characters (NUL above all) in the path or a query parameter, named."""
    path = scope.get("path", "")
    if match := CONTROL.search(path):
        return {"path": "path", "message": _control_message(match.group())}
    raw_query = scope.get("query_string", b"").decode("latin-1")
    for name, value in parse_qsl(raw_query, keep_blank_values=True):
        if match := CONTROL.search(value) or CONTROL.search(name):
            return {"path": f"query.{_printable(name)}", "message": _control_message(match.group())}
    if CONTROL.search(unquote(raw_query)):
        return {"path": "query", "message": "the query string holds a control character"}
    return None


async def _error_page(scope: Scope, problem: dict[str, str]) -> Response | None:
    """A browser asking for a page gets the pages' error page, as for any other bad parameter
    (`?severity=bogus`), not the API's JSON; None for everyone else.

    Refused here, the URL reached no route and no sign-in check: the page checks the sign-in
    itself, so a signed-in person keeps their header and their organization's nav, and
    everyone else gets the page anyone gets (error_nav.read_signed_in)."""
    request = Request(scope)
    if not wants_page(request):
        return None
    await read_signed_in(request)
    found = ORG_IN_PATH.match(normal_path(scope.get("path", "")))
    await read_org_nav(request, 422, found.group(1) if found else None)
    return error_page(request, 422, "the URL is not valid", [problem])


def normal_path(path: str) -> str:
    """The path with each segment in the form ids are stored in (text_rules.normal_id), so a
    record is found by its id however its characters were typed: every route reads its ids
    from here. A segment whose normal form would be another path ("／" is "/", "．．" is "..")
    or none stays as sent: no id has that form, and it must not reach another route."""
    return "/".join(_normal_segment(segment) for segment in path.split("/"))


def _normal_segment(segment: str) -> str:
    normal = normal_id(segment)
    if segment and (not normal or normal in (".", "..") or "/" in normal):
        return segment
    return normal


def _control_message(char: str) -> str:
    return f"contains the control character U+{ord(char):04X}; remove it"


def _printable(name: str) -> str:
    return CONTROL.sub("?", name)[:100]


async def respond(
    send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    headers = list(headers or [])
    if not any(name.lower() == b"content-type" for name, _ in headers):
        headers.append((b"content-type", b"application/json"))
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})

"""Authentication: who is calling. API keys today; an OIDC verifier can join `AUTHENTICATORS`.

Each authenticator looks at the request and returns a principal, returns None when the request
carries no credentials of its kind, or raises `Unauthorized` when it carries bad ones. The first
principal wins; a request no authenticator recognizes gets 401.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import event
from sqlalchemy.orm import Session

from alignment.access import keys
from alignment.access.principal import Principal
from alignment.errors import Unauthorized
from alignment.settings import get_settings

Authenticator = Callable[[Request, Session], Principal | None]


class _CheckedKeys:
    """Keys this process checked in the last few seconds, by the SHA-256 of the raw key.

    Checking a key is three statements (the prefix setting row-level security reads, the row,
    the once-a-minute use stamp); a dashboard polling with one key repeats them on every read,
    and they were most of a cached read's cost. Only valid keys are kept, never longer than
    `auth_cache_seconds`; revoking a key through this process forgets every entry at once.
    """

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self.entries: OrderedDict[bytes, tuple[float, Principal]] = OrderedDict()
        self.lock = threading.Lock()

    def cached(self, raw_key: str) -> Principal | None:
        """The principal when this process checked `raw_key` moments ago; no database work."""
        if get_settings().service.auth_cache_seconds <= 0:
            return None
        digest = hashlib.sha256(raw_key.encode()).digest()
        with self.lock:
            hit = self.entries.get(digest)
        return hit[1] if hit is not None and hit[0] > time.monotonic() else None

    def principal(self, session: Session, raw_key: str) -> Principal | None:
        ttl = get_settings().service.auth_cache_seconds
        if ttl <= 0:
            return keys.authenticate(session, raw_key)
        if (hit := self.cached(raw_key)) is not None:
            return hit
        principal = keys.authenticate(session, raw_key)
        if principal is not None:
            digest = hashlib.sha256(raw_key.encode()).digest()
            with self.lock:
                self.entries[digest] = (time.monotonic() + ttl, principal)
                self.entries.move_to_end(digest)
                while len(self.entries) > self.size:
                    self.entries.popitem(last=False)
        return principal

    def forget_all(self) -> None:
        with self.lock:
            self.entries.clear()


checked_keys = _CheckedKeys()


def forget_checked_keys(session: Session) -> None:
    """After a key is revoked: forget now, and again once the revocation commits (a request
    checking the key in between still saw it valid)."""
    checked_keys.forget_all()
    event.listen(session, "after_commit", lambda _s: checked_keys.forget_all(), once=True)


def _bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("the Authorization header must be 'Bearer <API key>'")
    return token.strip()


def bearer_api_key(request: Request, session: Session) -> Principal | None:
    token = _bearer_token(request)
    if token is None:
        return None
    principal = checked_keys.principal(session, token)
    if principal is None:
        raise Unauthorized("the API key is not valid (unknown, malformed or revoked)")
    return principal


SESSION_COOKIE = "gt_session"


_PROCESS_SECRET = secrets.token_bytes(32)


def form_token(raw_key: str) -> str:
    """The CSRF token of a signed-in browser: an HMAC of its key, which a page on another
    site can neither read nor compute. Page forms carry it in their action URL."""
    configured = get_settings().service.secret_key
    secret = configured.get_secret_value().encode() if configured else _PROCESS_SECRET
    return hmac.new(secret, raw_key.encode(), hashlib.sha256).hexdigest()[:32]


def _signed_in_key(request: Request) -> str | None:
    raw = request.cookies.get(SESSION_COOKIE)
    if not raw:
        return None
    if request.method not in ("GET", "HEAD"):
        sent = request.query_params.get("csrf", "")
        if not hmac.compare_digest(sent.encode(), form_token(raw).encode()):
            return None
    return raw


def session_cookie(request: Request, session: Session) -> Principal | None:
    """The web pages' sign-in (service/routes/session.py). Reads need the cookie only; a write
    also needs the page form's token (`?csrf=`), so a cross-site form cannot act with it."""
    raw = _signed_in_key(request)
    if raw is None:
        return None
    principal = checked_keys.principal(session, raw)
    if principal is None:
        raise Unauthorized("your sign-in is no longer valid; sign in again")
    return principal


AUTHENTICATORS: list[Authenticator] = [bearer_api_key, session_cookie]


def authenticate(request: Request, session: Session) -> Principal:
    for authenticator in AUTHENTICATORS:
        principal = authenticator(request, session)
        if principal is not None:
            return principal
    raise Unauthorized("an API key is required: send 'Authorization: Bearer gt_...'")


def recently_checked(request: Request) -> Principal | None:
    """What `authenticate` would answer, when this process checked the request's key moments
    ago: no database work, so the check needs no thread. None means "ask `authenticate`"
    (which also explains a refusal)."""
    try:
        raw = _bearer_token(request)
    except Unauthorized:
        return None
    if raw is None and (raw := _signed_in_key(request)) is None:
        return None
    return checked_keys.cached(raw)


async def current_principal(request: Request) -> Principal:
    """The principal `permissions.authorize` established for this request."""
    principal = getattr(request.state, "principal", None)
    if principal is None:  # a route outside the protected router asked for one
        raise Unauthorized("an API key is required: send 'Authorization: Bearer gt_...'")
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]

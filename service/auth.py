"""Authentication: who is calling. API keys and the pages' session tickets today; an OIDC
verifier can join `AUTHENTICATORS`.

Each authenticator looks at the request and returns a principal, returns None when the request
carries no credentials of its kind, or raises `Unauthorized` when it carries bad ones. The first
principal wins; a request no authenticator recognizes gets 401.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import event
from sqlalchemy.orm import Session

from alignment.access import keys
from alignment.access.principal import Principal
from alignment.errors import Unauthorized
from alignment.settings import get_settings

Authenticator = Callable[[Request, Session], Principal | None]
Authenticate = Callable[[Session, str], Principal | None]


class _CheckedKeys:
    """API keys and page session tickets this process checked in the last few seconds, by
    the SHA-256 of the raw text.

    Checking a key is three statements (the prefix setting row-level security reads, the row,
    the once-a-minute use stamp); a dashboard polling with one key repeats them on every read,
    and they were most of a cached read's cost. Only valid keys are kept, never longer than
    `auth_cache_seconds`; revoking a key or signing out through this process forgets every entry
    at once.
    """

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        # Keyed by the check too: a ticket must not pass as an API key, nor a key as a ticket.
        self.entries: OrderedDict[tuple[Authenticate, bytes], tuple[float, Principal]] = (
            OrderedDict()
        )
        self.lock = threading.Lock()

    def cached(self, raw_key: str, check: Authenticate = keys.authenticate) -> Principal | None:
        """The principal when this process checked `raw_key` with `check` moments ago; no
        database work."""
        if get_settings().service.auth_cache_seconds <= 0:
            return None
        entry = (check, hashlib.sha256(raw_key.encode()).digest())
        with self.lock:
            hit = self.entries.get(entry)
        return hit[1] if hit is not None and hit[0] > time.monotonic() else None

    def principal(
        self, session: Session, raw_key: str, check: Authenticate = keys.authenticate
    ) -> Principal | None:
        """`check`'s answer for `raw_key` (an API key, or a page session ticket), cached."""
        ttl = get_settings().service.auth_cache_seconds
        if ttl <= 0:
            return check(session, raw_key)
        if (hit := self.cached(raw_key, check)) is not None:
            return hit
        principal = check(session, raw_key)
        if principal is not None:
            entry = (check, hashlib.sha256(raw_key.encode()).digest())
            with self.lock:
                self.entries[entry] = (time.monotonic() + ttl, principal)
                self.entries.move_to_end(entry)
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
SESSION_HOURS = 12


# Without GOLDENTHREAD_SECRET_KEY each process signs with its own secret: a restart ends every
# page session, and `serve --workers` sets one for its processes (service/processes.py).
_PROCESS_SECRET = secrets.token_bytes(32)


def _secret() -> bytes:
    configured = get_settings().service.secret_key
    return configured.get_secret_value().encode() if configured else _PROCESS_SECRET


def form_token(ticket: str) -> str:
    """The CSRF token of a signed-in browser: an HMAC of its session ticket, which a page on
    another site can neither read nor compute, new with every sign-in. Page forms carry it in
    their action URL."""
    return hmac.new(_secret(), b"form:" + ticket.encode(), hashlib.sha256).hexdigest()[:32]


def _ticket_mac(prefix: str, issued_ms: int, secret_hash: str) -> str:
    message = f"ticket:{prefix}.{issued_ms}.{secret_hash}".encode()
    return hmac.new(_secret(), message, hashlib.sha256).hexdigest()[:40]


def session_ticket(session: Session, raw_key: str) -> str | None:
    """What the pages' cookie holds after signing in with `raw_key`, or None for a key that
    is not valid: `<prefix>.<issued, ms>.<HMAC>`, signed over the key's stored hash.

    Not the key: a copied cookie signs in to the pages for at most SESSION_HOURS, ends when
    the person signs out (`keys.sign_out`) or the key is revoked, and is no API key."""
    if keys.authenticate(session, raw_key) is None:
        return None
    prefix = keys.KEY_PATTERN.match(raw_key).group(1)
    row = keys.active_key(session, prefix)
    if row is None:
        return None
    issued_ms = int(time.time() * 1000)
    return f"{prefix}.{issued_ms}.{_ticket_mac(prefix, issued_ms, row.secret_hash)}"


TICKET = re.compile(r"^([a-z0-9]{8})\.([0-9]{1,15})\.([0-9a-f]{40})$")


def _ticket_principal(session: Session, ticket: str) -> Principal | None:
    # The shape first: int() of 5,000 digits and compare_digest of non-ASCII text both raise.
    match = TICKET.match(ticket)
    if match is None:
        return None
    prefix, issued, mac = match.groups()
    issued_ms = int(issued)
    if not 0 <= time.time() * 1000 - issued_ms <= SESSION_HOURS * 3600 * 1000:
        return None

    def proves(row) -> bool:
        signed_out = row.signed_out_at
        if signed_out is not None and signed_out.timestamp() * 1000 >= issued_ms:
            return False
        return hmac.compare_digest(mac, _ticket_mac(prefix, issued_ms, row.secret_hash))

    return keys.authenticate_by(session, prefix, proves)


def end_page_sessions(session: Session, ticket: str) -> None:
    """Signing out: a valid ticket ends every page session of its key issued until now (a
    forged one, naming someone's public prefix, ends nothing)."""
    if ticket and _ticket_principal(session, ticket) is not None:
        keys.sign_out(session, ticket.partition(".")[0], datetime.now(UTC))
        forget_checked_keys(session)


def signed_in_ticket(request: Request) -> str | None:
    ticket = request.cookies.get(SESSION_COOKIE)
    if not ticket:
        return None
    if request.method not in ("GET", "HEAD"):
        sent = request.query_params.get("csrf", "")
        if not hmac.compare_digest(sent.encode(), form_token(ticket).encode()):
            return None
    return ticket


def session_cookie(request: Request, session: Session) -> Principal | None:
    """The web pages' sign-in (service/routes/session.py). Reads need the cookie only; a write
    also needs the page form's token (`?csrf=`), so a cross-site form cannot act with it."""
    ticket = signed_in_ticket(request)
    if ticket is None:
        return None
    principal = checked_keys.principal(session, ticket, check=_ticket_principal)
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
    if raw is not None:
        return checked_keys.cached(raw, keys.authenticate)
    ticket = signed_in_ticket(request)
    return None if ticket is None else checked_keys.cached(ticket, _ticket_principal)


async def current_principal(request: Request) -> Principal:
    """The principal `permissions.authorize` established for this request."""
    principal = getattr(request.state, "principal", None)
    if principal is None:  # a route outside the protected router asked for one
        raise Unauthorized("an API key is required: send 'Authorization: Bearer gt_...'")
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]

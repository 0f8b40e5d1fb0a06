"""Failed sign-ins, counted and limited: a client address, or that address with a key's prefix,
that has failed too often is refused (429) before its credential is looked up
(service/ratelimit.py says how often and why). `permissions.authorize`, the idempotency
middleware, the sign-in form and the error pages' sign-in check all spend from the same buckets.
"""

from __future__ import annotations

from fastapi import Request
from sqlalchemy.orm import Session

from alignment.access.keys import KEY_PATTERN
from alignment.access.principal import Principal
from alignment.errors import Unauthorized
from service.auth import SESSION_COOKIE, TICKET, authenticate, signed_in_ticket
from service.ratelimit import NO_KEY, TooManyRequests


def client_address(request: Request) -> str:
    """The client's address as the server saw it: the peer's, or the one a proxy uvicorn trusts
    passed on in X-Forwarded-For (uvicorn trusts only loopback unless FORWARDED_ALLOW_IPS says
    otherwise; docs/security.md)."""
    return request.client.host if request.client else "unknown"


def attempt_names(request: Request, credential: str) -> list[str]:
    """The failed-attempt buckets a credential spends from: the client's address, and that
    address with the key's prefix (an API key's, or a page session ticket's; `NO_KEY` for a
    credential that names none, whose 429 says so rather than "for this key")."""
    address = client_address(request)
    match = KEY_PATTERN.match(credential) or TICKET.match(credential)
    return [f"address:{address}", f"pair:{address}|{match.group(1) if match else NO_KEY}"]


def _refusal_words(request: Request) -> dict[str, str]:
    """How a 429 names what failed: an API request's credential is its Authorization header
    ("failed authentication attempts", at `headers.authorization`: a GET has no body for "$"
    to point at); a page's is its sign-in cookie."""
    if request.headers.get("authorization") is not None:
        return {"attempts": "authentication", "path": "headers.authorization"}
    return {"attempts": "sign-in", "path": f"cookies.{SESSION_COOKIE}"}


def _credential(request: Request) -> str | None:
    """What `authenticate` would check: the Authorization header's token (whatever its form), or
    the page session ticket; None when the request carries neither (a 401 that costs nothing)."""
    header = request.headers.get("authorization")
    if header is not None:
        return header.partition(" ")[2].strip()
    return signed_in_ticket(request)


def count_failure(request: Request) -> None:
    """A failed lookup made before the app's (the idempotency middleware's), counted once."""
    credential = _credential(request)
    if credential is not None:
        request.app.state.failed_attempts.failed(attempt_names(request, credential))
        request.state.failure_counted = True


def failing_too_often(request: Request) -> bool:
    """Whether `authenticate_limited` would refuse this request before its lookup."""
    credential = _credential(request)
    if credential is None:
        return False
    try:
        request.app.state.failed_attempts.check(
            attempt_names(request, credential), **_refusal_words(request)
        )
    except TooManyRequests:
        return True
    return False


def authenticate_limited(request: Request, session: Session) -> Principal:
    """`authenticate`, refused with 429 before any lookup while the client's address, or that
    address with the key's prefix, has failed too often (service/ratelimit.py: how often, why)."""
    credential = _credential(request)
    if credential is None:
        return authenticate(request, session)
    names = attempt_names(request, credential)
    limiter = request.app.state.failed_attempts
    if getattr(request.state, "failure_counted", False):
        # The idempotency middleware's lookup failed and was counted: this one is the same
        # refusal (a 401, even when it spent the last try), not a second failure.
        return authenticate(request, session)
    limiter.check(names, **_refusal_words(request))
    try:
        return authenticate(request, session)
    except Unauthorized:
        limiter.failed(names)
        raise

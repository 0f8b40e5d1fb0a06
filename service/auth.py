"""Authentication: who is calling. API keys today; an OIDC verifier can join `AUTHENTICATORS`.

Each authenticator looks at the request and returns a principal, returns None when the request
carries no credentials of its kind, or raises `Unauthorized` when it carries bad ones. The first
principal wins; a request no authenticator recognizes gets 401.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from alignment.access import keys
from alignment.access.principal import Principal
from alignment.errors import Unauthorized

Authenticator = Callable[[Request, Session], Principal | None]


def bearer_api_key(request: Request, session: Session) -> Principal | None:
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("the Authorization header must be 'Bearer <API key>'")
    principal = keys.authenticate(session, token.strip())
    if principal is None:
        raise Unauthorized("the API key is not valid (unknown, malformed or revoked)")
    return principal


SESSION_COOKIE = "gt_session"


def session_cookie(request: Request, session: Session) -> Principal | None:
    """The web pages' sign-in (service/routes/session.py), for reads only: a write must carry
    its key in a header, which no cross-site form or link can add."""
    raw = request.cookies.get(SESSION_COOKIE)
    if not raw or request.method not in ("GET", "HEAD"):
        return None
    principal = keys.authenticate(session, raw)
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


def current_principal(request: Request) -> Principal:
    """The principal `permissions.authorize` established for this request."""
    principal = getattr(request.state, "principal", None)
    if principal is None:  # a route outside the protected router asked for one
        raise Unauthorized("an API key is required: send 'Authorization: Bearer gt_...'")
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]

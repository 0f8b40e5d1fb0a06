"""`Idempotency-Key` on POSTs: the same key and body replays the first answer; the same key
with another body is refused (422); concurrent duplicates run once, the others wait for it.
A JSON body is the same when it is the same JSON (keys in any order, any spacing; numbers as
written), any other body when its bytes are (alignment/idempotency.py `request_hashes`). No body
is `{}` where the route reads it so (service/json_body.py `reads_no_body_as_object`).

Only a request whose credentials are valid claims or replays a key: the middleware checks them
first, with the same lookup the app uses (`service.auth.authenticate`, which a moment later
answers the route's own check from the process's cache). A request without valid credentials
runs as if it carried no key, and the app refuses it (401); it stores nothing, and a key revoked
since the first answer gets no replay. Checking here rather than claiming after `authorize`
keeps replays out of the route's transaction (no audit entry for a write that did not run, no
pooled connection held while a duplicate waits).

Keys are scoped by the API key the caller signed in with (a hash of its id), so two callers
never share one, and a retry that spells the header differently is still a retry. Answers
of 5xx, 401 and 429 are not kept: a retry should run again. An answer that carries a secret
(a new API key, a webhook's signing secret) is not kept either: its retries get 409
`idempotency_secret_not_kept`, since the secret was shown once, to the first request. Rows
expire after `TTL`: each claim first removes this key's expired row and a batch of others.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from datetime import timedelta
from functools import partial

from anyio import to_thread
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from alignment import idempotency
from alignment.access.principal import Principal
from alignment.db import get_app_sessionmaker
from alignment.errors import Unauthorized
from service.auth import authenticate, recently_checked
from service.json_body import reads_no_body_as_object
from service.login_limits import count_failure, failing_too_often
from service.middleware import json_error, respond

KEY = re.compile(r"^[\x21-\x7e]{1,200}$")
WAIT_S, POLL_S = 30.0, 0.1
REPLAYED_HEADERS = ("content-type", "location", "scoring-job")
TTL = timedelta(hours=24)
PURGE_BATCH = 500
NOT_KEPT = frozenset({401, 429})  # and every 5xx: answers that say "try again"
# Routes whose successful answer carries a secret shown once (METHOD, route template).
SECRET_ANSWERS = frozenset({("POST", "/orgs/{org_id}/keys"), ("POST", "/orgs/{org_id}/webhooks")})


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp, sessions=None) -> None:
        self.app = app
        self._sessions = sessions

    @property
    def sessions(self):
        return self._sessions or get_app_sessionmaker()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = dict(scope.get("headers", [])) if scope["type"] == "http" else {}
        key_header = headers.get(b"idempotency-key")
        if scope["type"] != "http" or scope["method"] != "POST" or key_header is None:
            await self.app(scope, receive, send)
            return
        key = key_header.decode("latin-1")
        if not KEY.match(key):
            await respond(send, *_invalid_key())
            return
        principal = await self._principal(Request(scope))
        if principal is None:
            await self.app(scope, receive, send)  # the app answers 401; nothing is stored
            return
        body = await _read_body(receive)
        caller = _scope_of(principal)
        fingerprinted, as_json = body, _declares_json(scope)
        if not body and reads_no_body_as_object(scope):
            # The route reads no body as `{}`: a retry that sends `{}` after none, or none
            # after `{}`, is the same request, not another one refused as a reused key.
            fingerprinted, as_json = b"{}", True
        # In a thread: a JSON body is parsed, and a bundle's may be megabytes.
        request_hash, byte_hash = await to_thread.run_sync(
            partial(
                idempotency.request_hashes,
                scope["path"],
                scope.get("query_string", b""),
                fingerprinted,
                json_body=as_json,
            )
        )

        await to_thread.run_sync(_purge_expired, self.sessions, caller, key)
        if not await to_thread.run_sync(
            idempotency.claim, self.sessions, caller, key, request_hash
        ):
            await self._replay(send, caller, key, {request_hash, byte_hash})
            return
        status, response_headers, chunks = 500, [], []

        async def replay_receive() -> Message:
            return {"type": "http.request", "body": body, "more_body": False}

        async def capturing_send(message: Message) -> None:
            nonlocal status, response_headers
            if message["type"] == "http.response.start":
                status, response_headers = message["status"], message.get("headers", [])
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, replay_receive, capturing_send)
        finally:
            if status >= 500 or status in NOT_KEPT:
                await to_thread.run_sync(idempotency.forget, self.sessions, caller, key)
            else:
                kept = {
                    n.decode("latin-1").lower(): v.decode("latin-1")
                    for n, v in response_headers
                    if n.decode("latin-1").lower() in REPLAYED_HEADERS
                }
                answer = (status, b"".join(chunks))
                if status < 300 and _route_of(scope) in SECRET_ANSWERS:
                    answer = _secret_not_kept(key, kept.get("location"))
                    kept["content-type"] = "application/json"
                await to_thread.run_sync(
                    idempotency.store, self.sessions, caller, key, *answer, kept
                )

    async def _principal(self, request: Request) -> Principal | None:
        """The caller when its credentials are valid, else None (the app explains the 401)."""
        known = recently_checked(request)
        if known is not None:
            return known
        if failing_too_often(request):
            return None  # the app answers 429, before any lookup
        return await to_thread.run_sync(self._check, request)

    def _check(self, request: Request) -> Principal | None:
        with self.sessions() as session, session.begin():
            try:
                return authenticate(request, session)
            except Unauthorized:
                # Counted here: a route without the app's check (a 404) would count nothing.
                count_failure(request)
                return None

    async def _replay(self, send: Send, caller: str, key: str, hashes: set[str]) -> None:
        waited = 0.0
        while True:
            stored = await to_thread.run_sync(idempotency.lookup, self.sessions, caller, key)
            if stored is None:  # the first attempt failed on our side and let go of the key
                await respond(send, *_retry_later(key))
                return
            if stored.request_hash not in hashes:
                await respond(send, *_reused_key(key))
                return
            if stored.status_code is not None:
                headers = [(n.encode(), v.encode()) for n, v in (stored.headers or {}).items()]
                headers.append((b"idempotent-replayed", b"true"))
                await respond(send, stored.status_code, stored.body or b"", headers=headers)
                return
            if waited >= WAIT_S:
                await respond(send, *_retry_later(key))
                return
            await asyncio.sleep(POLL_S)
            waited += POLL_S


def _declares_json(scope: Scope) -> bool:
    """A body sent as JSON, as the routes read one (service/routes/bundles.py `declared_json`):
    compared as canonical JSON. CSV, YAML, a form, an undeclared body: byte for byte, since
    what they mean depends on the route, which is not known yet. The first `Content-Type`
    header, as Starlette and the routes read it, when a request sends two."""
    media = Headers(scope=scope).get("content-type", "").split(";")[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


def _scope_of(principal: Principal) -> str:
    """The key's scope: the API key the caller signed in with, however it was sent (a header
    spelled "bearer", a page session on the same key, an unrelated cookie alongside)."""
    return hashlib.sha256(f"api-key:{principal.key_id}".encode()).hexdigest()


def _route_of(scope: Scope) -> tuple[str, str | None]:
    """(method, route template) of a request the router has matched."""
    return scope["method"], getattr(scope.get("route"), "path", None)


def _purge_expired(sessions: sessionmaker[Session], scope: str, key: str) -> None:
    """Remove this key's row when it expired (a claim after `TTL` runs anew) and a batch of
    other expired rows, skipping any another claim is removing right now."""
    expired = "created_at < now() - make_interval(secs => :ttl)"
    params = {"scope": scope, "key": key, "ttl": TTL.total_seconds(), "batch": PURGE_BATCH}
    with sessions() as s, s.begin():
        s.execute(
            text(f"delete from idempotency_keys where scope = :scope and key = :key and {expired}"),
            params,
        )
        s.execute(
            text(
                "delete from idempotency_keys where ctid = any(array("
                f"select ctid from idempotency_keys where {expired} "
                "limit :batch for update skip locked))"
            ),
            params,
        )


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    return b"".join(chunks)


def _invalid_key() -> tuple[int, bytes]:
    return json_error(
        422,
        "invalid",
        "Idempotency-Key must be 1-200 visible ASCII characters",
        [{"path": "header.Idempotency-Key", "message": "not a valid key"}],
    )


def _reused_key(key: str) -> tuple[int, bytes]:
    return json_error(
        422,
        "idempotency_key_reused",
        "this Idempotency-Key was used with a different request; use a new key",
        [
            {
                "path": "header.Idempotency-Key",
                "message": f"{json.dumps(key)} was first sent with another address, query or body",
            }
        ],
    )


def _secret_not_kept(key: str, location: str | None) -> tuple[int, bytes]:
    """What a retry gets instead of a secret the first answer showed once."""
    details = [
        {
            "path": "header.Idempotency-Key",
            "message": f"{json.dumps(key)} already ran; its secret was shown once and is not kept",
        }
    ]
    if location:
        details.append({"path": "header.Location", "message": f"created {location}"})
    return json_error(
        409,
        "idempotency_secret_not_kept",
        "the request with this Idempotency-Key already ran and its answer carried a secret, "
        "which was shown once and is not kept: use the secret from that first answer, or "
        "revoke what it created and send the request again with a new Idempotency-Key",
        details,
    )


def _retry_later(key: str) -> tuple[int, bytes]:
    return json_error(
        409,
        "idempotency_in_progress",
        "a request with this Idempotency-Key is still running; retry shortly",
        [{"path": "header.Idempotency-Key", "message": "in progress"}],
    )

"""`Idempotency-Key` on POSTs: the same key and body replays the first answer; the same key
with another body is refused (422); concurrent duplicates run once, the others wait for it.

Keys are scoped by a hash of the caller's credentials, so two callers never share one. Answers
of 5xx are not kept: the request failed on our side and a retry should run again.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re

from anyio import to_thread
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from alignment import idempotency
from alignment.db import get_app_sessionmaker
from service.middleware import json_error, respond

KEY = re.compile(r"^[\x21-\x7e]{1,200}$")
WAIT_S, POLL_S = 30.0, 0.1
REPLAYED_HEADERS = ("content-type", "location")


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
        body = await _read_body(receive)
        credentials = headers.get(b"authorization", b"") + b"|" + headers.get(b"cookie", b"")
        caller = hashlib.sha256(credentials).hexdigest()
        request_hash = hashlib.sha256(
            b"\n".join([scope["path"].encode(), scope.get("query_string", b""), body])
        ).hexdigest()

        if not await to_thread.run_sync(
            idempotency.claim, self.sessions, caller, key, request_hash
        ):
            await self._replay(send, caller, key, request_hash)
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
            if status >= 500:
                await to_thread.run_sync(idempotency.forget, self.sessions, caller, key)
            else:
                kept = {
                    n.decode("latin-1"): v.decode("latin-1")
                    for n, v in response_headers
                    if n.decode("latin-1").lower() in REPLAYED_HEADERS
                }
                await to_thread.run_sync(
                    idempotency.store, self.sessions, caller, key, status, b"".join(chunks), kept
                )

    async def _replay(self, send: Send, caller: str, key: str, request_hash: str) -> None:
        waited = 0.0
        while True:
            stored = await to_thread.run_sync(idempotency.lookup, self.sessions, caller, key)
            if stored is None:  # the first attempt failed on our side and let go of the key
                await respond(send, *_retry_later(key))
                return
            if stored.request_hash != request_hash:
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
        [{"path": "header.Idempotency-Key", "message": f"{json.dumps(key)} had another body"}],
    )


def _retry_later(key: str) -> tuple[int, bytes]:
    return json_error(
        409,
        "idempotency_in_progress",
        "a request with this Idempotency-Key is still running; retry shortly",
        [{"path": "header.Idempotency-Key", "message": "in progress"}],
    )

"""Stored first responses of POSTs sent with an `Idempotency-Key`, for replay on retries, and
the fingerprint that tells a retry from another request.

Each storing function is one short transaction of its own: the claim must be visible to a
concurrent duplicate before the first request's work is done, and the stored answer must
survive however the request's own transaction ends.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session, sessionmaker

from alignment.bundle.nesting import check_json_depth
from alignment.errors import BundleInvalid
from alignment.models import IdempotentRequest

# Starts no byte form: those start with the path, and a path starts with "/".
CANONICAL_FORM = b"canonical-json/v1"


@dataclass(frozen=True)
class Stored:
    request_hash: str
    status_code: int | None
    body: bytes | None
    headers: dict[str, str] | None


def claim(sessions: sessionmaker[Session], scope: str, key: str, request_hash: str) -> bool:
    """True when this request is the first with (scope, key): it then runs and stores."""
    with sessions() as s, s.begin():
        inserted = s.execute(
            pg_insert(IdempotentRequest)
            .values(scope=scope, key=key, request_hash=request_hash)
            .on_conflict_do_nothing()
            .returning(IdempotentRequest.key)
        ).first()
    return inserted is not None


def lookup(sessions: sessionmaker[Session], scope: str, key: str) -> Stored | None:
    with sessions() as s:
        row = s.scalar(
            select(IdempotentRequest).where(
                IdempotentRequest.scope == scope, IdempotentRequest.key == key
            )
        )
        if row is None:
            return None
        return Stored(row.request_hash, row.status_code, row.response_body, row.response_headers)


def store(
    sessions: sessionmaker[Session],
    scope: str,
    key: str,
    status: int,
    body: bytes,
    headers: dict[str, str],
) -> None:
    with sessions() as s, s.begin():
        s.execute(
            update(IdempotentRequest)
            .where(IdempotentRequest.scope == scope, IdempotentRequest.key == key)
            .values(status_code=status, response_body=body, response_headers=headers)
        )


def forget(sessions: sessionmaker[Session], scope: str, key: str) -> None:
    """Drop a claim whose request failed on our side, so a retry runs again."""
    with sessions() as s, s.begin():
        s.execute(
            delete(IdempotentRequest).where(
                IdempotentRequest.scope == scope, IdempotentRequest.key == key
            )
        )


CANONICAL_MAX_BYTES = 1 << 20


def request_hashes(path: str, query: bytes, body: bytes, *, json_body: bool) -> tuple[str, str]:
    """(the hash a claim stores, the byte form's): a retry is the first request when the row
    holds either. A JSON body (`json_body`: declared so) is compared as canonical JSON, so a
    retry that spaces or orders its keys differently is still a retry; any other body, a JSON
    body over a megabyte, and one that does not read cleanly, byte for byte. The byte form is
    also what every row stored before canonical JSON holds, so their retries still replay (they
    expire in a day).
    """
    raw = hashlib.sha256(b"\n".join([path.encode(), query, body])).hexdigest()
    # Past a megabyte a body is a bundle, sent by a program that retries the same bytes; the
    # canonical form of one costs seconds of a process's one interpreter lock at 64 MiB.
    canonical = canonical_json(body) if json_body and len(body) <= CANONICAL_MAX_BYTES else None
    if canonical is None:
        return raw, raw
    digest = hashlib.sha256(CANONICAL_FORM)
    for part in (path.encode(), query, canonical):  # lengths: no part runs into the next
        digest.update(b"\n%d:" % len(part) + part)
    return digest.hexdigest(), raw


class _Number(str):
    """A number as written: `1` and `1.0`, or two integers past a float's 53 bits, are
    different requests to some reader (Python's types, a JSONB column), so never equal here."""


def canonical_json(body: bytes) -> bytes | None:
    """The body's JSON with keys sorted, no whitespace, strings escaped one way and numbers as
    written; None when it is not JSON the service reads (not UTF-8, too deep, a key named twice:
    refused by the app, and the last would pass for the same request as one without the twin).
    """
    try:
        text = body.decode("utf-8-sig")  # as service/json_body.py reads it: a BOM is no change
        check_json_depth(text, name="body")  # bounded recursion, here and below
        document = json.loads(
            text,
            object_pairs_hook=_each_key_once,
            parse_int=_Number,
            parse_float=_Number,
            parse_constant=_Number,  # NaN and Infinity, which Python's reader takes
        )
    except (ValueError, BundleInvalid, RecursionError):  # UnicodeDecodeError is a ValueError
        return None
    return _dump(document).encode("ascii")


class _KeyTwice(ValueError):
    pass


def _each_key_once(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found = dict(pairs)
    if len(found) != len(pairs):
        raise _KeyTwice
    return found


def _dump(value: Any) -> str:
    if isinstance(value, _Number):
        return value
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(k)}:{_dump(v)}" for k, v in sorted(value.items())) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_dump(item) for item in value) + "]"
    # A string (escaped to ASCII, so one way for any code point, even a lone surrogate), or
    # true, false, null.
    return json.dumps(value)

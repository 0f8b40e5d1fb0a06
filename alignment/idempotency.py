"""Stored first responses of POSTs sent with an `Idempotency-Key`, for replay on retries.

Each function is one short transaction of its own: the claim must be visible to a concurrent
duplicate before the first request's work is done, and the stored answer must survive however
the request's own transaction ends.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session, sessionmaker

from alignment.models import IdempotentRequest


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

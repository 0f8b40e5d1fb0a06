"""A bound on every lock wait of a request's transactions (GOLDENTHREAD_LOCK_WAIT_S), not only
of those that take an organization's write turn (deletion_turns.py).

Writes that take no turn waited as long as the other side took: signing out writes the key's
row, which a long import made with the same key holds (its use stamp); creating an organization
waits for another request creating the same id. Bounded, they answer 503 (try again) with
nothing changed.

The bound is transaction-local (`set_config(..., true)`), as the tenant is (tenancy.py), so a
pooled connection carries no request's setting into a worker's or the CLI's transaction, and a
transaction-mode pooler in front of PostgreSQL sees nothing of it outside the transaction.
tenancy.py sets it at each transaction's begin, with the tenant in one statement when there is
one.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from alignment.settings import get_settings

_INFO_KEY = "goldenthread.lock_bound"
_BOUND = text("SELECT set_config('lock_timeout', :wait, true)")


def bound_lock_waits(session: Session) -> None:
    """Every transaction of `session` from now on waits for a lock at most the setting."""
    session.info[_INFO_KEY] = True


def lock_wait() -> str:
    """The setting as PostgreSQL reads it; at least 1 ms, since a lock_timeout of 0 means no
    bound at all."""
    return f"{max(1, round(get_settings().database.lock_wait_s * 1000))}ms"


def wait_of(session: Session) -> str | None:
    """The bound of `session`'s transactions, or None when they have none."""
    return lock_wait() if session.info.get(_INFO_KEY) else None


def apply(connection, wait: str) -> None:
    connection.execute(_BOUND, {"wait": wait})

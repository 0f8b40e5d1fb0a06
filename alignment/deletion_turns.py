"""An organization's writes and its delete take turns, through the lock jobs/abandon.py
announces a delete with: a request's write holds it shared, `DELETE /orgs/{id}` exclusively.

Without them a write that started while the delete ran found its organization's rows gone at
its next statement: a foreign-key violation or an update of no row (500), or a bundle import
that recreated the organization it names, with every record, after the delete's 204. Now a
write that comes second waits for the delete and answers 404, and a delete that comes second
waits for the writes under way, whose rows then go with the rest.

Each side takes the lock before anything else of its transaction whenever it can, so that
neither waits for the other while holding a row the other needs (a deadlock, 500). A key
checked in the database has already written its use stamp (a row lock the delete's cascade
waits for): such a transaction only tries the lock, and when it must wait, ends itself first,
stamp and all, and waits in a new one. A job's work takes no turn: a delete ends its
transaction instead (jobs/abandon.py), and its waiting for the lock is what the worker sees.

No write request waits for a lock without end: every request transaction has a `lock_timeout`
(GOLDENTHREAD_LOCK_WAIT_S, alignment/lock_bound.py), set again with the turn so that the bound
holds wherever a turn is taken. A delete stuck behind a long import, or a write behind a delete
that holds its turn, answers 503 (try again) with nothing changed; the
organization's running jobs are ended only once the delete holds its turn (jobs/abandon.py).
The bound is per wait, and stays for the rest of the transaction: any other lock wait of the
request (a row another request or a job holds) ends the same way (service/app.py). A write
queued behind a delete that itself waits gets the turn when that delete gives up.
"""

from __future__ import annotations

from psycopg.errors import LockNotAvailable
from sqlalchemy import Connection, event, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, SessionTransaction

import alignment.tenancy  # noqa: F401  (its listener first: the check below reads under RLS)
from alignment.errors import Busy, NotFound
from alignment.jobs.abandon import DELETION_KEY
from alignment.lock_bound import lock_wait
from alignment.settings import get_settings

_KEY = DELETION_KEY.format(":org")


def _bounded(lock: str) -> str:
    # One statement: the MATERIALIZED CTE is read before the select list, so the bound is set
    # before the lock is waited for (a separate SET would add a round trip to every write).
    bound = "SELECT set_config('lock_timeout', :wait, true)"
    return f"WITH bound AS MATERIALIZED ({bound}) SELECT {lock}({_KEY}) FROM bound"


_TAKE = {
    False: text(_bounded("pg_advisory_xact_lock_shared")),
    True: text(_bounded("pg_advisory_xact_lock")),
}
_TRY = {
    False: text(_bounded("pg_try_advisory_xact_lock_shared")),
    True: text(_bounded("pg_try_advisory_xact_lock")),
}


def _params(org_id: str) -> dict[str, str]:
    return {"org": org_id, "wait": lock_wait()}


_EXISTS = text("SELECT 1 FROM organizations WHERE id = :org")
_INFO_KEY = "goldenthread.deletion_turn"


def take_turn(session: Session, org_id: str, *, deleting: bool = False) -> None:
    """Every transaction of `session` from now on writes to `org_id` (or deletes it) in turn
    with its delete, and raises NotFound once it holds the turn if the organization is gone."""
    session.info[_INFO_KEY] = (org_id, deleting)
    if not session.in_transaction():
        return  # the first statement takes it (tenancy.py: no connection, no wait now)
    connection = session.connection()
    if connection.scalar(_TRY[deleting], _params(org_id)):
        _check_exists(connection, org_id)
        return
    session.rollback()  # waiting now could deadlock (the module's docstring): wait afresh
    session.connection()  # a new transaction, whose `_take_at_begin` waits for the turn


@event.listens_for(Session, "after_begin")
def _take_at_begin(session: Session, transaction: SessionTransaction, connection) -> None:
    turn = session.info.get(_INFO_KEY)
    if turn is None or transaction.nested:  # a savepoint's transaction holds it already
        return
    org_id, deleting = turn
    try:
        connection.execute(_TAKE[deleting], _params(org_id))
    except OperationalError as error:
        if not isinstance(error.orig, LockNotAvailable):
            raise
        waited_for = "the writes under way" if deleting else "a delete of it under way"
        raise Busy(
            f"organization {org_id!r} is busy: waited for {waited_for} longer than "
            f"{get_settings().database.lock_wait_s:g} s; nothing was changed, try again"
        ) from None
    _check_exists(connection, org_id)


def _check_exists(connection: Connection, org_id: str) -> None:
    # A statement of its own, after the lock: in READ COMMITTED its snapshot is taken once the
    # turn is held, so it sees a delete that committed while this transaction waited.
    if connection.scalar(_EXISTS, {"org": org_id}) is None:
        raise NotFound(f"organization {org_id!r} not found")

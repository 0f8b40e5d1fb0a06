"""The jobs of an organization being deleted: the waiting ones leave the queue, and a running
one's transaction is ended, so the delete need not wait for them.

A running job's writes lock its organization's row (every foreign-key check takes a share
lock on it), so `DELETE /orgs/{id}` used to wait for the job's whole transaction, a minute for
a report, holding a request thread and a pooled connection, to then delete what the job had
just committed. The delete announces itself with an advisory lock taken in its own transaction
(`abandon_jobs`): the announcement lasts exactly as long as the delete may still commit, and
needs no transaction of its own, which the delete could not commit while it waits. It is taken
once the delete has its turn (the writes' lock, deletion_turns.py), never waited for: a delete
still waiting for a long import, which may give up (503), ends no job. Each worker
process watches the organizations of the jobs it runs (`watch_deletion`) a few times a second;
seeing the lock, it terminates the backend of that job's transaction. The work rolls back as a
crash's would, the delete goes on at once, and the job, finding its row gone with the
organization, ends quietly (execute.py). The worker does this, not the delete: the API's role
may not signal the worker's backends.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from alignment import db

log = logging.getLogger(__name__)
POLL_S = 0.25  # how long a delete may wait for a running job of its organization to end

# The turn an API request's write takes shared (alignment/deletion_turns.py), and a delete
# exclusively, for its whole transaction.
DELETION_KEY = "hashtextextended('org-delete:' || {}, 0)"
# Taken by a delete only while it holds its turn. Not the turn's key: PostgreSQL refuses a
# shared try while an exclusive request waits in line, so the watch would end jobs for a
# delete that had not started and might still give up.
ANNOUNCE_KEY = "hashtextextended('org-deleting:' || {}, 0)"
_TURN = text(f"SELECT pg_advisory_xact_lock({DELETION_KEY.format(':org')})")
_ANNOUNCE = text(f"SELECT pg_advisory_xact_lock({ANNOUNCE_KEY.format(':org')})")
_WAIT = text(f"SELECT pg_advisory_xact_lock_shared({DELETION_KEY.format(':org')})")
# The organizations a delete is under way in; the shared holds taken end with the statement
# (the watch's connection autocommits), so a delete waits for one statement at most.
_PROBE = text(
    "SELECT org FROM unnest(CAST(:orgs AS text[])) AS org "
    f"WHERE NOT pg_try_advisory_xact_lock_shared({ANNOUNCE_KEY.format('org')})"
)
_END = text("SELECT pg_terminate_backend(:pid)")
# procrastinate deletes only jobs still `todo`: one a worker has just taken is the worker's.
_UNQUEUE = text(
    "SELECT procrastinate_cancel_job_v1(queue_job_id, false, true) FROM jobs "
    "WHERE org_id = :org AND status IN ('queued', 'retrying') AND queue_job_id IS NOT NULL"
)


def abandon_jobs(session: Session, org_id: str) -> None:
    """In the delete's transaction, before the organization's row goes. Waiting jobs would
    only find their rows gone; taken off the queue here, they come back if the delete rolls
    back."""
    # The turn first: a request's delete holds it already, the command line's takes it here.
    session.execute(_TURN, {"org": org_id})
    session.execute(_ANNOUNCE, {"org": org_id})
    session.execute(_UNQUEUE, {"org": org_id})


def wait_for_deletion(session: Session, org_id: str) -> None:
    """Until a delete of the organization under way has ended, and keeps a new one from
    starting until `session`'s transaction ends: a job's row is then either gone or still there
    for what this transaction writes to it."""
    session.execute(_WAIT, {"org": org_id})


@contextmanager
def watch_deletion(session: Session, org_id: str) -> Iterator[None]:
    """While the block runs, `session`'s transaction is ended as soon as a delete of `org_id`
    is under way. The block must end before the transaction does."""
    # Asked of the server: behind PgBouncer the pid the client got at connect time is not it.
    pid = session.scalar(text("SELECT pg_backend_pid()"))
    _WATCH.add(pid, org_id)
    try:
        yield
    finally:
        _WATCH.remove(pid)


class _Watch:
    """One thread and one connection per process however many jobs run (a pooled connection
    per job would halve the jobs the pool serves); it stops when no job is left to watch."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._watched: dict[int, str] = {}  # a work transaction's backend pid: its organization
        self._running = False

    def add(self, pid: int, org_id: str) -> None:
        with self._lock:
            self._watched[pid] = org_id
            if not self._running:
                self._running = True
                threading.Thread(target=self._run, name="deletion-watch", daemon=True).start()

    def remove(self, pid: int) -> None:
        # Under the lock, so a round under way ends first: once the job's transaction has
        # ended, its backend may serve another one, which no later round may end.
        with self._lock:
            self._watched.pop(pid, None)

    def _run(self) -> None:
        connection: Connection | None = None
        try:
            while True:
                time.sleep(POLL_S)
                with self._lock:
                    if not self._watched:
                        self._running = False
                        return
                    connection = self._round(connection)
        finally:
            if connection is not None:
                connection.close()

    def _round(self, connection: Connection | None) -> Connection | None:
        """One probe for every watched organization; the connection for the next round (none
        after a failure: the database may be restarting, and the next round connects again)."""
        try:
            if connection is None:
                connection = db.get_engine().connect()
                connection.execution_options(isolation_level="AUTOCOMMIT")
            orgs = sorted(set(self._watched.values()))
            deleting = set(connection.scalars(_PROBE, {"orgs": orgs}))
            for pid, org_id in list(self._watched.items()):
                if org_id in deleting:
                    self._end(connection, pid, org_id)
            return connection
        except Exception:
            log.warning("the deletion watch could not look; it tries again", exc_info=True)
            if connection is not None:
                connection.close()
            return None

    def _end(self, connection: Connection, pid: int, org_id: str) -> None:
        del self._watched[pid]  # tried once: a refusal leaves the delete to wait, as it used to
        ended = connection.scalar(_END, {"pid": pid})
        log.info(
            "organization %s is being deleted: ended its job's transaction (backend %s%s)",
            org_id, pid, "" if ended else ", already gone",
        )  # fmt: skip


_WATCH = _Watch()

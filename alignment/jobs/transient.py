"""Failures worth another attempt: the database, the network or a provider was away, another
run held the organization, or, for a scoring run, a record it read was deleted before it wrote
(a foreign key its rows name is gone: the next attempt reads the organization as it is then).
Anything else (a deleted team named in the request, an invalid request) fails the job at once
with its reason."""

import httpx
from psycopg.errors import ForeignKeyViolation
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError

from alignment.errors import Conflict, Unavailable

TRANSIENT: tuple[type[Exception], ...] = (
    Unavailable,
    Conflict,
    OperationalError,
    InterfaceError,
    httpx.HTTPError,
    OSError,
    TimeoutError,
)


# Jobs that write rows naming records they read earlier in their run, without a lock on them: a
# scoring run's links name every OKR and objective. In any other job, a foreign key gone is a
# mistake to report at once, not to try again.
READ_THEN_WRITE = frozenset({"score"})


def is_transient(exc: BaseException, kind: str = "") -> bool:
    if isinstance(exc, IntegrityError):
        return kind in READ_THEN_WRITE and isinstance(exc.orig, ForeignKeyViolation)
    return isinstance(exc, TRANSIENT)

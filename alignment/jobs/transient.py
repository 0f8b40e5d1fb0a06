"""Failures worth another attempt: the database, the network or a provider was away, another
run held the organization, or a record the job read was deleted before it wrote (a foreign key
its rows name is gone: the next attempt reads the organization as it is then). Anything else (a
deleted team named in the request, an invalid request) fails the job at once with its reason."""

import httpx
from psycopg.errors import ForeignKeyViolation
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError

from alignment.errors import Conflict, Unavailable

TRANSIENT: tuple[type[BaseException], ...] = (
    Unavailable,
    Conflict,
    OperationalError,
    InterfaceError,
    httpx.HTTPError,
    OSError,
    TimeoutError,
)


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, IntegrityError):
        return isinstance(exc.orig, ForeignKeyViolation)
    return isinstance(exc, TRANSIENT)

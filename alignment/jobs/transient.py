"""Failures worth another attempt: the database, the network or a provider was away, or
another run held the organization. Anything else (a deleted team, an invalid request) fails
the job at once with its reason."""

import httpx
from sqlalchemy.exc import InterfaceError, OperationalError

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
    return isinstance(exc, TRANSIENT)

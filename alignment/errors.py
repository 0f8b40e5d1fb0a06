"""Domain errors: each carries an HTTP status and a machine-readable code.

One handler in `service` renders them as {"error": {"code", "message", "details"}}; the CLI
prints them. Nothing else needs to know about HTTP.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar


class DomainError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Conflict(DomainError):
    status = 409
    code = "conflict"


class Invalid(DomainError):
    status = 422
    code = "invalid"


class BundleInvalid(Invalid):
    """A bundle that breaks rules; `details` lists every problem by path."""

    code = "bundle_invalid"


class Unavailable(DomainError):
    status = 503
    code = "unavailable"


class Busy(Unavailable):
    """A lock was not given within GOLDENTHREAD_LOCK_WAIT_S: nothing was changed."""

    code = "busy"
    headers: ClassVar[dict[str, str]] = {"Retry-After": "5"}


class TooManyWaiting(DomainError):
    """More of one person's jobs of a kind are waiting than the queue takes from one person."""

    status = 429
    code = "too_many_waiting"
    headers: ClassVar[dict[str, str]] = {"Retry-After": "30"}  # a draft takes seconds to a minute


class Unauthorized(DomainError):
    """No valid credentials. Says nothing about which part was wrong."""

    status = 401
    code = "unauthorized"
    headers: ClassVar[dict[str, str]] = {"WWW-Authenticate": 'Bearer realm="goldenthread"'}


class Forbidden(DomainError):
    status = 403
    code = "forbidden"


# pydantic names the model class in these ("instance of OkrIn"): a word of the code, not of
# the document a person wrote.
_OBJECT_EXPECTED = frozenset({"model_type", "model_attributes_type", "dataclass_type"})


def field_message(error: Mapping[str, Any]) -> str:
    """A pydantic error's message in the words of the document rather than of the code."""
    if error.get("type") in _OBJECT_EXPECTED:
        return "Input should be an object (field names with their values)"
    if error.get("type") in _LENGTH and isinstance(error.get("input"), str):
        # A length checked after a validator (`Annotated[PlainText, Field(max_length=...)]`)
        # is worded for any sized value: "at most 2000 items after validation".
        bound, limit = _LENGTH[error["type"]]
        limit_value, actual = error["ctx"][limit], error["ctx"]["actual_length"]
        unit = "character" if limit_value == 1 else "characters"
        return f"Text should have {bound} {limit_value} {unit}, not {actual}"
    # pydantic's words before the message of one of our rules (a validator's ValueError).
    return str(error["msg"]).removeprefix("Value error, ")


_LENGTH = {"too_long": ("at most", "max_length"), "too_short": ("at least", "min_length")}

"""JSON request bodies held to what bundles are (docs/bundle-v1.md): UTF-8 text, nested at most
MAX_DEPTH levels, no key named twice in one object, and no integer too long for Python to read.
What breaks a rule is refused (422) with where it is, in the one error shape (service/errors.py).

FastAPI reads a route's JSON body with `await request.json()` and answers any error but a
JSON syntax error with a bare 400 "There was an error parsing the body". So the routes get a
request whose `json()` applies these rules (`StrictJSONRoute`), and what it refuses is an
HTTPException, the one kind of error FastAPI passes on from reading a body.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Coroutine, Iterable, Iterator
from types import UnionType
from typing import Any, TypeGuard, Union, get_args, get_origin

from fastapi import APIRouter, Request, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel
from starlette.exceptions import HTTPException
from starlette.routing import BaseRoute, Match
from starlette.types import Scope

from alignment.bundle.nesting import JSON_STRING, MAX_DEPTH
from alignment.bundle.validate import json_path

# Strings first, so that a bracket inside one is not counted as nesting.
_STRING_OR_BRACKET = re.compile(f"{JSON_STRING.pattern}|[\\[\\]{{}}]", re.DOTALL)


class BodyRefused(HTTPException):
    code = "invalid"

    def __init__(self, message: str, details: list[dict[str, str]]) -> None:
        super().__init__(422, message)
        self.details = details


class _TooLong:
    """Where an integer too long to read was (the parser cannot say where it stopped)."""

    def __init__(self, digits: int) -> None:
        self.digits = digits


class _KeysTwice(dict[str, Any]):
    """An object with keys named twice: the parser's hook does not know the object's path."""

    twice: list[str]


def read_json(raw: bytes) -> Any:
    try:
        text = raw.decode("utf-8-sig")  # JSON is UTF-8 (RFC 8259); a byte order mark is harmless
    except UnicodeDecodeError as exc:
        bad = f"byte {exc.start} (0x{raw[exc.start]:02x}) is not valid UTF-8"
        raise BodyRefused(
            "the request body is not UTF-8 text",
            [{"path": "$", "message": f"{bad}; send the body as UTF-8"}],
        ) from exc
    _check_depth(text)
    marked = False

    def integer(digits: str) -> int | _TooLong:
        nonlocal marked
        try:
            return int(digits)
        except ValueError:  # beyond sys.get_int_max_str_digits(): int() refuses to read it
            marked = True
            return _TooLong(len(digits.lstrip("-")))

    def each_key_once(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        nonlocal marked
        found = dict(pairs)
        if len(found) == len(pairs):
            return found
        # Parsers keep the last value of a key named twice: the first would go without a word.
        marked = True
        seen: set[str] = set()
        twice = _KeysTwice(found)
        twice.twice = list(dict.fromkeys(k for k, _ in pairs if k in seen or seen.add(k)))
        return twice

    document = json.loads(text, object_pairs_hook=each_key_once, parse_int=integer)
    if marked:
        _refuse_marked(document)
    return document


def _check_depth(text: str) -> None:
    # Python's parser recurses once per level: thousands of levels end in RecursionError.
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return  # most bodies: too few brackets to nest that deep, seen without a scan
    depth = 0
    for token in _STRING_OR_BRACKET.finditer(text):
        opened = token.group()
        if opened in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                raise BodyRefused(
                    f"the request body is nested more than {MAX_DEPTH} levels deep",
                    [{"path": "$", "message": f"at character {token.start()}: too deep"}],
                )
        elif opened in "]}":
            depth -= 1


def _refuse_marked(document: Any) -> None:
    problems = list(_marks(document, ()))
    summaries = {
        "number": "the request body holds a number too long to read",
        "twice": "the request body names a key twice in one object",
    }
    message = "; ".join(summaries[kind] for kind in dict.fromkeys(kind for kind, _ in problems))
    raise BodyRefused(message, [problem for _, problem in problems])


def _marks(value: Any, path: tuple[str | int, ...]) -> Iterator[tuple[str, dict[str, str]]]:
    """Each mark the parser left, in document order (depth is bounded by `_check_depth`)."""
    if isinstance(value, _TooLong):
        limit = sys.get_int_max_str_digits()
        message = f"a number of {value.digits} digits; at most {limit}"
        yield "number", {"path": json_path(path), "message": message}
    elif isinstance(value, _KeysTwice):
        for key in value.twice:
            message = (
                f"{key!r} appears twice in one object; keep one (JSON readers keep the last "
                "and would drop the first without a word)"
            )
            yield "twice", {"path": json_path((*path, key)), "message": message}
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _marks(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _marks(item, (*path, index))


class StrictJSONRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = read_json(await self.body())
        return self._json


class StrictJSONRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        empty_is_object = _body_model(self) is not None

        async def strict_json_handler(request: Request) -> Response:
            strict = StrictJSONRequest(request.scope, request.receive)
            if empty_is_object and not await strict.body():
                strict = _as_empty_object(strict)
            return await handler(strict)

        return strict_json_handler


def reads_no_body_as_object(scope: Scope) -> bool:
    """Whether the route a request reaches reads it without a body as `{}` (`StrictJSONRoute`,
    a POST whose body is one model). Asked before the router has run (the Idempotency-Key
    middleware, for which no body and `{}` are then one request), so the route is found here as
    the router finds it: the first to take the request whole."""
    route = _route_reached(scope["app"].router.routes, scope)
    return isinstance(route, StrictJSONRoute) and _body_model(route) is not None


def _route_reached(routes: Iterable[BaseRoute], scope: Scope) -> BaseRoute | None:
    for route in routes:
        # FastAPI keeps each included router whole (`original_router`): its routes are
        # tried in turn, as the router itself tries them.
        included = getattr(route, "original_router", None)
        if included is not None:
            found = _route_reached(included.routes, scope)
        else:
            found = route if route.matches(scope)[0] is Match.FULL else None
        if found is not None:
            return found
    return None


def _body_model(route: APIRoute) -> type[BaseModel] | None:
    """The model a POST's whole body is, if it is one (or one that may be left out). Such a
    POST without a body is read as `{}`: where every field may be left out (`approve`,
    `reject` with its optional note) a bare `curl -X POST` is then a complete request, and
    where one is required the answer names it (`$.verdict`), as for `{}`, not a "Field
    required" at `$`. A PATCH with no body is still refused: it forgot its changes."""
    field = route.body_field
    if "POST" not in route.methods or field is None:
        return None
    annotation = field.field_info.annotation
    if _is_model(annotation):
        return annotation
    # `Model | None = None` (`POST /reports`, a job's `cancel`): no body is None, which such a
    # route takes as the model's defaults. That is `{}` only where every field may be left
    # out; otherwise `{}` is refused where no body is not, and the two stay apart.
    members = [a for a in get_args(annotation) if a is not type(None)]
    optional = get_origin(annotation) in (Union, UnionType) and len(members) == 1
    model = members[0] if optional else None
    if _is_model(model) and not any(f.is_required() for f in model.model_fields.values()):
        return model
    return None


def _is_model(annotation: Any) -> TypeGuard[type[BaseModel]]:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _empty_is_object(route: APIRoute) -> bool:
    """Is a POST without a body complete here? /openapi.json then says the requestBody is
    `required: false`."""
    model = _body_model(route)
    return model is not None and not any(f.is_required() for f in model.model_fields.values())


def _as_empty_object(request: StrictJSONRequest) -> StrictJSONRequest:
    # FastAPI validates no body at all as a missing one, whatever the model's defaults; and
    # it reads a body as JSON only when the request says it is, so the stand-in says so.
    headers = [(k, v) for k, v in request.scope["headers"] if k.lower() != b"content-type"]
    scope = {**request.scope, "headers": [*headers, (b"content-type", b"application/json")]}
    empty = StrictJSONRequest(scope, request.receive)
    empty._body = b"{}"
    return empty


def read_bodies_strictly(router: APIRouter) -> None:
    """Give the router's routes `StrictJSONRoute`'s reading. FastAPI builds an included
    route's handler from the route itself, and the routers' modules make their routes as plain
    APIRoutes; it adds no state, so the class can change after the fact."""
    for route in router.routes:
        if type(route) is APIRoute:
            route.__class__ = StrictJSONRoute
            if _empty_is_object(route):
                route.openapi_extra = _body_optional(route.openapi_extra)


def _body_optional(extra: dict[str, Any] | None) -> dict[str, Any]:
    """The route's OpenAPI additions, saying what `_empty_is_object` decided: the body may be
    left out. FastAPI marks a body model's parameter required whatever its fields' defaults."""
    extra = dict(extra or {})
    extra["requestBody"] = {**extra.get("requestBody", {}), "required": False}
    return extra

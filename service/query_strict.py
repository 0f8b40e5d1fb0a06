"""Query strings held to what each JSON API route declares: a parameter the route does not take
is refused (422 at `query.NAME`, naming the ones it does take) instead of being ignored, since
an ignored filter (`?Team=T-1` for `?team=T-1`) answers the whole list as if it were filtered.
For the same reason a parameter that takes one value is refused when given twice: FastAPI reads
the last one, so `?kind=lag&kind=lead` listed the lead KPIs only.

Pages stay lenient: browsers, bookmarks and mail links add parameters of their own (`?utm_*`,
a stale `?decided=`), and a page refusing them helps no one. A page is a route left out of the
API schema (the pages' routers and their forms' POSTs) or one answering HTML.

The check runs after authorization (`permissions.authorize`, which include_router adds to every
protected route) and before anything else the route depends on: a caller without valid
credentials gets the 401 (a browser, the sign-in redirect) it gets without the parameter, so
the answer to a request nobody authorized does not depend on its query. A public route has
nothing before the check. `authorize` also runs the check itself, once the caller may call the
route and before a write waits for its organization's turn or is audited.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi._compat import field_annotation_is_sequence
from fastapi.datastructures import DefaultPlaceholder
from fastapi.dependencies.models import Dependant
from fastapi.dependencies.utils import get_flat_params, get_validation_alias
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute

from service.json_body import StrictJSONRoute

# Read from the query string by the sign-in, not declared: a signed-in page's own calls to the
# API (team.js asks /suggest-parent) carry the page's form token there (auth.signed_in_ticket).
READ_BY_SIGN_IN = frozenset({"csrf"})


def declared_query(dependant: Dependant) -> tuple[str, ...]:
    """The names the route and its dependencies read from the query string, in their order."""
    return tuple(dict.fromkeys(get_validation_alias(field) for field in _query_fields(dependant)))


def single_valued(dependant: Dependant) -> frozenset[str]:
    """Those of them that take one value (not a list)."""
    return frozenset(
        get_validation_alias(field)
        for field in _query_fields(dependant)
        if not field_annotation_is_sequence(field.field_info.annotation)
    )


def _query_fields(dependant: Dependant) -> list[Any]:
    fields = [field for each in _tree(dependant) for field in each.query_params]
    # A query parameter model (`Annotated[Filters, Query()]`) stands for its fields.
    return get_flat_params(Dependant(query_params=fields))


def _tree(dependant: Dependant) -> Iterator[Dependant]:
    yield dependant
    for sub in dependant.dependencies:
        yield from _tree(sub)


def is_page(route: APIRoute) -> bool:
    answers = route.response_class
    if isinstance(answers, DefaultPlaceholder):
        answers = answers.value
    return not route.include_in_schema or issubclass(answers, HTMLResponse)


def check_query(
    request: Request, allowed: frozenset[str], takes: tuple[str, ...], single: frozenset[str]
) -> None:
    listed = f"this route takes: {', '.join(takes)}" if takes else "this route takes none"
    problems = []
    for name in dict.fromkeys(request.query_params):
        given = request.query_params.getlist(name)
        if name not in allowed:
            problems.append((name, f"unknown query parameter {name!r}; {listed}", given[-1]))
        elif name in single and len(given) > 1:
            said = f"query parameter {name!r} takes one value, and was given {len(given)}"
            problems.append((name, said, given))
    if problems:
        raise RequestValidationError(
            [
                {"type": "extra_forbidden", "loc": ("query", name), "msg": msg, "input": given}
                for name, msg, given in problems
            ]
        )


@dataclass(frozen=True)
class QueryCheck:
    """The check of one route, as a dependency of it."""

    takes: tuple[str, ...]
    allowed: frozenset[str]
    single: frozenset[str]

    @classmethod
    def of(cls, dependant: Dependant) -> QueryCheck:
        """For the route whose own dependant this is. What include_router adds (authorize)
        declares no query parameter; the names the sign-in reads are allowed instead."""
        takes = declared_query(dependant)
        single = single_valued(dependant) | READ_BY_SIGN_IN
        return cls(takes, frozenset(takes) | READ_BY_SIGN_IN, single)

    # async: it reads only the URL, and FastAPI runs a plain `def` dependency in a thread.
    async def __call__(self, request: Request) -> None:
        check_query(request, self.allowed, self.takes, self.single)


def refuse_unknown_queries(router: APIRouter) -> None:
    """Give the router's JSON API routes the check, as the first of their own dependencies:
    an included route resolves what include_router adds (authorize) first, then the check, then
    the route's own dependencies and parameters. Before the router is included (its routes'
    handlers are built from their dependencies then); once per route, however many apps
    include the router."""
    for route in router.routes:
        if type(route) not in (APIRoute, StrictJSONRoute) or is_page(route):
            continue
        if not any(isinstance(d.dependency, QueryCheck) for d in route.dependencies):
            route.dependencies.insert(0, Depends(QueryCheck.of(route.dependant)))

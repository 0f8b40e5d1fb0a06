"""Every route the app serves, flattened: what tests/service/test_access_matrix.py walks to check
that no route is left out of the access rules."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from fastapi import FastAPI
from starlette.routing import BaseRoute


@dataclass(frozen=True)
class RouteInfo:
    method: str
    path: str
    name: str


def iter_routes(app: FastAPI) -> Iterator[RouteInfo]:
    yield from _walk(app.router.routes)


def _walk(routes: list[BaseRoute]) -> Iterator[RouteInfo]:
    for route in routes:
        contexts = getattr(route, "effective_route_contexts", None)
        if contexts is not None:  # FastAPI's included router: its routes with their prefixes
            for context in contexts():
                original = context.original_route
                for method in sorted(getattr(original, "methods", None) or ()):
                    yield RouteInfo(method, context.path or original.path, original.name)
            continue
        for method in sorted(getattr(route, "methods", None) or ()):
            yield RouteInfo(method, route.path, route.name)

"""Route order: `service/routes/__init__.py` puts the reads dashboards poll first; that is only
safe while no route can take another's requests."""

import re

from fastapi.routing import APIRoute

from service.app import create_app


def routes_in_order() -> list[APIRoute]:
    found: list[APIRoute] = []
    for route in create_app().router.routes:
        included = getattr(route, "original_router", None)
        inner = included.routes if included is not None else [route]
        found += [r for r in inner if isinstance(r, APIRoute)]
    return found


def concrete(path: str) -> str:
    """A request path the route's template accepts: each parameter becomes a plain value."""
    return re.sub(r"\{[^}:]+(:path)?\}", lambda m: "a/b" if m.group(1) else "p1", path)


def test_every_route_is_the_first_to_match_its_own_paths() -> None:
    routes = routes_in_order()
    assert len(routes) > 90  # every router is included
    shadowed = []
    for route in routes:
        path = concrete(route.path)
        for method in route.methods:
            first = next(r for r in routes if method in r.methods and r.path_regex.match(path))
            if first is not route:
                shadowed.append(f"{method} {route.path} is taken by {first.path}")
    assert shadowed == []


def test_a_shadowing_route_would_be_found() -> None:
    """The check above can fail: a catch-all placed first takes a later route's path."""
    catch_all = APIRoute("/orgs/{org_id}/{anything}", lambda: None, methods=["GET"])
    later = APIRoute("/orgs/{org_id}/reports", lambda: None, methods=["GET"])
    path = concrete(later.path)
    first = next(r for r in [catch_all, later] if r.path_regex.match(path))
    assert first is catch_all

"""One JSON error shape for every failure: {"error": {"code", "message", "details"}}.

`details` is always a list (empty when there is nothing more to say). Each problem names where
it is: `$...` is a JSON path into the request body (`$` itself is the whole body),
`query.NAME` and `path.NAME` name a URL parameter.
"""

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.routing import Match

from alignment.bundle.validate import json_path
from alignment.errors import DomainError


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": as_list(details)}}


def as_list(details: Any) -> list[Any]:
    """Clients iterate `details`; a lone object or message becomes a one-item list."""
    if details is None:
        return []
    if isinstance(details, list):
        return details
    if isinstance(details, str):
        return [{"path": "$", "message": details}]
    return [details]


def request_path(loc: tuple[Any, ...] | list[Any]) -> str:
    """FastAPI's error location in the notation above."""
    where, *rest = loc or ("body",)
    if where == "body":
        return json_path(rest)
    return ".".join(str(p) for p in (where, *rest))


def _problem(err: dict[str, Any]) -> dict[str, str]:
    if err.get("type") == "json_invalid":  # loc holds a character offset, not a JSON path
        reason = (err.get("ctx") or {}).get("error", "")
        offset = err["loc"][-1]
        return {"path": "$", "message": f"{err['msg']} at character {offset}: {reason}".strip()}
    return {"path": request_path(err["loc"]), "message": err["msg"]}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def domain_error(_: Request, exc: DomainError) -> JSONResponse:
        return JSONResponse(
            error_body(exc.code, exc.message, exc.details),
            status_code=exc.status,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        details = [_problem(err) for err in exc.errors()]
        return JSONResponse(error_body("invalid", "request is not valid", details), status_code=422)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        headers = dict(getattr(exc, "headers", None) or {})
        if exc.status_code == 405:
            headers["Allow"] = ", ".join(allowed_methods(request))
        return JSONResponse(
            error_body(code, str(exc.detail)), status_code=exc.status_code, headers=headers
        )


METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at this path. Starlette's own Allow names only the
    first matching route's, and FastAPI makes one route per method, so ask the routes."""
    routes = request.app.router.routes
    return [
        method
        for method in METHODS
        if any(r.matches({**request.scope, "method": method})[0] == Match.FULL for r in routes)
    ]

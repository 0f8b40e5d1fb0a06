"""One JSON error shape for every failure: {"error": {"code", "message", "details"}}.

`details` is always a list (empty when there is nothing more to say). Each problem names where
it is: `$...` is a JSON path into the request body (`$` itself is the whole body),
`query.NAME` and `path.NAME` name a URL parameter.
"""

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel
from starlette.exceptions import HTTPException
from starlette.routing import Match

from alignment.bundle.validate import json_path
from alignment.errors import DomainError


class Problem(BaseModel):
    path: str
    message: str


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: list[Problem | dict[str, Any]]


class ErrorBody(BaseModel):
    """What every error answers."""

    error: ErrorDetail


def documented(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for error statuses, so clients (and fuzzers) know every answer."""
    meaning = {
        400: "The body could not be read (not UTF-8 or not JSON).",
        401: "No valid API key.",
        403: "The key's role may not do this.",
        404: "No such record in the key's organization.",
        409: "Conflicts with what exists (or a retry still running).",
        413: "The body is larger than the limit.",
        415: "The body's content type is not accepted.",
        422: "The request is not valid; details name each problem.",
        429: "Too many requests for this key; see Retry-After.",
        503: "A dependency (database, model provider) is unavailable.",
    }
    # The JSON content entry keeps errors documented as JSON on CSV and HTML routes too.
    return {
        s: {"model": ErrorBody, "description": meaning[s], "content": {"application/json": {}}}
        for s in statuses
    }


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
    async def domain_error(request: Request, exc: DomainError) -> Response:
        if exc.status == 401 and _wants_page(request):
            return RedirectResponse("/sign-in", status_code=303)
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


def _wants_page(request: Request) -> bool:
    """A browser asking for a page (not an API client asking for JSON)."""
    accept = request.headers.get("accept", "")
    return request.method in ("GET", "HEAD") and "text/html" in accept


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

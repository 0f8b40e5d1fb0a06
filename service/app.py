"""The FastAPI application: routers, the edge middleware, error handlers, and start-up checks."""

import gc
import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response
from psycopg.errors import LockNotAvailable
from sqlalchemy.exc import OperationalError

from alignment.db import resolve_database
from alignment.errors import Busy
from alignment.settings import get_settings
from service.errors import domain_error_response, error_body, install_error_handlers
from service.head_requests import HeadAsGet
from service.idempotency import IdempotencyMiddleware
from service.middleware import EdgeMiddleware
from service.observability import AccessLogMiddleware
from service.ratelimit import FailedAttempts, RateLimiter
from service.routes import include_routes
from service.routes.docs import mount_docs

log = logging.getLogger("goldenthread")
GIL_SWITCH_SECONDS = 0.001


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    log.info("database: %s", resolve_database().description)
    # Sync routes run in anyio's thread pool (40 threads by default). Past a few threads per
    # core they only take turns at the GIL and queue for pooled connections: 50 concurrent
    # readers got a third of one reader's throughput each (docs/scaling.md, benchmarks.load).
    threads = get_settings().service.request_threads
    anyio.to_thread.current_default_thread_limiter().total_tokens = threads
    # As many requests at the database as there are threads, fewer than pooled connections
    # (alignment/db.py): see service/deps.database_permit.
    app.state.database_permits = anyio.Semaphore(threads)
    yield
    for stop in app.state.on_shutdown:  # e.g. the embedded PostgreSQL `serve` started
        try:
            stop()
        except Exception:  # shutdown goes on; the next start finds what is left
            log.exception("shutdown step failed")


def create_served_app() -> FastAPI:
    """The app of one of `serve --workers N`'s processes (a fresh interpreter: logs set up
    again)."""
    from alignment.embedder import get_embedder
    from service.observability import configure_json_logs

    configure_json_logs()
    get_embedder().encode(["warm up"])  # as `serve` does: not in the first request that embeds
    app = create_app()
    prepare_for_requests()
    return app


def prepare_for_requests() -> None:
    """Process-wide settings of a process that serves requests, once start-up is done."""
    freeze_startup_heap()
    # A thread that wants the GIL waits up to the switch interval for the thread holding it
    # (CPython's default, 5 ms, favours throughput). A read crosses between the event loop and
    # request threads four times, so the waits add up to the tail: report p95 86 -> 71 ms on
    # average over five runs each, throughput unchanged (docs/scaling.md).
    sys.setswitchinterval(GIL_SWITCH_SECONDS)


def freeze_startup_heap() -> None:
    """Put what start-up built (the model, the app: about 620,000 objects) out of the garbage
    collector's reach. A full collection scanned all of it, 270 ms during which every request
    of the process waited; those objects live as long as the process anyway. This is
    CPython's `gc.freeze`, meant for servers that load everything before serving."""
    gc.collect()
    gc.freeze()


def create_app() -> FastAPI:
    settings = get_settings().service
    app = FastAPI(
        title="Golden Thread",
        version="0.1.0",
        summary="Traceable alignment from strategic objectives to team OKRs and check-ins.",
        lifespan=lifespan,
        docs_url=None,  # served offline by service/routes/docs.py
        redoc_url=None,
    )
    app.state.rate_limiter = RateLimiter(settings.rate_limit_per_minute)
    app.state.failed_attempts = FailedAttempts()
    app.state.on_shutdown = []
    install_error_handlers(app)

    @app.exception_handler(OperationalError)
    async def database_error(request: Request, exc: OperationalError) -> Response:
        if isinstance(exc.orig, LockNotAvailable):
            # lock_timeout, set at the start of every request transaction (alignment/
            # lock_bound.py), ended a wait for a row another request or a job holds: the
            # transaction rolled back, nothing changed.
            wait = get_settings().database.lock_wait_s
            busy = Busy(
                f"waited longer than {wait:g} s for a record another request is changing; "
                "nothing was changed, try again"
            )
            return domain_error_response(request, busy)
        raise exc  # to the handler below, as before, and on to the server (and tests) after it

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> Response:
        # Never the exception's text: PostgreSQL's messages name tables and echo row values.
        request_id = request.scope.get("state", {}).get("request_id", "")
        log.error("request %s failed", request_id, exc_info=exc)
        body = error_body(
            "internal",
            "something went wrong on our side; quote the request id when you report it",
            [{"path": "$", "message": f"request id {request_id}"}],
        )
        return JSONResponse(body, status_code=500, headers={"X-Request-ID": request_id})

    include_routes(app)
    mount_docs(app)
    app.add_middleware(HeadAsGet)  # innermost: it reads the routes a request would reach
    if settings.cors_origins:  # closed unless origins are named
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "X-Request-ID"],
        )
    app.add_middleware(IdempotencyMiddleware)
    app.add_middleware(EdgeMiddleware, max_body_bytes=settings.max_body_bytes, hsts=settings.https)
    # Outermost, so it logs what the client got: the edge's own answers (a URL it refuses, a
    # body over the limit, also one that turns out too large mid-stream) under their status.
    app.add_middleware(AccessLogMiddleware)
    return app

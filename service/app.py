"""The FastAPI application: routers, error handlers, and start-up checks."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from alignment.db import resolve_database
from service.errors import install_error_handlers
from service.routes import api_router

log = logging.getLogger("goldenthread")


@asynccontextmanager
async def lifespan(_: FastAPI) -> AsyncIterator[None]:
    log.info("database: %s", resolve_database().description)
    yield


def create_app() -> FastAPI:
    app = FastAPI(
        title="Golden Thread",
        version="0.1.0",
        summary="Traceable alignment from strategic objectives to team OKRs and check-ins.",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    app.include_router(api_router)
    return app

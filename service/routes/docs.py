"""API documentation that works offline: Swagger UI and ReDoc served from the
`fastapi-offline` wheel's files.

FastAPI's default /docs and /redoc pages load their scripts from a CDN, which leaves a blank
page on a machine without internet access; here the same scripts come from site-packages under
/static/docs (only the files are used, not that package's app class).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import fastapi_offline
from fastapi import APIRouter, FastAPI
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.types import Scope

ASSETS = "/static/docs"
FILES = Path(fastapi_offline.__file__).resolve().parent / "static"
TITLE = "Golden Thread API"
router = APIRouter(include_in_schema=False)


@router.get("/docs", response_class=HTMLResponse)
def docs() -> HTMLResponse:
    return get_swagger_ui_html(
        openapi_url="/openapi.json",
        title=TITLE,
        swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
        swagger_css_url=f"{ASSETS}/swagger-ui.css",
        swagger_favicon_url=f"{ASSETS}/favicon.png",
        oauth2_redirect_url="/docs/oauth2-redirect",
    )


@router.get("/docs/oauth2-redirect", response_class=HTMLResponse)
def oauth2_redirect() -> HTMLResponse:
    return get_swagger_ui_oauth2_redirect_html()


# ReDoc's sidebar credits Redocly with a logo fetched from its CDN whatever the options say: the
# docs' policy (img-src 'self') refuses it, a console error on every visit, and offline there is
# no CDN. The script is served with that image pointed at a copy of the site's own instead.
REDOC_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"
REDOC_SCRIPT = "/static/redoc/redoc.standalone.js"
LOCAL_LOGO = "/static/app/redoc-logo-mini.svg"


@lru_cache(maxsize=1)
def _redoc_script() -> bytes:
    script = (FILES / "redoc.standalone.js").read_text(encoding="utf-8")
    return script.replace(REDOC_LOGO, LOCAL_LOGO).encode("utf-8")


@router.get(REDOC_SCRIPT)
def redoc_script() -> Response:
    return Response(_redoc_script(), media_type="text/javascript; charset=utf-8")


@router.get("/redoc", response_class=HTMLResponse)
def redoc() -> HTMLResponse:
    return get_redoc_html(
        openapi_url="/openapi.json",
        title=TITLE,
        redoc_js_url=REDOC_SCRIPT,
        redoc_favicon_url=f"{ASSETS}/favicon.png",
        with_google_fonts=False,
    )


APP_FILES = Path(__file__).resolve().parent.parent / "static"


class AskedAgain(StaticFiles):
    """Files whose URLs stay the same when a deploy changes them: the browser asks each time
    (a 304 while unchanged) rather than run a cached copy of an older script, which would
    leave a page the new template expects it to drive waiting."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers["Cache-Control"] = "no-cache"
        return response


def mount_docs(app: FastAPI) -> None:
    app.mount(ASSETS, StaticFiles(directory=FILES), name="docs-assets")
    # The pages' own small scripts (CSP `script-src 'self'`), public like the docs' assets.
    app.mount("/static/app", AskedAgain(directory=APP_FILES), name="app-assets")
    app.include_router(router)

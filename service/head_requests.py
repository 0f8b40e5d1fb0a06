"""HEAD wherever GET works (RFC 9110, section 9.3.2): uptime checks and load balancers ask
with HEAD, and FastAPI's routes answer only the methods they name.

A HEAD request with no HEAD route of its own is run as the GET and answered without the body:
the same status and headers (Content-Length, ETag) the GET would send. The report page keeps
its own HEAD route, which answers without queueing the report job the GET would.
"""

from __future__ import annotations

from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class HeadAsGet:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD" or self._has_head(scope):
            await self.app(scope, receive, send)
            return

        async def headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, headers_only)

    def _has_head(self, scope: Scope) -> bool:
        router = scope["app"].router
        return any(route.matches(scope)[0] is Match.FULL for route in router.routes)

"""Where a delivery may go: http(s) URLs, and not the server's own network unless allowed.

Checked when a subscription is made and again at every delivery (a name can start pointing
elsewhere after it was accepted)."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from alignment.errors import Invalid
from alignment.settings import get_settings


def check_url(url: str, *, path: str = "$.url", resolve: bool = True) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Invalid(
            "a webhook URL must be http(s) with a host",
            details=[{"path": path, "message": f"{url[:200]!r} is not an http(s) URL"}],
        )
    if parts.username or parts.password:
        raise Invalid(
            "a webhook URL must not carry credentials (the signature authenticates us)",
            details=[{"path": path, "message": "remove user:password@ from the URL"}],
        )
    if not resolve or get_settings().webhooks.allow_private:
        return
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise Invalid(
            "the webhook host does not resolve",
            details=[{"path": path, "message": f"{parts.hostname}: {exc.strerror or exc}"}],
        ) from exc
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global:
            raise Invalid(
                "the webhook host is on a private, loopback or reserved network",
                details=[
                    {
                        "path": path,
                        "message": f"{parts.hostname} is {address}; set "
                        "GOLDENTHREAD_WEBHOOKS_ALLOW_PRIVATE=true to deliver inside your network",
                    }
                ],
            )

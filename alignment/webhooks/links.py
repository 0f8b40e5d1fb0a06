"""Absolute links in webhook payloads: a receiving tool has no host to resolve `/orgs/...`.

Events are built in background jobs and CLI runs, where there is no request. The address a
payload's links start with is, in order: GOLDENTHREAD_PUBLIC_URL (the service's address as
people reach it, as exported reports use it), else the address the subscriber reached the
service at when it subscribed (`links_base`, kept with the subscription). The base is applied
when the event is recorded, so every retry sends the same signed body.
"""

from __future__ import annotations

from typing import Any

from alignment.models import WebhookSubscription
from alignment.settings import get_settings


def links_base(sub: WebhookSubscription) -> str | None:
    """What this subscription's links start with; None when nothing says (a subscription made
    before migration 0026 with GOLDENTHREAD_PUBLIC_URL unset): its links stay paths."""
    return get_settings().service.public_url or sub.links_base


def with_absolute_url(data: dict[str, Any], base: str | None) -> dict[str, Any]:
    """`data` with its relative `url` kept as `path` and `url` made absolute on `base`.
    `path` is there even without a base, so a receiver may rely on it either way."""
    url = data.get("url")
    if not isinstance(url, str) or not url.startswith("/"):
        return data
    absolute = f"{base.rstrip('/')}{url}" if base else url
    return {**data, "path": url, "url": absolute}

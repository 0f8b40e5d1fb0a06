"""Subscriptions: create (the secret is shown once), list, get, delete; their delivery log."""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from alignment.db import BIGINT_MAX
from alignment.errors import Invalid, NotFound
from alignment.models import WebhookDelivery, WebhookSubscription
from alignment.webhooks import links
from alignment.webhooks.events import EVENTS
from alignment.webhooks.targets import check_url


def create(
    session: Session,
    org_id: str,
    *,
    url: str,
    events: list[str],
    created_by: str,
    links_base: str | None = None,
) -> tuple[WebhookSubscription, str]:
    """`links_base`: the service's address as the subscriber reached it, what its payloads'
    links start with while GOLDENTHREAD_PUBLIC_URL is unset (links.py)."""
    check_events(events)
    check_url(url)
    secret = "whsec_" + secrets.token_urlsafe(32)
    sub = WebhookSubscription(
        org_id=org_id,
        url=url,
        events=sorted(events),
        secret=secret,
        created_by=created_by,
        links_base=links_base,
    )
    session.add(sub)
    session.flush()
    return sub, secret


def check_events(events: list[str]) -> None:
    """Every event known and listed once; each problem names its item (`$.events[2]`).
    A repeated event is refused rather than merged: a client that sends one twice has a bug
    worth hearing about, as with an unknown one."""
    if not events:
        raise Invalid(
            "name at least one webhook event",
            details=[{"path": "$.events", "message": f"choose from {', '.join(EVENTS)}"}],
        )
    problems = [p for i, event in enumerate(events) if (p := _event_problem(events, i, event))]
    if problems:
        first, more = problems[0], len(problems) - 1
        also = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
        raise Invalid(f"{first['path']}: {first['message']}{also}", details=problems)


def _event_problem(events: list[str], index: int, event: str) -> dict[str, str] | None:
    path = f"$.events[{index}]"
    if event not in EVENTS:
        known = ", ".join(EVENTS)
        return {"path": path, "message": f"unknown event {event[:100]!r}; known: {known}"}
    first = events.index(event)
    if first < index:
        return {"path": path, "message": f"{event!r} is listed already at $.events[{first}]"}
    return None


def get(session: Session, org_id: str, subscription_id: int) -> WebhookSubscription:
    in_range = 1 <= subscription_id <= BIGINT_MAX  # past bigint PostgreSQL would raise
    sub = session.get(WebhookSubscription, subscription_id) if in_range else None
    if sub is None or sub.org_id != org_id:
        raise NotFound(f"webhook {subscription_id} not found")
    return sub


def delete(session: Session, org_id: str, subscription_id: int) -> None:
    session.delete(get(session, org_id, subscription_id))
    session.flush()


def listing(
    session: Session, org_id: str, *, limit: int = 50, offset: int = 0
) -> tuple[list[WebhookSubscription], int]:
    """One page of the organization's subscriptions, oldest first, and how many there are."""
    mine = WebhookSubscription.org_id == org_id
    total = session.scalar(select(func.count()).select_from(WebhookSubscription).where(mine)) or 0
    rows = session.scalars(
        select(WebhookSubscription)
        .where(mine)
        .order_by(WebhookSubscription.id)
        .limit(limit)
        .offset(offset)
    )
    return list(rows), total


def deliveries(
    session: Session, org_id: str, subscription_id: int, *, limit: int = 50, offset: int = 0
) -> tuple[list[WebhookDelivery], int]:
    """One page of the subscription's delivery log, newest first, and how many there are."""
    get(session, org_id, subscription_id)
    mine = WebhookDelivery.subscription_id == subscription_id
    total = session.scalar(select(func.count()).select_from(WebhookDelivery).where(mine)) or 0
    rows = session.scalars(
        select(WebhookDelivery)
        .where(mine)
        .order_by(WebhookDelivery.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return list(rows), total


def render(sub: WebhookSubscription, secret: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": sub.id,
        "url": sub.url,
        "events": sub.events,
        "active": sub.active,
        "created_by": sub.created_by,
        "created_at": sub.created_at.isoformat() if sub.created_at else None,
        "links_base": links.links_base(sub),  # what its payloads' `url`s start with
    }
    if secret is not None:
        out["secret"] = secret  # once, at creation
    return out


def render_delivery(d: WebhookDelivery) -> dict[str, Any]:
    return {
        "id": d.id,
        "event": d.event,
        "status": d.status,
        "attempts": d.attempts,
        "last_status_code": d.last_status_code,
        "last_error": d.last_error,
        "created_at": d.created_at.isoformat() if d.created_at else None,
        "delivered_at": d.delivered_at.isoformat() if d.delivered_at else None,
        "payload": d.payload,
    }

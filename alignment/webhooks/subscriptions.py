"""Subscriptions: create (the secret is shown once), list, delete."""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from alignment.db import BIGINT_MAX
from alignment.errors import Invalid, NotFound
from alignment.models import WebhookDelivery, WebhookSubscription
from alignment.webhooks.events import EVENTS
from alignment.webhooks.targets import check_url


def create(
    session: Session, org_id: str, *, url: str, events: list[str], created_by: str
) -> tuple[WebhookSubscription, str]:
    unknown = sorted(set(events) - set(EVENTS))
    if unknown or not events:
        raise Invalid(
            "unknown webhook events" if unknown else "name at least one event",
            details=[{"path": "$.events", "message": f"choose from {', '.join(EVENTS)}"}],
        )
    check_url(url)
    secret = "whsec_" + secrets.token_urlsafe(32)
    sub = WebhookSubscription(
        org_id=org_id, url=url, events=sorted(set(events)), secret=secret, created_by=created_by
    )
    session.add(sub)
    session.flush()
    return sub, secret


def get(session: Session, org_id: str, subscription_id: int) -> WebhookSubscription:
    in_range = 1 <= subscription_id <= BIGINT_MAX  # past bigint PostgreSQL would raise
    sub = session.get(WebhookSubscription, subscription_id) if in_range else None
    if sub is None or sub.org_id != org_id:
        raise NotFound(f"webhook {subscription_id} not found")
    return sub


def listing(session: Session, org_id: str) -> list[WebhookSubscription]:
    return list(
        session.scalars(
            select(WebhookSubscription)
            .where(WebhookSubscription.org_id == org_id)
            .order_by(WebhookSubscription.id)
        )
    )


def deliveries(session: Session, org_id: str, subscription_id: int, limit: int = 50) -> list:
    get(session, org_id, subscription_id)
    return list(
        session.scalars(
            select(WebhookDelivery)
            .where(WebhookDelivery.subscription_id == subscription_id)
            .order_by(WebhookDelivery.id.desc())
            .limit(limit)
        )
    )


def render(sub: WebhookSubscription, secret: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": sub.id,
        "url": sub.url,
        "events": sub.events,
        "active": sub.active,
        "created_by": sub.created_by,
        "created_at": sub.created_at.isoformat() if sub.created_at else None,
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

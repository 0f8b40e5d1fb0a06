"""Record an event for every subscription that wants it, in the caller's transaction; its
links absolute on the subscription's base (links.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from alignment.models import WebhookDelivery, WebhookSubscription
from alignment.webhooks.links import links_base, with_absolute_url


def emit(session: Session, org_id: str, event: str, data: dict[str, Any]) -> int:
    """Returns how many deliveries were queued. A relative `url` in `data` is sent as `path`,
    and `url` made absolute per subscription."""
    from alignment.jobs import enqueue  # jobs run deliveries; deliveries are made here

    subs = session.scalars(
        select(WebhookSubscription).where(
            WebhookSubscription.org_id == org_id,
            WebhookSubscription.active,
            # ARRAY's any(value), typed by SQLAlchemy as a relationship's any(criterion).
            WebhookSubscription.events.any(event),  # type: ignore[arg-type]
        )
    ).all()
    for sub in subs:
        delivery = WebhookDelivery(
            org_id=org_id,
            subscription_id=sub.id,
            event=event,
            payload={
                "event": event,
                "organization": org_id,
                "occurred_at": datetime.now(UTC).isoformat(),
                "data": with_absolute_url(data, links_base(sub)),
            },
        )
        session.add(delivery)
        session.flush()
        delivery.payload = {"id": f"dlv_{delivery.id}", **delivery.payload}
        enqueue(session, org_id, "webhook", {"delivery_id": delivery.id}, requested_by="system")
    return len(subs)

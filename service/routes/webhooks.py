"""Webhook subscriptions of an organization and their delivery log."""

from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field

from alignment.webhooks import subscriptions
from alignment.webhooks.events import EVENTS
from service.auth import CurrentPrincipal
from service.deps import SessionDep

router = APIRouter(prefix="/orgs/{org_id}/webhooks", tags=["webhooks"])


class SubscriptionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str = Field(min_length=1, max_length=2000, description="http(s) URL that gets POSTs.")
    events: list[str] = Field(
        min_length=1, max_length=len(EVENTS), description=f"Any of: {', '.join(EVENTS)}."
    )


@router.post("", status_code=201)
def create(
    org_id: str, body: SubscriptionIn, session: SessionDep, principal: CurrentPrincipal
) -> dict[str, Any]:
    """Subscribe; the answer carries the signing secret, shown this once."""
    sub, secret = subscriptions.create(
        session, org_id, url=body.url, events=body.events, created_by=principal.name
    )
    return subscriptions.render(sub, secret)


@router.get("")
def list_(org_id: str, session: SessionDep) -> dict[str, Any]:
    items = [subscriptions.render(s) for s in subscriptions.listing(session, org_id)]
    return {"items": items, "total": len(items)}


@router.delete("/{webhook_id}", status_code=204, response_class=Response)
def delete(org_id: str, webhook_id: int, session: SessionDep) -> Response:
    session.delete(subscriptions.get(session, org_id, webhook_id))
    return Response(status_code=204)


@router.get("/{webhook_id}/deliveries")
def deliveries(org_id: str, webhook_id: int, session: SessionDep) -> dict[str, Any]:
    """The newest 50 deliveries: event, status, attempts, the subscriber's last answer."""
    items = [
        subscriptions.render_delivery(d)
        for d in subscriptions.deliveries(session, org_id, webhook_id)
    ]
    return {"items": items, "total": len(items)}

"""Webhook subscriptions of an organization and their delivery log."""

from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from alignment.webhooks import subscriptions
from alignment.webhooks.events import EVENTS
from service.auth import CurrentPrincipal
from service.deps import PageDep, SessionDep

router = APIRouter(prefix="/orgs/{org_id}/webhooks", tags=["webhooks"])


# Room for every event and a few mistakes: a repeated or unknown event is refused by name
# (subscriptions.check_events), not as "too many items"; past this, a list is no mistake.
EVENTS_LISTED_MAX = 4 * len(EVENTS)


class SubscriptionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str = Field(min_length=1, max_length=2000, description="http(s) URL that gets POSTs.")
    events: list[str] = Field(
        min_length=1,
        max_length=EVENTS_LISTED_MAX,
        description=f"Any of: {', '.join(EVENTS)}; each once.",
    )


@router.post("", status_code=201)
def create(
    org_id: str,
    body: SubscriptionIn,
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> dict[str, Any]:
    """Subscribe; the answer carries the signing secret, shown this once. The address this
    request came to is kept: what the payloads' links start with, unless
    GOLDENTHREAD_PUBLIC_URL is set (`links_base` in the answer says which)."""
    sub, secret = subscriptions.create(
        session,
        org_id,
        url=body.url,
        events=body.events,
        created_by=principal.name,
        links_base=str(request.base_url),
    )
    return subscriptions.render(sub, secret)


@router.get("")
def list_(org_id: str, session: SessionDep, page: PageDep) -> dict[str, Any]:
    """The organization's subscriptions, oldest first (by id), a page at a time."""
    rows, total = subscriptions.listing(session, org_id, limit=page.limit, offset=page.offset)
    return page.envelope([subscriptions.render(s) for s in rows], total)


@router.delete("/{webhook_id}", status_code=204, response_class=Response)
def delete(org_id: str, webhook_id: int, session: SessionDep) -> Response:
    subscriptions.delete(session, org_id, webhook_id)
    return Response(status_code=204)


@router.get("/{webhook_id}/deliveries")
def deliveries(org_id: str, webhook_id: int, session: SessionDep, page: PageDep) -> dict[str, Any]:
    """The delivery log, newest first, a page at a time: event, status, attempts, the
    subscriber's last answer; `total` counts every delivery of the subscription."""
    rows, total = subscriptions.deliveries(
        session, org_id, webhook_id, limit=page.limit, offset=page.offset
    )
    return page.envelope([subscriptions.render_delivery(d) for d in rows], total)

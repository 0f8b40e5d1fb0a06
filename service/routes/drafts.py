"""Drafts: suggested OKRs and review summaries for people to approve, edit, or reject.

Routes are plain `def` (drafting embeds text and may wait on an LLM: FastAPI runs them in its
thread pool). A request that drafts stores one row: a `pending` draft, or a `failed` attempt
with the gates' reasons (both 201). A provider outage answers 503 and stores nothing.
"""

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query

from alignment.access.principal import Role
from alignment.drafting import approve, store
from alignment.drafting.draft import draft_suggestions, draft_summary
from alignment.drafting.drafters import Drafter, get_drafter
from alignment.drafting.schemas import (
    ApproveRequest,
    RejectRequest,
    SuggestionRequest,
    SummaryRequest,
)
from service.auth import CurrentPrincipal
from service.deps import EmbedderDep, PageDep, SessionDep

router = APIRouter(prefix="/orgs/{org_id}/drafts", tags=["drafts"])


def drafter() -> Drafter:
    """The configured drafter; tests override it with one pointed at their own server."""
    return get_drafter()


DrafterDep = Annotated[Drafter, Depends(drafter)]


@router.post("/suggestions", status_code=201)
def suggest(
    org_id: str,
    body: SuggestionRequest,
    session: SessionDep,
    embedder: EmbedderDep,
    chosen: DrafterDep,
) -> dict[str, Any]:
    """Draft 1-3 OKRs for a team and cycle serving the given objectives (or "suggest")."""
    draft = draft_suggestions(session, org_id, body, drafter=chosen, embedder=embedder)
    return store.render_draft(draft)


@router.post("/summaries", status_code=201)
def summarize(
    org_id: str,
    body: SummaryRequest,
    session: SessionDep,
    embedder: EmbedderDep,
    chosen: DrafterDep,
) -> dict[str, Any]:
    """Draft a cycle review for a team or a strategic objective."""
    draft = draft_summary(session, org_id, body, drafter=chosen, embedder=embedder)
    return store.render_draft(draft)


@router.get("")
def list_drafts(
    org_id: str,
    session: SessionDep,
    page: PageDep,
    principal: CurrentPrincipal,
    kind: Annotated[Literal["suggestion", "summary"] | None, Query()] = None,
    status: Annotated[
        Literal["pending", "approved", "edited_and_approved", "rejected", "failed"] | None,
        Query(),
    ] = None,
    team: str | None = None,
    objective: str | None = None,
    cycle: str | None = None,
) -> dict[str, Any]:
    rows, total = store.list_drafts(
        session,
        org_id,
        kind=kind,
        status=status,
        team=team,
        objective=objective,
        cycle=cycle,
        limit=page.limit,
        offset=page.offset,
        only_teams=principal.team_ids if principal.role is Role.team_lead else None,
    )
    return {
        "items": [store.render_draft(d) for d in rows],
        "total": total,
        "limit": page.limit,
        "offset": page.offset,
    }


@router.get("/{draft_id}")
def get_draft(org_id: str, draft_id: str, session: SessionDep) -> dict[str, Any]:
    return store.render_draft(store.get_draft(session, org_id, draft_id))


@router.post("/{draft_id}/approve")
def approve_draft(
    org_id: str,
    draft_id: str,
    body: ApproveRequest,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> dict[str, Any]:
    """Approve (optionally with edits); a suggestion's OKRs are created once, however often."""
    return approve.approve_draft(
        session, org_id, draft_id, decided_by=principal.name, edited=body.edited
    )


@router.post("/{draft_id}/reject")
def reject_draft(
    org_id: str,
    draft_id: str,
    body: RejectRequest,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> dict[str, Any]:
    return approve.reject_draft(
        session, org_id, draft_id, decided_by=principal.name, reason=body.reason
    )


@router.get("/{draft_id}/audit")
def audit(org_id: str, draft_id: str, session: SessionDep) -> dict[str, Any]:
    """Provenance, every attempt with its gate results and raw output, every decision."""
    return approve.audit(session, org_id, draft_id)

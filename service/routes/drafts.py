"""Drafts: suggested OKRs and review summaries for people to approve, edit, or reject.

Drafting (embedding, an LLM call) runs as a job: a request answers 202 with the job, which
stores one row, a `pending` draft or a `failed` attempt with the gates' reasons. A provider
outage is retried with backoff, then fails the job with the reason; no draft is stored.
"""

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response

from alignment.access.principal import Principal, Role
from alignment.bundle.text_rules import LookupId
from alignment.drafting import approve, store
from alignment.drafting.draft import check_suggestion_request, check_summary_request
from alignment.drafting.schemas import (
    ApproveRequest,
    DismissRequest,
    RejectRequest,
    SuggestionRequest,
    SummaryRequest,
)
from alignment.jobs import enqueue
from service.auth import CurrentPrincipal
from service.deps import PageDep, SessionDep
from service.permissions import rule_for
from service.routes.jobs import ACCEPTED, accepted

router = APIRouter(prefix="/orgs/{org_id}/drafts", tags=["drafts"])


def may_define_cycle(principal: Principal) -> bool:
    """Whether approving a suggestion may define the cycle it proposed: only for a role that
    may create cycles itself, or approving would be a way around that route's rule."""
    rule = rule_for("POST", "/orgs/{org_id}/cycles")
    return rule is not None and principal.role in rule.roles


@router.post("/suggestions", status_code=202, responses=ACCEPTED)
def suggest(
    org_id: str,
    body: SuggestionRequest,
    session: SessionDep,
    principal: CurrentPrincipal,
    response: Response,
) -> dict[str, Any]:
    """Queue a job drafting 1-3 OKRs for a team and cycle serving the given objectives (or
    "suggest"). The team, cycle and objectives are checked now; the job's `result` names
    the stored draft (`draft_id`, `url`): pending, or failed with the gates' reasons."""
    check_suggestion_request(session, org_id, body)
    params = body.model_dump(mode="json", exclude_none=True)
    job = enqueue(session, org_id, "draft_suggestions", params, requested_by=principal.name)
    return accepted(job, response)


@router.post("/summaries", status_code=202, responses=ACCEPTED)
def summarize(
    org_id: str,
    body: SummaryRequest,
    session: SessionDep,
    principal: CurrentPrincipal,
    response: Response,
) -> dict[str, Any]:
    """Queue a job drafting a cycle review for a team or a strategic objective."""
    check_summary_request(session, org_id, body)
    params = body.model_dump(mode="json", exclude_none=True)
    job = enqueue(session, org_id, "draft_summary", params, requested_by=principal.name)
    return accepted(job, response)


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
    team: LookupId | None = None,
    objective: LookupId | None = None,
    cycle: LookupId | None = None,
) -> dict[str, Any]:
    """Drafts, newest first. A `team`, `objective` or `cycle` that is neither a record of the
    organization nor named by any of its drafts is refused (422), not answered with none."""
    store.refuse_unknown_filters(session, org_id, team=team, objective=objective, cycle=cycle)
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
    return page.envelope([store.render_draft(d) for d in rows], total)


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
    """Approve (optionally with edits); a suggestion's OKRs are created once, however often.
    A suggestion for a cycle not defined yet defines it only when the key's role may create
    cycles (`POST /orgs/{org_id}/cycles`); any other decider gets 409 until an admin has."""
    return approve.approve_draft(
        session,
        org_id,
        draft_id,
        decided_by=principal.name,
        edited=body.edited,
        may_define_cycle=may_define_cycle(principal),
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


@router.post("/{draft_id}/dismiss")
def dismiss_draft(
    org_id: str,
    draft_id: str,
    session: SessionDep,
    principal: CurrentPrincipal,
    body: DismissRequest | None = None,
) -> dict[str, Any]:
    """Set a failed draft aside: kept (`dismissed_at`, `dismissed_by`: the signed-in key), no
    longer shown on the team page. Dismissing again answers the same; a draft that is not
    `failed` is a 409 naming its status."""
    return approve.dismiss_draft(session, org_id, draft_id, dismissed_by=principal.name)


@router.get("/{draft_id}/audit")
def audit(org_id: str, draft_id: str, session: SessionDep) -> dict[str, Any]:
    """Provenance, every attempt with its gate results and raw output, every decision."""
    return approve.audit(session, org_id, draft_id)

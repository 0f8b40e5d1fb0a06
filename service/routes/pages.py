"""Pages for the people who decide (server-rendered; all user text autoescaped)."""

from typing import Literal
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from alignment import check_in_review, review
from alignment.access.principal import Principal
from alignment.detail_views import objective_detail, okr_detail
from alignment.drafting import approve
from alignment.errors import Conflict, Invalid
from alignment.repository import require_org
from alignment.scoring.feedback import record_feedback
from alignment.strategy_map import strategy_map
from service.auth import SESSION_COOKIE, CurrentPrincipal, form_token
from service.deps import SessionDep
from service.permissions import may_open
from service.routes.forms import REJECT_REASON_NEEDED, FormFields, decided_at_text, note_field
from service.templating import page

router = APIRouter(include_in_schema=False)


@router.get("/orgs/{org_id}/strategy-map", response_class=HTMLResponse)
def strategy_map_page(
    org_id: str, session: SessionDep, principal: CurrentPrincipal
) -> HTMLResponse:
    # Links only to what the role may open: every role reads the map, not every page it names.
    may = {
        "report": may_open(principal, "/orgs/{org_id}/report.html"),
        "review": may_open(principal, "/orgs/{org_id}/review"),
        "okr": may_open(principal, "/orgs/{org_id}/okr/{okr_id}"),
        "objective": may_open(principal, "/orgs/{org_id}/objective/{objective_id}"),
    }
    return page(
        "strategy_map.html.j2", m=strategy_map(session, org_id), may=may, signed_in=principal.name
    )


@router.get("/orgs/{org_id}/review", response_class=HTMLResponse)
def review_page(
    org_id: str,
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    done: str | None = None,
) -> HTMLResponse:
    """The review queue (strategy office, admin): OKRs and check-ins the engine is unsure about,
    declared links the text does not support, and pending drafts, each decided in one click."""
    org = require_org(session, org_id)
    return page(
        "review.html.j2",
        org={"id": org.id, "name": org.name},
        items=review.queue(session, org_id),
        check_ins=check_in_review.queue(session, org_id),
        unsupported=review.unsupported_declared(session, org_id),
        drafts=review.pending_drafts(session, org_id),
        token=form_token(request.cookies.get(SESSION_COOKIE, "")),
        done=done,
        # What was decided, read back from what was stored (not from the echoed `done`).
        decided=review.last_decision(session, org_id, done, principal.name) if done else None,
        signed_in=principal.name,
    )


@router.get("/orgs/{org_id}/okr/{okr_id}", response_class=HTMLResponse)
def okr_page(
    org_id: str, okr_id: str, session: SessionDep, principal: CurrentPrincipal
) -> HTMLResponse:
    """One OKR: its ranked objectives with the evidence, key results, check-ins with drift,
    and the latest report's findings about it."""
    org = require_org(session, org_id)
    return page(
        "okr.html.j2",
        d=okr_detail(session, org_id, okr_id, with_findings=_sees_reports(principal)),
        org={"id": org.id, "name": org.name},
        signed_in=principal.name,
    )


def _sees_reports(principal: Principal) -> bool:
    """The report's findings are shown to the roles that may open the report."""
    return may_open(principal, "/orgs/{org_id}/report.html")


@router.get("/orgs/{org_id}/objective/{objective_id}", response_class=HTMLResponse)
def objective_page(
    org_id: str, objective_id: str, session: SessionDep, principal: CurrentPrincipal
) -> HTMLResponse:
    """One strategic objective: KPIs, the OKRs serving it, the findings about it."""
    org = require_org(session, org_id)
    return page(
        "objective.html.j2",
        d=objective_detail(session, org_id, objective_id, with_findings=_sees_reports(principal)),
        org={"id": org.id, "name": org.name},
        signed_in=principal.name,
    )


def _back_to_review(org_id: str, what: str) -> RedirectResponse:
    """The review queue again, its flash saying what was decided."""
    return RedirectResponse(f"/orgs/{quote(org_id)}/review?done={quote(what)}", status_code=303)


@router.post("/orgs/{org_id}/review/links/{okr_id}/{objective_id}/{decision}")
def declared_link_form(
    org_id: str,
    okr_id: str,
    objective_id: str,
    decision: Literal["keep", "drop"],
    session: SessionDep,
    principal: CurrentPrincipal,
) -> RedirectResponse:
    """A declared link the text does not support: kept (confirmed; the engine then labels it
    aligned) or dropped (rejected)."""
    verdict = "confirmed" if decision == "keep" else "rejected"
    record_feedback(
        session, org_id, okr_id, objective_id, verdict=verdict, decided_by=principal.name
    )
    return _back_to_review(org_id, f"{okr_id} → {objective_id}")


@router.post("/orgs/{org_id}/review/check-ins/{check_in_id}/{verdict}")
def check_in_form(
    org_id: str,
    check_in_id: str,
    verdict: Literal["drifting", "on_topic"],
    form: FormFields,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> RedirectResponse:
    seen = form.get("seen") or None  # the check-in as the page showed it
    check_in_review.decide(
        session, org_id, check_in_id, verdict=verdict, decided_by=principal.name, seen=seen
    )
    return _back_to_review(org_id, check_in_id)


@router.post("/orgs/{org_id}/review/drafts/{draft_id}/approve")
def approve_draft_form(
    org_id: str, draft_id: str, session: SessionDep, principal: CurrentPrincipal
) -> RedirectResponse:
    approve.approve_draft(session, org_id, draft_id, decided_by=principal.name)
    return _back_to_review(org_id, draft_id)


@router.post("/orgs/{org_id}/review/drafts/{draft_id}/reject")
def reject_draft_form(
    org_id: str, draft_id: str, form: FormFields, session: SessionDep, principal: CurrentPrincipal
) -> RedirectResponse:
    reason = note_field(form, "reason")
    if not reason:
        raise Invalid(
            f"{draft_id} was not rejected",
            details=[{"path": "reason", "message": REJECT_REASON_NEEDED}],
        )
    approve.reject_draft(session, org_id, draft_id, decided_by=principal.name, reason=reason)
    return _back_to_review(org_id, draft_id)


@router.post("/orgs/{org_id}/review/{okr_id}/confirm")
def confirm_form(
    org_id: str, okr_id: str, form: FormFields, session: SessionDep, principal: CurrentPrincipal
) -> RedirectResponse:
    objective_id = form.get("objective_id", "")
    # A stale page (Back, a second tab) confirming what stands confirmed on the OKR's current
    # text would change nothing but the name and time on the decision: say whose it is instead.
    earlier = review.standing_decision(session, org_id, okr_id, objective_id)
    if earlier is not None and earlier.verdict == "confirmed":
        raise Conflict(
            f"{okr_id} → {objective_id} was already confirmed by {earlier.decided_by} at "
            f"{decided_at_text(earlier.decided_at)}; nothing changed"
        )
    review.confirm(session, org_id, okr_id, objective_id, decided_by=principal.name)
    return _back_to_review(org_id, okr_id)


@router.post("/orgs/{org_id}/review/{okr_id}/reject")
def reject_form(
    org_id: str, okr_id: str, form: FormFields, session: SessionDep, principal: CurrentPrincipal
) -> RedirectResponse:
    note = note_field(form, "note") or None
    review.reject(session, org_id, okr_id, decided_by=principal.name, note=note)
    return _back_to_review(org_id, okr_id)

"""Pages for the people who decide (server-rendered; all user text autoescaped)."""

from typing import Annotated, Literal
from urllib.parse import parse_qs, quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from alignment import check_in_review, review
from alignment.detail_views import objective_detail, okr_detail
from alignment.drafting import approve
from alignment.repository import require_org
from alignment.scoring.reads import record_feedback
from alignment.strategy_map import strategy_map
from service.auth import SESSION_COOKIE, CurrentPrincipal, form_token
from service.deps import SessionDep
from service.templating import page

router = APIRouter(include_in_schema=False)


@router.get("/orgs/{org_id}/strategy-map", response_class=HTMLResponse)
def strategy_map_page(
    org_id: str, session: SessionDep, principal: CurrentPrincipal
) -> HTMLResponse:
    return page("strategy_map.html.j2", m=strategy_map(session, org_id), signed_in=principal.name)


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
        d=okr_detail(session, org_id, okr_id),
        org={"id": org.id, "name": org.name},
        signed_in=principal.name,
    )


@router.get("/orgs/{org_id}/objective/{objective_id}", response_class=HTMLResponse)
def objective_page(
    org_id: str, objective_id: str, session: SessionDep, principal: CurrentPrincipal
) -> HTMLResponse:
    """One strategic objective: KPIs, the OKRs serving it, the findings about it."""
    org = require_org(session, org_id)
    return page(
        "objective.html.j2",
        d=objective_detail(session, org_id, objective_id),
        org={"id": org.id, "name": org.name},
        signed_in=principal.name,
    )


async def form_fields(request: Request) -> dict[str, str]:
    body = (await request.body())[:65536].decode("utf-8", "replace")
    parsed = parse_qs(body)
    request.state.form_lists = parsed  # for fields that repeat (checkboxes): form_list
    return {k: v[0] for k, v in parsed.items()}


def form_list(request: Request, name: str) -> list[str]:
    return list(getattr(request.state, "form_lists", {}).get(name, []))


FormFields = Annotated[dict[str, str], Depends(form_fields)]


def _back(org_id: str, what: str) -> RedirectResponse:
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
    return _back(org_id, f"{okr_id} → {objective_id}")


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
    return _back(org_id, check_in_id)


@router.post("/orgs/{org_id}/review/drafts/{draft_id}/approve")
def approve_draft_form(
    org_id: str, draft_id: str, session: SessionDep, principal: CurrentPrincipal
) -> RedirectResponse:
    approve.approve_draft(session, org_id, draft_id, decided_by=principal.name)
    return _back(org_id, draft_id)


@router.post("/orgs/{org_id}/review/drafts/{draft_id}/reject")
def reject_draft_form(
    org_id: str, draft_id: str, form: FormFields, session: SessionDep, principal: CurrentPrincipal
) -> RedirectResponse:
    reason = (form.get("reason") or "").strip()[:2000] or "rejected in the review queue"
    approve.reject_draft(session, org_id, draft_id, decided_by=principal.name, reason=reason)
    return _back(org_id, draft_id)


@router.post("/orgs/{org_id}/review/{okr_id}/confirm")
def confirm_form(
    org_id: str, okr_id: str, form: FormFields, session: SessionDep, principal: CurrentPrincipal
) -> RedirectResponse:
    review.confirm(session, org_id, okr_id, form.get("objective_id", ""), decided_by=principal.name)
    return _back(org_id, okr_id)


@router.post("/orgs/{org_id}/review/{okr_id}/reject")
def reject_form(
    org_id: str, okr_id: str, form: FormFields, session: SessionDep, principal: CurrentPrincipal
) -> RedirectResponse:
    note = (form.get("note") or "").strip()[:2000] or None
    review.reject(session, org_id, okr_id, decided_by=principal.name, note=note)
    return _back(org_id, okr_id)

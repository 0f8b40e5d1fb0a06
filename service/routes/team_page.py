"""The team page: a team lead's OKRs, suggestions to request, drafts to approve, edit or reject.

Forms post here (URL-encoded, with the page's CSRF token in the action URL, like every cookie
write); drafting runs as a job, and the page follows it (`?job=`) until the draft is there.
"""

from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from alignment.access.principal import Role
from alignment.drafting import approve, store
from alignment.drafting.draft import check_suggestion_request, check_summary_request
from alignment.drafting.schemas import SuggestionRequest, SummaryRequest
from alignment.errors import DomainError, NotFound
from alignment.jobs import enqueue
from alignment.jobs import views as job_views
from alignment.repository import require_org
from alignment.team_view import team_view
from service.auth import SESSION_COOKIE, CurrentPrincipal, form_token
from service.deps import SessionDep
from service.routes.pages import FormFields, form_list
from service.templating import page

router = APIRouter(include_in_schema=False)
# The one page with a script of its own (the live parent suggestion), served from this site.
TEAM_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; script-src 'self'; connect-src 'self'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def _page_url(org_id: str, team_id: str, **query: Any) -> str:
    base = f"/orgs/{quote(org_id, safe='')}/team/{quote(team_id, safe='')}"
    kept = {k: v for k, v in query.items() if v is not None}
    return f"{base}?{urlencode(kept)}" if kept else base


def _back(org_id: str, team_id: str, **query: Any) -> RedirectResponse:
    return RedirectResponse(_page_url(org_id, team_id, **query), status_code=303)


@router.get("/orgs/{org_id}/team/{team_id}", response_class=HTMLResponse)
def team_page(
    org_id: str,
    team_id: str,
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    job: int | None = None,
    problem: str | None = None,
    notice: str | None = None,
) -> HTMLResponse:
    org = require_org(session, org_id)
    shown_job = None
    if job is not None:
        try:
            found = job_views.get(session, org_id, job)
            if principal.role is not Role.team_lead or found.requested_by == principal.name:
                shown_job = job_views.render(found)
        except NotFound:
            pass
    return page(
        "team.html.j2",
        csp=TEAM_CSP,
        v=team_view(session, org_id, team_id),
        org={"id": org.id, "name": org.name},
        token=form_token(request.cookies.get(SESSION_COOKIE, "")),
        job=shown_job,
        problem=(problem or "")[:500] or None,
        notice=(notice or "")[:500] or None,
        can_draft=principal.role in (Role.admin, Role.strategy_office, Role.team_lead),
        signed_in=principal.name,
    )


@router.post("/orgs/{org_id}/team/{team_id}/suggest")
def suggest_form(
    org_id: str,
    team_id: str,
    request: Request,
    form: FormFields,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> RedirectResponse:
    chosen = form_list(request, "objective")
    try:
        body = SuggestionRequest(
            team=team_id, cycle=form.get("cycle") or None, objectives=chosen or "suggest"
        )
        check_suggestion_request(session, org_id, body)
    except (DomainError, ValueError) as exc:
        return _back(org_id, team_id, problem=_message(exc))
    params = body.model_dump(mode="json", exclude_none=True)
    job = enqueue(session, org_id, "draft_suggestions", params, requested_by=principal.name).job
    return _back(org_id, team_id, job=job.id)


@router.post("/orgs/{org_id}/team/{team_id}/summary")
def summary_form(
    org_id: str, team_id: str, form: FormFields, session: SessionDep, principal: CurrentPrincipal
) -> RedirectResponse:
    body = SummaryRequest(team=team_id, cycle=form.get("cycle") or None)
    check_summary_request(session, org_id, body)
    params = body.model_dump(mode="json", exclude_none=True)
    job = enqueue(session, org_id, "draft_summary", params, requested_by=principal.name).job
    return _back(org_id, team_id, job=job.id)


def _team_draft(session: Any, org_id: str, team_id: str, draft_id: str) -> store.Draft:
    draft = store.get_draft(session, org_id, draft_id)
    if draft.team_id != team_id:
        raise NotFound(f"draft {draft_id!r} is not one of team {team_id!r}'s")
    return draft


def edited_payload(payload: dict[str, Any], form: dict[str, str]) -> dict[str, Any]:
    """The AI's suggestion set with the texts a person changed in the page's inline form
    (titles, descriptions, key-result titles); numbers and citations stay the AI's."""
    suggestions = []
    for i, s in enumerate(payload.get("suggestions", [])):
        krs = [
            {**kr, "title": (form.get(f"s{i}_kr{j}") or kr["title"]).strip()}
            for j, kr in enumerate(s["key_results"])
        ]
        description = form.get(f"s{i}_description", s.get("description") or "").strip()
        suggestions.append(
            {
                **s,
                "title": (form.get(f"s{i}_title") or s["title"]).strip(),
                "description": description or None,
                "key_results": krs,
            }
        )
    return {**payload, "suggestions": suggestions}


@router.post("/orgs/{org_id}/team/{team_id}/drafts/{draft_id}/approve")
def approve_form(
    org_id: str,
    team_id: str,
    draft_id: str,
    form: FormFields,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> RedirectResponse:
    draft = _team_draft(session, org_id, team_id, draft_id)
    edited = None
    if draft.kind == "suggestion" and draft.payload:
        content = {k: v for k, v in draft.payload.items() if k == "suggestions"}
        changed = edited_payload(content, form)
        edited = changed if changed != content else None
    try:
        with session.begin_nested():  # a refused edit leaves nothing half-written
            result = approve.approve_draft(
                session, org_id, draft_id, decided_by=principal.name, edited=edited
            )
    except DomainError as exc:
        return _back(org_id, team_id, problem=f"{draft_id} not approved: {_message(exc)}")
    created = ", ".join(result.get("created_records") or []) or "nothing new"
    return _back(org_id, team_id, notice=f"{draft_id} {result['status']}: created {created}")


@router.post("/orgs/{org_id}/team/{team_id}/drafts/{draft_id}/reject")
def reject_form(
    org_id: str,
    team_id: str,
    draft_id: str,
    form: FormFields,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> RedirectResponse:
    _team_draft(session, org_id, team_id, draft_id)
    reason = (form.get("reason") or "").strip()[:2000]
    if not reason:
        return _back(org_id, team_id, problem="say why you reject the draft")
    approve.reject_draft(session, org_id, draft_id, decided_by=principal.name, reason=reason)
    return _back(org_id, team_id, notice=f"{draft_id} rejected")


def _message(exc: Exception) -> str:
    if isinstance(exc, DomainError):
        details = "; ".join(
            f"{d.get('path', '')}: {d.get('message', '')}"
            for d in (exc.details if isinstance(exc.details, list) else [])
        )
        return f"{exc.message}" + (f" ({details})" if details else "")
    return str(exc).splitlines()[0][:300]

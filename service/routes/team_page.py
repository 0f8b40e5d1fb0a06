"""The team page: a team lead's OKRs, suggestions to request, drafts to approve, edit or reject.

Forms post here (URL-encoded, with the page's CSRF token in the action URL, like every cookie
write); drafting runs as a job, and the page follows it (`?job=`) until the draft is there.
A form the page refuses comes back as the page itself (422) with what the person entered and a
message beside each field at fault, never as a redirect that loses the entries.
"""

import re
from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import parse_qs, quote, urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError

from alignment.access.principal import Role
from alignment.drafting import approve, store
from alignment.drafting.draft import check_suggestion_request, check_summary_request
from alignment.drafting.schemas import MAX_OBJECTIVES, SuggestionRequest, SummaryRequest
from alignment.errors import DomainError, Invalid, NotFound, field_message
from alignment.jobs import enqueue
from alignment.jobs import views as job_views
from alignment.repository import require_org
from alignment.team_view import team_view
from service.auth import SESSION_COOKIE, CurrentPrincipal, form_token
from service.deps import SessionDep
from service.routes.pages import REJECT_REASON_NEEDED, FormFields, decided_at_text, form_list
from service.templating import page

router = APIRouter(include_in_schema=False)
# The one page with a script of its own (the live parent suggestion), served from this site.
TEAM_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; script-src 'self'; connect-src 'self'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
TOO_MANY_OBJECTIVES = f"Choose at most {MAX_OBJECTIVES} objectives"
# The suggestion schema's limits (schemas.Short, schemas.Text), checked here first so the page
# can say them in plain words beside the field.
TITLE_MAX, DESCRIPTION_MAX = 300, 2000


async def _form_with_blanks(request: Request) -> dict[str, str]:
    # The shared form reader drops empty fields; an edit form needs them, or a cleared
    # description or title would quietly come back as the AI's text.
    body = (await request.body())[:65536].decode("utf-8", "replace")
    return {k: v[0] for k, v in parse_qs(body, keep_blank_values=True).items()}


EditFields = Annotated[dict[str, str], Depends(_form_with_blanks)]


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
    shown_job = None
    if job is not None:
        try:
            found = job_views.get(session, org_id, job)
            if principal.role is not Role.team_lead or found.requested_by == principal.name:
                shown_job = job_views.render(found)
        except NotFound:
            pass
    return _render(
        request,
        session,
        principal,
        org_id,
        team_id,
        job=shown_job,
        problem=(problem or "")[:500] or None,
        notice=(notice or "")[:500] or None,
    )


def _render(
    request: Request,
    session: Any,
    principal: Any,
    org_id: str,
    team_id: str,
    *,
    entered: dict[str, Any] | None = None,
    status_code: int = 200,
    **shown: Any,
) -> HTMLResponse:
    """The page; `entered` is a refused form ("suggest" or a draft id) with its fields and the
    message per field, shown in place of the stored values."""
    org = require_org(session, org_id)
    return page(
        "team.html.j2",
        csp=TEAM_CSP,
        status_code=status_code,
        v=team_view(session, org_id, team_id),
        org={"id": org.id, "name": org.name},
        token=form_token(request.cookies.get(SESSION_COOKIE, "")),
        job=shown.get("job"),
        problem=shown.get("problem"),
        notice=shown.get("notice"),
        entered=entered,
        max_objectives=MAX_OBJECTIVES,
        too_many_objectives=TOO_MANY_OBJECTIVES,
        reason_needed=REJECT_REASON_NEEDED,
        can_draft=principal.role in (Role.admin, Role.strategy_office, Role.team_lead),
        signed_in=principal.name,
    )


SUGGEST_FIELDS = ("objectives", "cycle")  # the request's fields the form has a place for


def _suggest_field(name: str) -> str | None:
    return name if name in SUGGEST_FIELDS else None


@router.post("/orgs/{org_id}/team/{team_id}/suggest", response_model=None)
def suggest_form(
    org_id: str,
    team_id: str,
    request: Request,
    form: FormFields,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> RedirectResponse | HTMLResponse:
    chosen = form_list(request, "objective")
    errors: dict[str, str] = {}
    if len(chosen) > MAX_OBJECTIVES:  # the request's own rule, said as the page asks it
        errors["objectives"] = TOO_MANY_OBJECTIVES
    else:
        try:
            body = SuggestionRequest(
                team=team_id, cycle=form.get("cycle") or None, objectives=chosen or "suggest"
            )
            check_suggestion_request(session, org_id, body)
        except ValidationError as exc:  # a forged form: what the browser cannot send
            errors = {
                _suggest_field(str(e["loc"][0])) or "form": field_message(e).removeprefix(
                    "Value error, "
                )
                for e in exc.errors()
            }
        except Invalid as exc:  # an objective or cycle removed since the page was shown
            errors = _by_field(exc, lambda path: _suggest_field(path.removeprefix("$.")))
    if errors:
        entered = {"form": "suggest", "objectives": chosen, "fields": form, "errors": errors}
        return _render(
            request, session, principal, org_id, team_id, entered=entered, status_code=422
        )
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
    # Locked: a decision is judged on the draft's status as the decision itself will find it.
    draft = store.get_draft(session, org_id, draft_id, lock=True)
    if draft.team_id != team_id:
        raise NotFound(f"draft {draft_id!r} is not one of team {team_id!r}'s")
    return draft


def _already(session: Any, draft: store.Draft) -> str:
    """Who decided the draft and when: what a stale form (Back, a second tab) is told."""
    last = store.decisions(session, draft.org_id, draft.id)[-1]
    verb = "rejected" if draft.status == "rejected" else "approved"
    return f"{draft.id} already {verb} (by {last.decided_by} at {decided_at_text(last.decided_at)})"


def edited_payload(payload: dict[str, Any], form: dict[str, str]) -> dict[str, Any]:
    """The AI's suggestion set with the texts a person changed in the page's inline form
    (titles, descriptions, key-result titles); numbers and citations stay the AI's. A field the
    form did not send keeps the AI's text; one sent empty is empty."""
    suggestions = []
    for i, s in enumerate(payload.get("suggestions", [])):
        krs = [
            {**kr, "title": form.get(f"s{i}_kr{j}", kr["title"]).strip()}
            for j, kr in enumerate(s["key_results"])
        ]
        description = form.get(f"s{i}_description", s.get("description") or "").strip()
        suggestions.append(
            {
                **s,
                "title": form.get(f"s{i}_title", s["title"]).strip(),
                "description": description or None,
                "key_results": krs,
            }
        )
    return {**payload, "suggestions": suggestions}


def edit_problems(payload: dict[str, Any], form: dict[str, str]) -> dict[str, str]:
    """The edited texts the schema would refuse, by form field, in plain words."""
    checks = []  # (field, what it is, may it be empty, longest)
    for i, s in enumerate(payload.get("suggestions", [])):
        checks.append((f"s{i}_title", "A title", False, TITLE_MAX))
        checks.append((f"s{i}_description", "A description", True, DESCRIPTION_MAX))
        checks += [
            (f"s{i}_kr{j}", "A key result", False, TITLE_MAX) for j in range(len(s["key_results"]))
        ]
    problems = {}
    for field, what, may_be_empty, longest in checks:
        text = form.get(field)
        if text is None:
            continue
        if not text.strip() and not may_be_empty:
            problems[field] = f"{what} cannot be empty"
        elif len(text.strip()) > longest:
            problems[field] = f"{what} can be at most {longest} characters"
    return problems


# "$.edited.suggestions[0].key_results[1].title" -> the page's field "s0_kr1"
EDITED_PATH = re.compile(
    r"\$\.edited\.suggestions\[(\d+)\]\.(?:(title|description)|key_results\[(\d+)\]\.title)"
)


def _edited_field(path: str) -> str | None:
    found = EDITED_PATH.fullmatch(path)
    if found is None:
        return None
    i, text, kr = found.groups()
    return f"s{i}_{text}" if text else f"s{i}_kr{kr}"


@router.post("/orgs/{org_id}/team/{team_id}/drafts/{draft_id}/approve", response_model=None)
def approve_form(
    org_id: str,
    team_id: str,
    draft_id: str,
    request: Request,
    form: EditFields,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> RedirectResponse | HTMLResponse:
    draft = _team_draft(session, org_id, team_id, draft_id)
    if draft.status in approve.APPROVED:  # approving again would create nothing: say so
        return _back(org_id, team_id, notice=f"{_already(session, draft)}; nothing new was created")
    edited = None
    errors: dict[str, str] = {}
    if draft.kind == "suggestion" and draft.payload:
        content = {k: v for k, v in draft.payload.items() if k == "suggestions"}
        errors = edit_problems(content, form)
        changed = edited_payload(content, form)
        edited = changed if changed != content else None
    status = 422
    if not errors:
        try:
            with session.begin_nested():  # a refused edit leaves nothing half-written
                result = approve.approve_draft(
                    session, org_id, draft_id, decided_by=principal.name, edited=edited
                )
        except DomainError as exc:
            errors, status = _by_field(exc, _edited_field), exc.status
        else:
            created = ", ".join(result.get("created_records") or []) or "nothing new"
            notice = f"{draft_id} {result['status']}: created {created}"
            return _back(org_id, team_id, notice=notice)
    entered = {"form": draft_id, "fields": form, "errors": errors}
    return _render(
        request, session, principal, org_id, team_id, entered=entered, status_code=status
    )


@router.post("/orgs/{org_id}/team/{team_id}/drafts/{draft_id}/reject", response_model=None)
def reject_form(
    org_id: str,
    team_id: str,
    draft_id: str,
    request: Request,
    form: EditFields,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> RedirectResponse | HTMLResponse:
    draft = _team_draft(session, org_id, team_id, draft_id)
    if draft.status == "rejected":  # a stale form: the first reason stands
        return _back(org_id, team_id, notice=_already(session, draft))
    reason = (form.get("reason") or "").strip()[:2000]
    if not reason:
        entered = {"form": draft_id, "fields": form, "errors": {"reason": REJECT_REASON_NEEDED}}
        return _render(
            request, session, principal, org_id, team_id, entered=entered, status_code=422
        )
    approve.reject_draft(session, org_id, draft_id, decided_by=principal.name, reason=reason)
    return _back(org_id, team_id, notice=f"{draft_id} rejected")


def _by_field(exc: DomainError, field_for: Callable[[str], str | None]) -> dict[str, str]:
    """An error's details by the page's field (`field_for` maps a detail's path to one); what
    names no field goes under "form", shown above the form's fields."""
    errors: dict[str, str] = {}
    unplaced = []
    for d in exc.details if isinstance(exc.details, list) else []:
        message = str(d.get("message", ""))
        field = field_for(str(d.get("path", "")))
        if field:
            errors.setdefault(field, message)
        else:
            unplaced.append(message)
    if unplaced or not errors:
        errors["form"] = exc.message + (f": {'; '.join(unplaced)}" if unplaced else "")
    return errors

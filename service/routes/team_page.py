"""The team page: a team lead's OKRs, suggestions to request, drafts to approve, edit or reject.

Forms post here (URL-encoded, with the page's CSRF token in the action URL, like every cookie
write); drafting runs as a job, and the page follows it (`?job=`) until the draft is there.
After a decision the page is sent to `?decided=<draft>` and says what the stored decision is:
the query names a draft, never a message, so nobody can make the page say something with a link.
Each decided draft shows its stored decision (who, when, the reason, the OKRs it created).
A form the page refuses comes back as the page itself (422) with what the person entered and a
message beside each field at fault, never as a redirect that loses the entries.
"""

from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session

from alignment.access.principal import Principal, Role
from alignment.drafting import approve, cycles, sources, store
from alignment.drafting.draft import check_suggestion_request, check_summary_request
from alignment.drafting.schemas import MAX_OBJECTIVES, SuggestionRequest, SummaryRequest
from alignment.errors import Conflict, DomainError, Invalid, NotFound, field_message
from alignment.jobs import enqueue
from alignment.jobs import views as job_views
from alignment.jobs.cancel import cancel, may_cancel
from alignment.repository import require_org
from alignment.team_view import team_view
from service.auth import SESSION_COOKIE, CurrentPrincipal, form_token
from service.deps import SessionDep, write_nothing
from service.permissions import DECIDERS, may_open
from service.routes import review_notices
from service.routes.drafts import may_define_cycle
from service.routes.forms import (
    REJECT_REASON_NEEDED,
    EditFields,
    FormFields,
    decided_at_text,
    errors_by_field,
    form_list,
    model_problems,
    refused_fields,
    reject_reason,
)
from service.routes.gate_words import failed_gate_sentences
from service.routes.job_words import job_declined, job_failure
from service.routes.nav import org_nav
from service.routes.team_page_edits import edited_field, number_text, suggestion_edits
from service.templating import FORMS_CSP, page

router = APIRouter(include_in_schema=False)
# The page's scripts come from this site; the live parent suggestion also asks the server.
TEAM_CSP = f"{FORMS_CSP}; connect-src 'self'"
TOO_MANY_OBJECTIVES = f"Choose at most {MAX_OBJECTIVES} objectives"
# A draft someone decided: a form that still shows it pending (Back, a tab left open) changes
# nothing, whoever decided it and wherever (this page or the review queue).
DECIDED = (*approve.APPROVED, "rejected")
# The request's fields the suggest form has a place for; errors about others go above the form.
SUGGEST_FIELDS = ("objectives", "cycle")


def _page_url(org_id: str, team_id: str, **query: Any) -> str:
    base = f"/orgs/{quote(org_id, safe='')}/team/{quote(team_id, safe='')}"
    kept = {k: v for k, v in query.items() if v is not None}
    return f"{base}?{urlencode(kept)}" if kept else base


def _back_to_page(org_id: str, team_id: str, **query: Any) -> RedirectResponse:
    return RedirectResponse(_page_url(org_id, team_id, **query), status_code=303)


@router.get("/orgs/{org_id}/team/{team_id}", response_class=HTMLResponse)
def team_page(
    org_id: str,
    team_id: str,
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    job: int | None = None,
    decided: str | None = None,
    again: bool = False,
) -> HTMLResponse:
    return _render(
        request,
        session,
        principal,
        org_id,
        team_id,
        job=_followed_job(session, principal, org_id, team_id, job) if job is not None else None,
        notice=(
            _decision_notice(session, principal, org_id, team_id, decided, again)
            if decided
            else None
        ),
    )


def _decision_notice(
    session: Session, principal: Principal, org_id: str, team_id: str, draft_id: str, again: bool
) -> str | None:
    """What became of a draft of this team, in the review queue's words (who, what, when), read
    from its stored decision; `again`: a stale form (Back, a tab left open) asked for a decision
    that had already been made, and changed nothing."""
    draft = session.get(store.Draft, {"org_id": org_id, "id": draft_id})
    if draft is None or draft.team_id != team_id:
        return None
    stored = review_notices.draft_decision(session, org_id, draft_id)
    if stored is None:
        return None
    said = review_notices.notice(stored, principal, again)
    cycle = None if again else approve.defined_cycle(session, draft)
    if cycle is not None:  # every team's cycle now, not only this draft's: said, not left to find
        said += (
            f" This approval defined cycle {cycle.id} ({cycle.start} to {cycle.end}) for the "
            "whole organization."
        )
    return said


DRAFTING_KINDS = ("draft_suggestions", "draft_summary")


def _followed_job(
    session: Session, principal: Principal, org_id: str, team_id: str, job_id: int
) -> dict[str, Any] | None:
    """The drafting job the page follows (`?job=`), or None when it is not there to show: a
    team lead sees only the jobs it asked for, as on `/jobs/{id}`, and this page only the
    drafting jobs of its own team (another job's number in the address would otherwise show as
    this team's: a finished scoring job as "Draft ready below")."""
    try:
        job = job_views.get(session, org_id, job_id)
    except NotFound:
        return None
    if principal.role is Role.team_lead and job.requested_by != principal.name:
        return None
    if job.kind not in DRAFTING_KINDS or (job.params or {}).get("team") != team_id:
        return None
    shown = job_views.render(job)
    # A draft dismissed since is no longer listed: the page must not say it is "ready below".
    draft_id = job.result.get("draft_id") if isinstance(job.result, dict) else None
    draft = session.get(store.Draft, {"org_id": org_id, "id": draft_id}) if draft_id else None
    # The stored error is the operators' (the job's JSON, the worker's log): the page gets it
    # in plain words only, so no exception text reaches it.
    declined = job_declined(shown)
    failure = None if declined else job_failure(shown)
    del shown["error"]
    return {
        **shown,
        "failure": failure,
        "declined": declined,
        "draft_dismissed": draft is not None and draft.dismissed_at is not None,
        "may_cancel": may_cancel(principal, job),
        "cancelled_at_text": decided_at_text(job.cancelled_at) if job.cancelled_at else None,
    }


def _render(
    request: Request,
    session: Session,
    principal: Principal,
    org_id: str,
    team_id: str,
    *,
    entered: dict[str, Any] | None = None,
    status_code: int = 200,
    job: dict[str, Any] | None = None,
    notice: str | None = None,
) -> HTMLResponse:
    """The page; `entered` is a refused form ("suggest" or a draft id) with its fields and the
    message per field, shown in place of the stored values."""
    if status_code >= 400:  # a refused form: nothing it asked for was written
        write_nothing(session)
    org = require_org(session, org_id)
    view = team_view(session, org_id, team_id)
    return page(
        "team.html.j2",
        csp=TEAM_CSP,
        status_code=status_code,
        v=view,
        waits_for_cycle=review_notices.waits_for_cycle(principal, view["drafts"], view["cycles"]),
        default_cycle=_default_cycle(session, org_id, principal),
        org={"id": org.id, "name": org.name},
        token=form_token(request.cookies.get(SESSION_COOKIE, "")),
        job=job,
        notice=notice,
        entered=entered,
        max_objectives=MAX_OBJECTIVES,
        too_many_objectives=TOO_MANY_OBJECTIVES,
        reason_needed=REJECT_REASON_NEEDED,
        can_draft=principal.role in DECIDERS,
        may_okr=may_open(principal, "/orgs/{org_id}/okr/{okr_id}"),
        draft_verbs=review_notices.DRAFT_VERBS,
        decided_at_text=decided_at_text,
        number_text=number_text,
        gate_sentences=failed_gate_sentences,
        nav=org_nav(session, principal, org_id, f"team:{team_id}"),
    )


def _default_cycle(session: Session, org_id: str, principal: Principal) -> dict[str, Any] | None:
    """What the suggest form's default cycle comes to now, said on a line of its own beside
    the select (an option's text is cut short on a phone): `id`, `note` (the line) and
    `selected`, the cycle the form starts on ("": the default). When the default comes to a
    cycle the organization has not defined yet and this person may not define it, the line says
    that their draft waits for an admin. The form still starts on the default: past half of a
    cycle, next cycle's OKRs are what a team plans, and a draft for the current one mostly
    repeats the OKRs it already has (the duplicate check refuses it)."""
    ordered = sources.cycles(session, org_id)
    if not ordered:
        return None
    today = cycles.data_today(session, org_id)
    cycle, _, _ = cycles.target_cycle(ordered, today)
    rule = (
        f"Default: the current cycle, or the next once it is more than half over, now {cycle['id']}"
    )
    if not cycle.get("proposed"):
        return {"id": cycle["id"], "note": f"{rule}.", "selected": ""}
    if may_define_cycle(principal):
        note = (
            f"{rule}, which the organization has not defined yet: approving a draft for it "
            "defines it."
        )
        return {"id": cycle["id"], "note": note, "selected": ""}
    note = (
        f"{rule}, which the organization has not defined yet: a draft for it waits until an "
        "admin defines the cycle (or approves the draft, which defines it)."
    )
    return {"id": cycle["id"], "note": note, "selected": ""}


def _refused(
    request: Request,
    session: Session,
    principal: Principal,
    org_id: str,
    team_id: str,
    entered: dict[str, Any],
    *,
    status_code: int = 422,
) -> HTMLResponse:
    """The page again with the refused form as the person filled it in."""
    return _render(
        request, session, principal, org_id, team_id, entered=entered, status_code=status_code
    )


def _start_drafting(
    session: Session, principal: Principal, org_id: str, team_id: str, kind: str, body: BaseModel
) -> RedirectResponse:
    """Queue the drafting job and send the page to follow it."""
    params = body.model_dump(mode="json", exclude_none=True)
    job = enqueue(session, org_id, kind, params, requested_by=principal.name).job
    return _back_to_page(org_id, team_id, job=job.id)


# --- requesting drafts ------------------------------------------------------------------------


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
    body, errors = _suggestion_request(session, org_id, team_id, form, chosen)
    if body is None:
        entered = {"form": "suggest", "objectives": chosen, "fields": form, "errors": errors}
        return _refused(request, session, principal, org_id, team_id, entered)
    return _start_drafting(session, principal, org_id, team_id, "draft_suggestions", body)


def _suggestion_request(
    session: Session, org_id: str, team_id: str, form: dict[str, str], chosen: list[str]
) -> tuple[SuggestionRequest | None, dict[str, str]]:
    """The suggest form as a checked request, or None and its errors by the form's field."""
    if len(chosen) > MAX_OBJECTIVES:  # the request's own rule, said as the page asks it
        return None, {"objectives": TOO_MANY_OBJECTIVES}
    try:
        body = SuggestionRequest(
            team=team_id, cycle=form.get("cycle") or None, objectives=chosen or "suggest"
        )
        check_suggestion_request(session, org_id, body)
    except ValidationError as exc:  # a forged form: what the browser cannot send
        return None, {
            _suggest_field(str(e["loc"][0])) or "form": field_message(e).removeprefix(
                "Value error, "
            )
            for e in exc.errors()
        }
    except Invalid as exc:  # an objective or cycle removed since the page was shown
        return None, errors_by_field(exc, lambda path: _suggest_field(path.removeprefix("$.")))
    return body, {}


def _suggest_field(name: str) -> str | None:
    return name if name in SUGGEST_FIELDS else None


@router.post("/orgs/{org_id}/team/{team_id}/summary")
def summary_form(
    org_id: str, team_id: str, form: FormFields, session: SessionDep, principal: CurrentPrincipal
) -> RedirectResponse:
    try:
        body = SummaryRequest(team=team_id, cycle=form.get("cycle") or None)
    except ValidationError as exc:  # a forged form: the page's own sends no cycle
        raise refused_fields(model_problems(exc)) from exc
    check_summary_request(session, org_id, body)
    return _start_drafting(session, principal, org_id, team_id, "draft_summary", body)


@router.post("/orgs/{org_id}/team/{team_id}/jobs/{job_id}/cancel")
def cancel_form(
    org_id: str,
    team_id: str,
    job_id: int,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> RedirectResponse:
    """Cancel the drafting job the page follows, and show the page again: it says who cancelled
    it (or that it stops at its next step). A form from a page left open after the job ended
    changes nothing, nor is audited: the page shows how the job ended."""
    if _followed_job(session, principal, org_id, team_id, job_id) is None:
        raise NotFound(f"job {job_id} is not a drafting job of team {team_id!r}")
    try:
        done = cancel(session, job_id, principal=principal)
    except Conflict:
        write_nothing(session)
        return _back_to_page(org_id, team_id, job=job_id)
    if not done.changed:
        write_nothing(session)
    return _back_to_page(org_id, team_id, job=job_id)


# --- deciding drafts --------------------------------------------------------------------------


def _team_draft(session: Session, org_id: str, team_id: str, draft_id: str) -> store.Draft:
    # Locked: a decision is judged on the draft's status as the decision itself will find it.
    draft = store.get_draft(session, org_id, draft_id, lock=True)
    if draft.team_id != team_id:
        raise NotFound(f"draft {draft_id!r} is not one of team {team_id!r}'s")
    return draft


# What to do with edits an earlier decision left unapplied, by that decision.
KEPT_EDITS = {
    "approved": "They are kept below as you typed them: compare them with the OKRs it created, "
    "and change those if yours should stand.",
    "rejected": "They are kept below as you typed them: ask for a new draft, or write the OKR "
    "yourself, if yours should stand.",
}


def _drops_edits(
    session: Session, draft: store.Draft, edited: dict[str, Any] | None, errors: dict[str, str]
) -> bool:
    """Whether answering this approval of a decided draft as a retry would drop what the
    person typed: edits the standing decision did not make, as the drafts API judges them
    (a 409 there too). A form that changed nothing, or repeats the edits approved, is a
    retry."""
    if errors:  # numbers that are none cannot be what was approved
        return True
    if edited is None:
        return False
    if draft.status not in approve.APPROVED:  # rejected: no edit of it was ever applied
        return True
    try:
        return approve.edits_differ(session, draft, edited)
    except DomainError:  # edits the schema refuses were not the ones approved either
        return True


def _conflict(
    request: Request,
    session: Session,
    principal: Principal,
    draft: store.Draft,
    form: dict[str, str],
    errors: dict[str, str],
    kept: str,
    said: str,
) -> HTMLResponse:
    """A form on a draft decided since the page was shown (another tab, another person) that
    asked for something else: the page again (409) saying who decided what and when, with
    what was typed kept in its fields ("edits" or "reason"), since a redirect would lose it."""
    stored = review_notices.draft_decision(session, draft.org_id, draft.id)
    who = "you" if stored.by == principal.name else stored.by
    decided = f"{stored.what} by {who} at {decided_at_text(stored.at)}"
    reason = store.decisions(session, draft.org_id, draft.id)[-1].reason
    if draft.status == "rejected" and reason:
        decided += f' with the reason "{reason}"'
    entered = {
        "form": draft.id,
        "fields": form,
        "errors": errors,
        "kept": kept,
        "conflict": f"Draft {draft.id} was already {decided}; {said}",
    }
    return _refused(
        request, session, principal, draft.org_id, draft.team_id, entered, status_code=409
    )


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
    edited, errors = suggestion_edits(draft, form)
    if draft.status in DECIDED:  # a stale form: the decision made stands, and the page says so
        if _drops_edits(session, draft, edited, errors):
            what = "approved" if draft.status in approve.APPROVED else "rejected"
            said = f"your edits were not applied and nothing was created. {KEPT_EDITS[what]}"
            return _conflict(request, session, principal, draft, form, errors, "edits", said)
        write_nothing(session)  # a decision already made: nothing changed, nor is audited
        return _back_to_page(org_id, team_id, decided=draft_id, again=1)
    status = 422
    if not errors:
        try:
            with session.begin_nested():  # a refused edit leaves nothing half-written
                approve.approve_draft(
                    session,
                    org_id,
                    draft_id,
                    decided_by=principal.name,
                    edited=edited,
                    may_define_cycle=may_define_cycle(principal),
                )
        except DomainError as exc:
            errors, status = errors_by_field(exc, edited_field), exc.status
        else:
            return _back_to_page(org_id, team_id, decided=draft_id)
    entered = {"form": draft_id, "fields": form, "errors": errors}
    return _refused(request, session, principal, org_id, team_id, entered, status_code=status)


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
    reason, refused = reject_reason(form)
    if draft.status in DECIDED:  # a stale form: the decision made (and its reason) stands
        if not refused and review_notices.rejection_dropped(session, draft, reason):
            said = (
                "it was not rejected, and your reason below was not recorded."
                if draft.status in approve.APPROVED
                else "your reason below was not recorded: the first reason stands."
            )
            return _conflict(request, session, principal, draft, form, {}, "reason", said)
        write_nothing(session)  # a decision already made: nothing changed, nor is audited
        return _back_to_page(org_id, team_id, decided=draft_id, again=1)
    if refused:
        entered = {"form": draft_id, "fields": form, "errors": {"reason": refused}}
        return _refused(request, session, principal, org_id, team_id, entered)
    approve.reject_draft(session, org_id, draft_id, decided_by=principal.name, reason=reason)
    return _back_to_page(org_id, team_id, decided=draft_id)


@router.post("/orgs/{org_id}/team/{team_id}/drafts/{draft_id}/dismiss")
def dismiss_form(
    org_id: str, team_id: str, draft_id: str, session: SessionDep, principal: CurrentPrincipal
) -> RedirectResponse:
    """A failed draft set aside; a form from a page that still shows it (a second tab) changes
    nothing and says who dismissed it."""
    draft = _team_draft(session, org_id, team_id, draft_id)
    if draft.dismissed_at is not None:
        write_nothing(session)  # a decision already made: nothing changed, nor is audited
        return _back_to_page(org_id, team_id, decided=draft_id, again=1)
    approve.dismiss_draft(session, org_id, draft_id, dismissed_by=principal.name)
    return _back_to_page(org_id, team_id, decided=draft_id)

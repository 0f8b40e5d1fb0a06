"""The review queue's page and its forms (strategy office, admin; server-rendered, all user
text autoescaped). The JSON API of the same queue is `review_queue`.

After a decision the page is sent to `?decided=<kind>&id=<record>` (kind
`okr`, `check-in`, `draft`, or `link` with `&objective=`) and says what the stored decision is,
who made it and when: the query names a record, never a message, so nobody can make the page
say something with a link. A form from a page that no longer shows what is stored (Back, a
second tab) changes nothing, and the page says what stands and whose it is (`&again=1`). A form
the page refuses comes back as the page itself (422), with what the person entered and the
message beside the field, and so does an approval refused for a reason of its own (a cycle only
an admin may define: 409), the reason beside the draft; the script it shares with the team page
(static/refused.js) puts its own address back in the address bar, so reloading does not send the
form again.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from alignment import check_in_review, review
from alignment.access.principal import Principal
from alignment.drafting import approve, store
from alignment.errors import DomainError
from alignment.models import Cycle
from alignment.repository import require_org
from alignment.scoring.feedback import record_feedback
from service.auth import SESSION_COOKIE, CurrentPrincipal, form_token
from service.deps import SessionDep, write_nothing
from service.permissions import may_open
from service.routes import review_notices
from service.routes.drafts import may_define_cycle
from service.routes.forms import (
    REJECT_REASON_NEEDED,
    FormFields,
    errors_by_field,
    id_field,
    note_field,
    refused_fields,
    reject_reason,
)
from service.routes.nav import org_nav
from service.templating import FORMS_CSP, page

router = APIRouter(include_in_schema=False)
# What a check-in's form on the queue says the page showed: nobody's verdict yet. A verdict
# standing when such a form arrives was given after the page was shown.
UNDECIDED = "undecided"
# A Confirm with no objective chosen (the control starts on none, so that the engine's guess is
# never recorded under a person's name by a click): refused beside the control, nothing recorded.
CHOOSE = "Choose the objective this OKR serves, then press Confirm: nothing was recorded."
# The control's tooltip before anything was pressed: what to do, no refusal.
CHOOSE_HINT = "Choose the objective this OKR serves, then press Confirm."


@router.get("/orgs/{org_id}/review", response_class=HTMLResponse)
def review_page(
    org_id: str,
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    decided: str | None = None,
    record: Annotated[str | None, Query(alias="id")] = None,
    objective: str | None = None,
    again: bool = False,
) -> HTMLResponse:
    """The review queue (strategy office, admin): OKRs and check-ins the engine is unsure about,
    declared links the text does not support, and pending drafts, each decided in one click."""
    stored = (
        review_notices.stored_decision(session, org_id, decided, record, objective)
        if decided and record
        else None
    )
    notice = review_notices.notice(stored, principal, again) if stored else None
    return _render_review(request, session, principal, org_id, notice=notice)


def _render_review(
    request: Request,
    session: Session,
    principal: Principal,
    org_id: str,
    *,
    notice: str | None = None,
    entered: dict[str, Any] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """The queue; `entered` is a refused form (a draft's id, its fields, the message per
    field), shown in place of the empty form."""
    if status_code >= 400:  # a refused form: nothing it asked for was written
        write_nothing(session)
    org = require_org(session, org_id)
    drafts = review.pending_drafts(session, org_id)
    return page(
        "review.html.j2",
        csp=FORMS_CSP,
        status_code=status_code,
        org={"id": org.id, "name": org.name},
        items=review.queue(session, org_id),
        objectives=review.objective_choices(session, org_id),
        check_ins=check_in_review.queue(session, org_id),
        unsupported=review.unsupported_declared(session, org_id),
        drafts=drafts,
        waits_for_cycle=review_notices.waits_for_cycle(
            principal, drafts, session.scalars(select(Cycle.id).where(Cycle.org_id == org_id))
        ),
        token=form_token(request.cookies.get(SESSION_COOKIE, "")),
        notice=notice,
        entered=entered,
        undecided=UNDECIDED,
        reason_needed=REJECT_REASON_NEEDED,
        choose_objective=CHOOSE,
        choose_hint=CHOOSE_HINT,
        may_okr=may_open(principal, "/orgs/{org_id}/okr/{okr_id}"),
        nav=org_nav(session, principal, org_id, "review"),
    )


def _already_decided(
    session: Session, org_id: str, kind: str, record: str, *, objective: str | None = None
) -> RedirectResponse:
    """A stale form asked for a decision already made: nothing changed, nor is audited."""
    write_nothing(session)
    return _back_to_review(org_id, kind, record, objective=objective, again=True)


def _back_to_review(
    org_id: str, kind: str, record: str, *, objective: str | None = None, again: bool = False
) -> RedirectResponse:
    """The review queue again, naming what was decided (never saying it: the page reads it)."""
    query = {"decided": kind, "id": record, "objective": objective, "again": 1 if again else None}
    kept = urlencode({k: v for k, v in query.items() if v is not None})
    return RedirectResponse(f"/orgs/{quote(org_id, safe='')}/review?{kept}", status_code=303)


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
    back = {"objective": objective_id}
    # The queue lists only links nobody decided: a decision standing came after the page.
    if review.standing_decision(session, org_id, okr_id, objective_id) is not None:
        return _already_decided(session, org_id, "link", okr_id, **back)
    verdict = "confirmed" if decision == "keep" else "rejected"
    record_feedback(
        session, org_id, okr_id, objective_id, verdict=verdict, decided_by=principal.name
    )
    return _back_to_review(org_id, "link", okr_id, **back)


@router.post("/orgs/{org_id}/review/check-ins/{check_in_id}/{verdict}")
def check_in_form(
    org_id: str,
    check_in_id: str,
    verdict: Literal["drifting", "on_topic"],
    form: FormFields,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> RedirectResponse:
    # The page showed the check-in undecided: a verdict given since (Back, a second tab) stands
    # rather than being flipped by a form that never showed it.
    stale = form.get("shown") == UNDECIDED
    if stale and review_notices.check_in_decision(session, org_id, check_in_id) is not None:
        return _already_decided(session, org_id, "check-in", check_in_id)
    seen = form.get("seen") or None  # the check-in's text as the page showed it
    check_in_review.decide(
        session, org_id, check_in_id, verdict=verdict, decided_by=principal.name, seen=seen
    )
    return _back_to_review(org_id, "check-in", check_in_id)


def _decided_draft(session: Session, org_id: str, draft_id: str) -> bool:
    # Locked: judged on the draft's status as the decision itself will find it.
    store.get_draft(session, org_id, draft_id, lock=True)
    return review_notices.draft_decision(session, org_id, draft_id) is not None


@router.post("/orgs/{org_id}/review/drafts/{draft_id}/approve", response_model=None)
def approve_draft_form(
    org_id: str, draft_id: str, request: Request, session: SessionDep, principal: CurrentPrincipal
) -> RedirectResponse | HTMLResponse:
    if _decided_draft(session, org_id, draft_id):  # a stale form: the decision made stands
        return _already_decided(session, org_id, "draft", draft_id)
    try:
        with session.begin_nested():  # a refused approval leaves nothing half-written
            approve.approve_draft(
                session,
                org_id,
                draft_id,
                decided_by=principal.name,
                may_define_cycle=may_define_cycle(principal),
            )
    except DomainError as exc:
        # Refused for a reason of its own (a cycle only an admin may define, an objective
        # deleted since), not because the page is stale: the queue says why beside the draft,
        # as the team page does, rather than an error page claiming something changed.
        entered = {"form": draft_id, "fields": {}, "errors": errors_by_field(exc, _no_field)}
        return _render_review(
            request, session, principal, org_id, entered=entered, status_code=exc.status
        )
    return _back_to_review(org_id, "draft", draft_id)


def _no_field(path: str) -> None:
    """The queue's draft forms have no field for the draft's text: every detail goes above."""
    return None


@router.post("/orgs/{org_id}/review/drafts/{draft_id}/reject", response_model=None)
def reject_draft_form(
    org_id: str,
    draft_id: str,
    request: Request,
    form: FormFields,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> RedirectResponse | HTMLResponse:
    if _decided_draft(session, org_id, draft_id):  # a stale form: the first reason stands
        stale = review_notices.stale_rejection(session, org_id, draft_id, principal, form)
        if stale is not None:  # approved since: said as a refusal, the reason kept (409)
            return _render_review(
                request, session, principal, org_id, entered=stale, status_code=409
            )
        return _already_decided(session, org_id, "draft", draft_id)
    reason, refused = reject_reason(form)
    if refused:
        entered = {"form": draft_id, "fields": form, "errors": {"reason": refused}}
        return _render_review(request, session, principal, org_id, entered=entered, status_code=422)
    approve.reject_draft(session, org_id, draft_id, decided_by=principal.name, reason=reason)
    return _back_to_review(org_id, "draft", draft_id)


@router.post("/orgs/{org_id}/review/{okr_id}/confirm", response_model=None)
def confirm_form(
    org_id: str,
    okr_id: str,
    request: Request,
    form: FormFields,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> RedirectResponse | HTMLResponse:
    # The queue lists OKRs nobody decided: a decision standing came after the page was shown
    # (Back, a second tab), and confirming over it would only change its name and time.
    if review_notices.okr_decision(session, org_id, okr_id) is not None:
        return _already_decided(session, org_id, "okr", okr_id)
    if not (form.get("objective_id") or "").strip():  # the control starts on no objective
        entered = {"form": f"okr:{okr_id}", "fields": form, "errors": {"objective_id": CHOOSE}}
        return _render_review(request, session, principal, org_id, entered=entered, status_code=422)
    objective_id = id_field(form, "objective_id")
    review.confirm(session, org_id, okr_id, objective_id, decided_by=principal.name)
    return _back_to_review(org_id, "okr", okr_id)


@router.post("/orgs/{org_id}/review/{okr_id}/reject")
def reject_form(
    org_id: str, okr_id: str, form: FormFields, session: SessionDep, principal: CurrentPrincipal
) -> RedirectResponse:
    if review_notices.okr_decision(session, org_id, okr_id) is not None:  # as confirm_form
        return _already_decided(session, org_id, "okr", okr_id)
    try:
        note = note_field(form, "note") or None
    except ValueError as exc:
        raise refused_fields({"note": str(exc)}) from exc
    review.reject(session, org_id, okr_id, decided_by=principal.name, note=note)
    return _back_to_review(org_id, "okr", okr_id)

"""Pages for the people who decide (server-rendered; all user text autoescaped).

The review queue: after a decision the page is sent to `?decided=<kind>&id=<record>` (kind
`okr`, `check-in`, `draft`, or `link` with `&objective=`) and says what the stored decision is,
who made it and when: the query names a record, never a message, so nobody can make the page
say something with a link. A form from a page that no longer shows what is stored (Back, a
second tab) changes nothing, and the page says what stands and whose it is (`&again=1`). A form
the page refuses comes back as the page itself (422), with what the person entered and the
message beside the field.
"""

from datetime import datetime
from typing import Annotated, Any, Literal, NamedTuple
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from alignment import check_in_review, review
from alignment.access.principal import Principal
from alignment.detail_views import objective_detail, okr_detail
from alignment.drafting import approve, store
from alignment.models import CheckIn, CheckInFeedback, LinkFeedback, ScoredLink
from alignment.repository import require_org
from alignment.scoring.drift_decisions import judged_hash
from alignment.scoring.feedback import record_feedback
from alignment.scoring.reads import ON_THE_JUDGED_TEXT
from alignment.strategy_map import strategy_map
from service.auth import SESSION_COOKIE, CurrentPrincipal, form_token
from service.deps import SessionDep
from service.permissions import may_open
from service.routes.forms import REJECT_REASON_NEEDED, FormFields, decided_at_text, note_field
from service.templating import page

router = APIRouter(include_in_schema=False)
# What a check-in's form on the queue says the page showed: nobody's verdict yet. A verdict
# standing when such a form arrives was given after the page was shown.
UNDECIDED = "undecided"
CHECK_IN_VERDICTS = {"drifting": "about other work, not its OKR", "on_topic": "about its OKR"}
DRAFT_VERBS = {
    "approved": "approved",
    "edited_and_approved": "approved with edits",
    "rejected": "rejected",
}


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
    decided: str | None = None,
    record: Annotated[str | None, Query(alias="id")] = None,
    objective: str | None = None,
    again: bool = False,
) -> HTMLResponse:
    """The review queue (strategy office, admin): OKRs and check-ins the engine is unsure about,
    declared links the text does not support, and pending drafts, each decided in one click."""
    stored = _stored(session, org_id, decided, record, objective) if decided and record else None
    notice = _notice(stored, principal, again) if stored else None
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
    org = require_org(session, org_id)
    return page(
        "review.html.j2",
        status_code=status_code,
        org={"id": org.id, "name": org.name},
        items=review.queue(session, org_id),
        check_ins=check_in_review.queue(session, org_id),
        unsupported=review.unsupported_declared(session, org_id),
        drafts=review.pending_drafts(session, org_id),
        token=form_token(request.cookies.get(SESSION_COOKIE, "")),
        notice=notice,
        entered=entered,
        undecided=UNDECIDED,
        reason_needed=REJECT_REASON_NEEDED,
        may_okr=may_open(principal, "/orgs/{org_id}/okr/{okr_id}"),
        signed_in=principal.name,
    )


# --- what the queue says about a decision -----------------------------------------------------


class Stored(NamedTuple):
    """A decision as stored, in the queue's words: the record ("O-12", "draft D-5"), what was
    decided ("confirmed as serving SO-3"), by whom and when."""

    subject: str
    what: str
    by: str
    at: datetime
    created: tuple[str, ...] = ()  # what an approved draft created
    unchanged: str = "nothing changed"  # what a stale form did


def _notice(stored: Stored, principal: Principal, again: bool) -> str:
    """The status line; `again`: a stale form asked for a decision already made."""
    who = "you" if stored.by == principal.name else stored.by
    said = f"{stored.what} (by {who} at {decided_at_text(stored.at)})"
    if again:
        return f"{stored.subject} already {said}; {stored.unchanged}."
    made = f": created {', '.join(stored.created)}" if stored.created else ""
    return f"Recorded: {stored.subject} {said}{made}."


def _stored(
    session: Session, org_id: str, kind: str, record: str, objective: str | None
) -> Stored | None:
    """The decision the query names, read from what is stored; None for an unknown kind or
    record, or one nobody decided."""
    if kind == "link":
        return _link_decision(session, org_id, record, objective) if objective else None
    readers = {"okr": _okr_decision, "check-in": _check_in_decision, "draft": _draft_decision}
    reader = readers.get(kind)
    return reader(session, org_id, record) if reader else None


def _okr_decision(session: Session, org_id: str, okr_id: str) -> Stored | None:
    """What the queue decided about an OKR and still counts (on its current text): a link
    confirmed, or every candidate it showed rejected (an orphan by a person's decision)."""
    standing = _standing_on_okr(session, org_id, okr_id)
    confirmed = [d for d in standing if d.verdict == "confirmed"]
    if confirmed:
        latest = [d for d in confirmed if d.decided_at == confirmed[0].decided_at]
        serves = ", ".join(d.objective_id for d in latest)
        return Stored(
            okr_id, f"confirmed as serving {serves}", latest[0].decided_by, latest[0].decided_at
        )
    rejected = {d.objective_id: d for d in standing}
    shown = _candidate_ids(session, org_id, okr_id)
    if not shown or not set(shown) <= set(rejected):
        return None
    last = max((rejected[o] for o in shown), key=lambda d: d.decided_at)
    what = f"called an orphan, serving none of {', '.join(shown)}"
    return Stored(okr_id, what, last.decided_by, last.decided_at)


def _standing_on_okr(session: Session, org_id: str, okr_id: str) -> list[Any]:
    """People's decisions on the OKR's links made on its current text, newest first."""
    return list(
        session.execute(
            select(
                LinkFeedback.objective_id,
                LinkFeedback.verdict,
                LinkFeedback.decided_by,
                LinkFeedback.decided_at,
            )
            .join(ScoredLink, ON_THE_JUDGED_TEXT)
            .where(LinkFeedback.org_id == org_id, LinkFeedback.okr_id == okr_id)
            .order_by(LinkFeedback.decided_at.desc(), LinkFeedback.objective_id)
        ).all()
    )


def _candidate_ids(session: Session, org_id: str, okr_id: str) -> list[str]:
    """The objectives the queue shows for the OKR (and a rejection rejects), best first."""
    return list(
        session.scalars(
            select(ScoredLink.objective_id)
            .where(
                ScoredLink.org_id == org_id,
                ScoredLink.okr_id == okr_id,
                ScoredLink.rank <= review.CANDIDATES,
            )
            .order_by(ScoredLink.rank)
        )
    )


def _check_in_decision(session: Session, org_id: str, check_in_id: str) -> Stored | None:
    """A person's verdict on the check-in while it counts (its text and place unchanged)."""
    check_in = session.get(CheckIn, {"org_id": org_id, "id": check_in_id})
    verdict = session.get(CheckInFeedback, {"org_id": org_id, "check_in_id": check_in_id})
    if check_in is None or verdict is None:
        return None
    if verdict.text_hash != judged_hash(check_in.text, check_in.okr_id, check_in.key_result_id):
        return None
    what = f"called {CHECK_IN_VERDICTS[verdict.verdict]} {check_in.okr_id}"
    return Stored(f"check-in {check_in_id}", what, verdict.decided_by, verdict.decided_at)


def _link_decision(session: Session, org_id: str, okr_id: str, objective_id: str) -> Stored | None:
    decision = review.standing_decision(session, org_id, okr_id, objective_id)
    if decision is None:
        return None
    what = "kept" if decision.verdict == "confirmed" else "dropped"
    subject = f"declared link {okr_id} → {objective_id}"
    return Stored(subject, what, decision.decided_by, decision.decided_at)


def _draft_decision(session: Session, org_id: str, draft_id: str) -> Stored | None:
    draft = session.get(store.Draft, {"org_id": org_id, "id": draft_id})
    if draft is None or draft.status not in DRAFT_VERBS:
        return None
    history = store.decisions(session, org_id, draft_id)
    if not history:
        return None
    last = history[-1]
    approved = draft.status in approve.APPROVED
    return Stored(
        f"draft {draft_id}",
        DRAFT_VERBS[draft.status],
        last.decided_by,
        last.decided_at,
        created=tuple(last.created_records) if approved else (),
        unchanged="nothing new was created" if approved else "nothing changed",
    )


def _back_to_review(
    org_id: str, kind: str, record: str, *, objective: str | None = None, again: bool = False
) -> RedirectResponse:
    """The review queue again, naming what was decided (never saying it: the page reads it)."""
    query = {"decided": kind, "id": record, "objective": objective, "again": 1 if again else None}
    kept = urlencode({k: v for k, v in query.items() if v is not None})
    return RedirectResponse(f"/orgs/{quote(org_id, safe='')}/review?{kept}", status_code=303)


# --- the detail pages -------------------------------------------------------------------------


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


# --- deciding in the review queue -------------------------------------------------------------


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
        return _back_to_review(org_id, "link", okr_id, **back, again=True)
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
    if stale and _check_in_decision(session, org_id, check_in_id) is not None:
        return _back_to_review(org_id, "check-in", check_in_id, again=True)
    seen = form.get("seen") or None  # the check-in's text as the page showed it
    check_in_review.decide(
        session, org_id, check_in_id, verdict=verdict, decided_by=principal.name, seen=seen
    )
    return _back_to_review(org_id, "check-in", check_in_id)


def _decided_draft(session: Session, org_id: str, draft_id: str) -> bool:
    # Locked: judged on the draft's status as the decision itself will find it.
    store.get_draft(session, org_id, draft_id, lock=True)
    return _draft_decision(session, org_id, draft_id) is not None


@router.post("/orgs/{org_id}/review/drafts/{draft_id}/approve")
def approve_draft_form(
    org_id: str, draft_id: str, session: SessionDep, principal: CurrentPrincipal
) -> RedirectResponse:
    if _decided_draft(session, org_id, draft_id):  # a stale form: the decision made stands
        return _back_to_review(org_id, "draft", draft_id, again=True)
    approve.approve_draft(session, org_id, draft_id, decided_by=principal.name)
    return _back_to_review(org_id, "draft", draft_id)


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
        return _back_to_review(org_id, "draft", draft_id, again=True)
    reason = note_field(form, "reason")
    if not reason:
        entered = {"form": draft_id, "fields": form, "errors": {"reason": REJECT_REASON_NEEDED}}
        return _render_review(request, session, principal, org_id, entered=entered, status_code=422)
    approve.reject_draft(session, org_id, draft_id, decided_by=principal.name, reason=reason)
    return _back_to_review(org_id, "draft", draft_id)


@router.post("/orgs/{org_id}/review/{okr_id}/confirm")
def confirm_form(
    org_id: str, okr_id: str, form: FormFields, session: SessionDep, principal: CurrentPrincipal
) -> RedirectResponse:
    # The queue lists OKRs nobody decided: a decision standing came after the page was shown
    # (Back, a second tab), and confirming over it would only change its name and time.
    if _okr_decision(session, org_id, okr_id) is not None:
        return _back_to_review(org_id, "okr", okr_id, again=True)
    objective_id = form.get("objective_id", "")
    review.confirm(session, org_id, okr_id, objective_id, decided_by=principal.name)
    return _back_to_review(org_id, "okr", okr_id)


@router.post("/orgs/{org_id}/review/{okr_id}/reject")
def reject_form(
    org_id: str, okr_id: str, form: FormFields, session: SessionDep, principal: CurrentPrincipal
) -> RedirectResponse:
    if _okr_decision(session, org_id, okr_id) is not None:  # as confirm_form
        return _back_to_review(org_id, "okr", okr_id, again=True)
    note = note_field(form, "note") or None
    review.reject(session, org_id, okr_id, decided_by=principal.name, note=note)
    return _back_to_review(org_id, "okr", okr_id)

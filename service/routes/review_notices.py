"""What the review queue says about a decision: read from what is stored, never from the link.

After a decision the queue is sent to `?decided=<kind>&id=<record>`; `stored_decision` reads
the standing decision on that record (None for an unknown kind or record, or one nobody
decided) and `notice` words it, with who made it and when.
"""

from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from alignment import review
from alignment.access.principal import Principal
from alignment.drafting import approve, store
from alignment.models import CheckIn, CheckInFeedback, LinkFeedback, ScoredLink
from alignment.scoring.drift_decisions import judged_hash
from service.routes.forms import decided_at_text

CHECK_IN_VERDICTS = {"drifting": "about other work, not its OKR", "on_topic": "about its OKR"}
DRAFT_VERBS = {
    "approved": "approved",
    "edited_and_approved": "approved with edits",
    "rejected": "rejected",
}


class Stored(NamedTuple):
    """A decision as stored, in the queue's words: the record ("O-12", "draft D-5"), what was
    decided ("confirmed as serving SO-3"), by whom and when."""

    subject: str
    what: str
    by: str
    at: datetime
    created: tuple[str, ...] = ()  # what an approved draft created
    unchanged: str = "nothing changed"  # what a stale form did


def notice(stored: Stored, principal: Principal, again: bool) -> str:
    """The status line; `again`: a stale form asked for a decision already made."""
    who = "you" if stored.by == principal.name else stored.by
    said = f"{stored.what} (by {who} at {decided_at_text(stored.at)})"
    if again:
        return f"{_opening(stored.subject)} already {said}; {stored.unchanged}."
    made = f": created {', '.join(stored.created)}" if stored.created else ""
    return f"Recorded: {stored.subject} {said}{made}."


# The words a subject starts with when it is not a bare OKR id ("draft D-5").
SUBJECT_NOUNS = ("draft ", "check-in ", "declared link ")


def _opening(subject: str) -> str:
    """The subject opening a sentence: its noun capitalized, an id never changed ("o-7")."""
    return subject[0].upper() + subject[1:] if subject.startswith(SUBJECT_NOUNS) else subject


def stored_decision(
    session: Session, org_id: str, kind: str, record: str, objective: str | None
) -> Stored | None:
    """The decision the query names, read from what is stored; None for an unknown kind or
    record, or one nobody decided."""
    if kind == "link":
        return link_decision(session, org_id, record, objective) if objective else None
    readers = {"okr": okr_decision, "check-in": check_in_decision, "draft": draft_decision}
    reader = readers.get(kind)
    return reader(session, org_id, record) if reader else None


def okr_decision(session: Session, org_id: str, okr_id: str) -> Stored | None:
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
    # Judged against any of the OKR's stored links, not the decided pair's own: a pair not
    # stored (a link declared since the last scoring, an objective ranked below the stored
    # ones) has no row until the scoring job the decision queued stores it, and the decision
    # stands meanwhile.
    on_current_text = (
        select(ScoredLink.okr_id)
        .where(
            ScoredLink.org_id == LinkFeedback.org_id,
            ScoredLink.okr_id == LinkFeedback.okr_id,
            ScoredLink.okr_hash == LinkFeedback.okr_hash,
        )
        .exists()
    )
    return list(
        session.execute(
            select(
                LinkFeedback.objective_id,
                LinkFeedback.verdict,
                LinkFeedback.decided_by,
                LinkFeedback.decided_at,
            )
            .where(LinkFeedback.org_id == org_id, LinkFeedback.okr_id == okr_id, on_current_text)
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


def check_in_decision(session: Session, org_id: str, check_in_id: str) -> Stored | None:
    """A person's verdict on the check-in while it counts (its text and place unchanged)."""
    check_in = session.get(CheckIn, {"org_id": org_id, "id": check_in_id})
    verdict = session.get(CheckInFeedback, {"org_id": org_id, "check_in_id": check_in_id})
    if check_in is None or verdict is None:
        return None
    if verdict.text_hash != judged_hash(check_in.text, check_in.okr_id, check_in.key_result_id):
        return None
    what = f"called {CHECK_IN_VERDICTS[verdict.verdict]} {check_in.okr_id}"
    return Stored(f"check-in {check_in_id}", what, verdict.decided_by, verdict.decided_at)


def link_decision(session: Session, org_id: str, okr_id: str, objective_id: str) -> Stored | None:
    decision = review.standing_decision(session, org_id, okr_id, objective_id)
    if decision is None:
        return None
    what = "kept" if decision.verdict == "confirmed" else "dropped"
    subject = f"declared link {okr_id} → {objective_id}"
    return Stored(subject, what, decision.decided_by, decision.decided_at)


def draft_decision(session: Session, org_id: str, draft_id: str) -> Stored | None:
    draft = session.get(store.Draft, {"org_id": org_id, "id": draft_id})
    if draft is not None and draft.dismissed_at is not None and draft.dismissed_by:
        return Stored(f"draft {draft_id}", "dismissed", draft.dismissed_by, draft.dismissed_at)
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

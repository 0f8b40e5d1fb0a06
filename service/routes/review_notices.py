"""What the review queue says about a decision: read from what is stored, never from the link.

After a decision the queue is sent to `?decided=<kind>&id=<record>`; `stored_decision` reads
the standing decision on that record (None for an unknown kind or record, or one nobody
decided) and `notice` words it, with who made it and when.
"""

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy.orm import Session

from alignment import check_in_review, review
from alignment.access.principal import Principal
from alignment.drafting import approve, cycles, store
from alignment.quality import quote
from service.routes.drafts import may_define_cycle
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
    standing = review.standing_on_okr(session, org_id, okr_id)
    confirmed = [d for d in standing if d.verdict == "confirmed"]
    if confirmed:
        latest = [d for d in confirmed if d.decided_at == confirmed[0].decided_at]
        serves = ", ".join(d.objective_id for d in latest)
        return Stored(
            okr_id, f"confirmed as serving {serves}", latest[0].decided_by, latest[0].decided_at
        )
    orphan = review.orphan_decision(session, org_id, okr_id)
    if orphan is None:
        return None
    return Stored(okr_id, orphan_words(orphan), orphan["decided_by"], orphan["decided_at"])


def orphan_words(orphan: dict) -> str:
    """ "called an orphan, serving none of SO-7, SO-10, nor SO-8 that its team declared": the
    declared objectives named apart, as the queue lists them apart from the candidates."""
    said = f"called an orphan, serving none of {', '.join(orphan['candidates'])}"
    if orphan["declared"]:
        said += f", nor {', '.join(orphan['declared'])} that its team declared"
    return said


def check_in_decision(session: Session, org_id: str, check_in_id: str) -> Stored | None:
    """A person's verdict on the check-in while it counts (its text and place unchanged)."""
    standing = check_in_review.standing_verdict(session, org_id, check_in_id)
    if standing is None:
        return None
    check_in, verdict = standing
    what = f"called {CHECK_IN_VERDICTS[verdict.verdict]} {check_in.okr_id}"
    return Stored(f"check-in {check_in_id}", what, verdict.decided_by, verdict.decided_at)


def link_decision(session: Session, org_id: str, okr_id: str, objective_id: str) -> Stored | None:
    decision = review.standing_decision(session, org_id, okr_id, objective_id)
    if decision is None:
        return None
    what = "kept" if decision.verdict == "confirmed" else "dropped"
    # Dropped by calling the OKR an orphan (decided in one go, so at one time): said so, or a
    # stale "Keep" form would seem to have met a decision nobody made on this link.
    orphan = review.orphan_decision(session, org_id, okr_id) if what == "dropped" else None
    if orphan and orphan["decided_at"] == decision.decided_at:
        what = f"dropped when {okr_id} was called an orphan"
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


def rejection_dropped(session: Session, draft: store.Draft, reason: str) -> bool:
    """Whether answering a rejection of a decided draft as a retry would drop the reason typed:
    the draft was approved since (it was not rejected at all), or rejected with another reason
    (the first one stands). The review queue and the team page answer both with a 409 that keeps
    the reason, never with a notice a person who meant to reject could read as done."""
    if draft.status in approve.APPROVED:
        return bool(reason.strip())
    return draft.status == "rejected" and approve.reason_differs(session, draft, reason)


def stale_rejection(
    session: Session, org_id: str, draft_id: str, principal: Principal, fields: Mapping[str, Any]
) -> dict[str, Any] | None:
    """A rejection of a draft decided since the page was shown that would drop its reason
    (`rejection_dropped`), as the queue's refused form (`entered`): what stands, by whom and
    when, and the reason as typed. None when it repeats what stands."""
    stood = draft_decision(session, org_id, draft_id)
    draft = session.get(store.Draft, {"org_id": org_id, "id": draft_id})
    reason = str(fields.get("reason") or "")
    if stood is None or draft is None or not rejection_dropped(session, draft, reason):
        return None
    if draft.status in approve.APPROVED:
        unchanged = "nothing changed: it was not rejected"
    else:
        first = store.decisions(session, org_id, draft_id)[-1].reason or ""
        unchanged = f"nothing changed: the first reason stands ({quote(first)})"
    said = notice(stood._replace(unchanged=unchanged), principal, True)
    return {"form": draft_id, "fields": dict(fields), "errors": {}, "stale": said}


def waits_for_cycle(
    principal: Principal, drafts: list[dict[str, Any]], defined: Iterable[str]
) -> dict[str, str]:
    """Pending drafts this person cannot approve until an admin defines their cycle, each with
    the approval's own refusal (`cycles.undefined_message`): said up front, beside the draft (the
    review queue, the team page), with no Approve button that could only answer 409."""
    if may_define_cycle(principal):
        return {}
    defined = set(defined)
    return {
        d["id"]: cycles.undefined_message(d["cycle"], d["request"]["new_cycle"])
        for d in drafts
        if d["status"] == "pending"
        and (d["request"] or {}).get("new_cycle")
        and d["cycle"] not in defined
    }

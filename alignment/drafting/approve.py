"""Approve stage: a person's decision on a draft, recorded beside the AI's proposal.

`pending` -> `approved` | `edited_and_approved` | `rejected` (with a reason). Approving a
suggestion creates the real OKRs and key results through the record repository, with ids derived
from the draft id (`D-...-O1`, `D-...-O1-KR1`), so approving twice creates them once. Failed
attempts can be read but never approved; a person may dismiss one (set it aside, kept).
"""

from __future__ import annotations

from datetime import UTC
from typing import Any
from urllib.parse import quote as url_quote

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from alignment import repository
from alignment.bundle.validate import json_path
from alignment.drafting import cycles, sources, store
from alignment.drafting.schemas import OUTPUT_SCHEMAS, SuggestionSet
from alignment.errors import Conflict, Invalid, field_message
from alignment.models import Cycle, KeyResult, Okr
from alignment.quality import quote
from alignment.records import KINDS

APPROVED = ("approved", "edited_and_approved")


def _content(payload: dict[str, Any] | None) -> dict[str, Any]:
    return {k: v for k, v in (payload or {}).items() if k != "notice"}


def _validated(draft: store.Draft, edited: dict[str, Any]) -> dict[str, Any]:
    model, _ = OUTPUT_SCHEMAS[draft.kind]
    try:
        parsed = model.model_validate(_content(edited))
    except ValidationError as exc:
        raise Invalid(
            "the edited draft does not fit its schema",
            details=[
                {"path": json_path(("edited", *e["loc"])), "message": field_message(e)}
                for e in exc.errors()
            ],
        ) from exc
    return parsed.model_dump(mode="json")


def approve_draft(
    session: Session,
    org_id: str,
    draft_id: str,
    *,
    decided_by: str,
    edited: dict[str, Any] | None = None,
    may_define_cycle: bool = False,
) -> dict[str, Any]:
    """`may_define_cycle`: whether the person approving may define cycles themselves (the
    service asks its access rules); without it a suggestion for a cycle the organization has
    not defined yet is refused (409) instead of defining it."""
    draft = store.get_draft(session, org_id, draft_id, lock=True)
    if draft.status in APPROVED:
        # A retry is answered with the decision made; other edits would be thrown away unseen.
        if edits_differ(session, draft, edited):
            raise Conflict(f"{_decided(session, draft)}; this request's edits were not applied")
        return approval_result(session, draft)  # idempotent: nothing new is created
    if draft.status != "pending":
        raise Conflict(f"draft {draft_id!r} is {draft.status} and cannot be approved")
    ai = _content(draft.payload)
    final = _validated(draft, edited) if edited is not None else ai
    decision = "edited_and_approved" if final != ai else "approved"
    where = "$.edited" if edited is not None else "$.draft"  # whose text cites the objective
    created = (
        _create_okrs(session, draft, final, where, may_define_cycle)
        if draft.kind == "suggestion"
        else []
    )
    draft.status = decision
    _announce(session, draft, decision, decided_by, created)
    store.add_decision(
        session,
        store.DraftDecision(
            org_id=org_id,
            draft_id=draft.id,
            decision=decision,
            decided_by=decided_by,
            ai_payload=draft.payload,
            edited_payload=final if decision == "edited_and_approved" else None,
            created_records=created,
        ),
    )
    return approval_result(session, draft)


def _announce(
    session: Session, draft: store.Draft, decision: str, decided_by: str, created: list[str]
) -> None:
    """Tell subscribers, and queue scoring for the OKRs an approval created (both in this
    decision's transaction; a repeated approval returns earlier and announces nothing)."""
    from alignment.jobs import SCORE_PARAMS, enqueue
    from alignment.webhooks import emit

    # Made absolute per subscription by emit, as draft.created's link is.
    link = f"/orgs/{url_quote(draft.org_id, safe='')}/drafts/{url_quote(draft.id, safe='')}"
    emit(
        session,
        draft.org_id,
        "draft.decided",
        {
            "draft_id": draft.id,
            "decision": decision,
            "decided_by": decided_by,
            "created_records": created,
            "url": link,
        },
    )
    if created:
        enqueue(session, draft.org_id, "score", SCORE_PARAMS, requested_by=decided_by)


def _create_okrs(
    session: Session,
    draft: store.Draft,
    payload: dict[str, Any],
    where: str,
    may_define_cycle: bool,
) -> list[str]:
    suggestions = SuggestionSet.model_validate(payload).suggestions
    cited = {o for s in suggestions for o in s.objective_ids}
    known = sources.existing_ids(session, draft.org_id, "objective", cited)
    missing = sorted(cited - known)
    if missing:
        raise Invalid(
            f"the draft cites objectives that no longer exist: {', '.join(missing)}",
            details=[
                {
                    "path": f"{where}.suggestions[{i}].objective_ids[{j}]",
                    "message": f"no strategic objective {o!r} in this organization",
                }
                for i, s in enumerate(suggestions)
                for j, o in enumerate(s.objective_ids)
                if o not in known
            ],
        )
    _refuse_restated(session, draft, suggestions, where)
    _refuse_taken_key_result_ids(session, draft, suggestions, where)
    _ensure_cycle(session, draft, may_define_cycle)
    created = []
    for i, s in enumerate(suggestions, start=1):
        okr_id = f"{draft.id}-O{i}"
        created.append(okr_id)
        if (taken := session.get(Okr, {"org_id": draft.org_id, "id": okr_id})) is not None:
            # Made by someone else under the id this approval gives (a pending draft's id is
            # public): answering "created" would report an OKR this draft never made.
            raise Conflict(
                f"OKR {okr_id!r} already exists (team {taken.team_id}, cycle {taken.cycle_id}, "
                f'"{taken.title}") and was not made by this draft; rename or delete it, then '
                "approve again",
                details=[{"path": f"{where}.suggestions[{i - 1}]", "message": "id taken"}],
            )
        repository.create_record(
            session,
            KINDS["okrs"],
            draft.org_id,
            {
                "id": okr_id,
                "team": draft.team_id,
                "cycle": draft.cycle_id,
                "title": s.title,
                "description": s.description,
                "declared_links": list(dict.fromkeys(s.objective_ids)),
                "key_results": [
                    {
                        "id": f"{okr_id}-KR{j}",
                        "title": k.title,
                        "unit": k.unit,
                        "baseline": k.baseline,
                        "target": k.target,
                        "current": None,
                        "kind": k.kind,
                    }
                    for j, k in enumerate(s.key_results, start=1)
                ],
            },
        )
    return created


def _refuse_taken_key_result_ids(
    session: Session, draft: store.Draft, suggestions: list, where: str
) -> None:
    """A key result someone created under an id this approval gives (`D-…-O1-KR1`; a
    pending draft's id is public) is named at the draft's key result, where the caller can
    find it. Left to the record rules it was a 409 at `$.key_results[0].id`, a place in no
    request the caller sent. An OKR that took the draft's OKR id is refused in its own
    words, so its key results are not named twice."""
    wanted = {
        f"{draft.id}-O{i}-KR{j}": (i - 1, j - 1)
        for i, s in enumerate(suggestions, start=1)
        for j, _ in enumerate(s.key_results, start=1)
    }
    taken = session.execute(
        select(KeyResult.id, KeyResult.okr_id)
        .where(KeyResult.org_id == draft.org_id, KeyResult.id.in_(list(wanted)))
        .where(
            KeyResult.okr_id.not_in([f"{draft.id}-O{i}" for i in range(1, len(suggestions) + 1)])
        )
    ).all()
    if not taken:
        return
    found = sorted(taken, key=lambda row: wanted[row.id])
    some = len(found) > 1
    raise Conflict(
        f"approving would give {len(found) if some else 'a'} key result{'s' if some else ''} "
        f"of this draft {'ids that are' if some else 'an id that is'} taken; delete the "
        f"existing key result{'s' if some else ''} (or create {'them' if some else 'it'} again "
        "under another id), then approve again",
        details=[
            {
                "path": "{}.suggestions[{}].key_results[{}]".format(where, *wanted[row.id]),
                "message": f"key result {row.id!r} already exists, under OKR {row.okr_id!r}, "
                "not made by this draft",
            }
            for row in found
        ],
    )


def _same_title(text: str) -> str:
    return " ".join(text.casefold().split())


def _refuse_restated(session: Session, draft: store.Draft, suggestions: list, where: str) -> None:
    """No approval adds an OKR the team already has in the cycle under the same title, nor two
    of them at once: two drafts of one request (a form sent again from Back), or an edit that
    repeats a suggestion, would otherwise become duplicate OKRs. The drafting gate compares with
    the OKRs of the time it drafted; this is the approval's time."""
    mine = f"{draft.id}-O"  # the draft's own OKRs, when an earlier approval of it is retried
    rows = session.execute(
        select(Okr.id, Okr.title).where(
            Okr.org_id == draft.org_id,
            Okr.team_id == draft.team_id,
            Okr.cycle_id == draft.cycle_id,
            ~Okr.id.startswith(mine, autoescape=True),
        )
    ).all()
    existing = {_same_title(title): (okr_id, title) for okr_id, title in rows}
    details: list[dict[str, str]] = []
    earlier: dict[str, int] = {}
    for i, s in enumerate(suggestions):
        key, path = _same_title(s.title), f"{where}.suggestions[{i}].title"
        if key in existing:
            okr_id, title = existing[key]
            message = (
                f"team {draft.team_id!r} already has OKR {okr_id!r} titled {quote(title)} in "
                f"{draft.cycle_id}; edit the title or reject this draft"
            )
            details.append({"path": path, "message": message})
        elif key in earlier:
            message = f"the same title as suggestion {earlier[key]}; each OKR needs its own"
            details.append({"path": path, "message": message})
        earlier.setdefault(key, i)
    if not details:  # a restated title already says it all
        details = _restated_key_results(session, draft, suggestions, where, [r.id for r in rows])
    if details:
        raise Conflict("the draft restates an OKR the team already has", details=details)


def _restated_key_results(
    session: Session, draft: store.Draft, suggestions: list, where: str, okr_ids: list[str]
) -> list[dict[str, str]]:
    """A suggestion whose OKR title was edited still restates the team's work when its key
    results are ones the team already measures in the cycle (the same draft sent twice, one
    approved, the other retitled): named per key result, as the title is."""
    rows = session.execute(
        select(KeyResult.id, KeyResult.okr_id, KeyResult.title).where(
            KeyResult.org_id == draft.org_id, KeyResult.okr_id.in_(okr_ids)
        )
    ).all()
    existing = {_same_title(title): (kr_id, okr_id) for kr_id, okr_id, title in rows}
    details = []
    for i, s in enumerate(suggestions):
        for j, kr in enumerate(s.key_results):
            if found := existing.get(_same_title(kr.title)):
                message = (
                    f"team {draft.team_id!r} already measures this in {draft.cycle_id}: key "
                    f"result {found[0]!r} of OKR {found[1]!r}; edit it or reject this draft"
                )
                path = f"{where}.suggestions[{i}].key_results[{j}].title"
                details.append({"path": path, "message": message})
    return details


def _ensure_cycle(session: Session, draft: store.Draft, may_define_cycle: bool) -> None:
    """Create the cycle a draft proposed (the next one, not yet defined) unless it exists now.
    Cycles are organization-wide: a decider who may not define one (a team lead) would
    otherwise set every team's next quarter by approving its own draft."""
    proposed = (draft.request or {}).get("new_cycle")
    # A mypy quirk: it infers get()'s type from the bool operand of `or`, not from Cycle.
    if not proposed or session.get(Cycle, {"org_id": draft.org_id, "id": draft.cycle_id}):  # type: ignore[arg-type]
        return
    if not may_define_cycle:
        # A draft that proposes a cycle is for that cycle: its cycle_id is set.
        raise Conflict(cycles.undefined_message(draft.cycle_id, proposed))  # type: ignore[arg-type]
    kind = KINDS["cycles"]
    repository.create_record(
        session, kind, draft.org_id, kind.create.model_validate(proposed).model_dump()
    )


def reject_draft(
    session: Session, org_id: str, draft_id: str, *, decided_by: str, reason: str
) -> dict[str, Any]:
    draft = store.get_draft(session, org_id, draft_id, lock=True)
    if draft.status == "rejected":
        if reason_differs(session, draft, reason):  # the first reason stands: say so
            first = store.decisions(session, org_id, draft_id)[-1].reason
            raise Conflict(f"{_decided(session, draft)} with another reason: {first!r}")
        return store.render_draft(draft)
    if draft.status != "pending":
        raise Conflict(f"draft {draft_id!r} is {draft.status} and cannot be rejected")
    draft.status = "rejected"
    _announce(session, draft, "rejected", decided_by, [])
    store.add_decision(
        session,
        store.DraftDecision(
            org_id=org_id,
            draft_id=draft.id,
            decision="rejected",
            decided_by=decided_by,
            reason=reason,
            ai_payload=draft.payload,
        ),
    )
    return store.render_draft(draft)


def dismiss_draft(
    session: Session, org_id: str, draft_id: str, *, dismissed_by: str
) -> dict[str, Any]:
    """Set a failed draft aside: it stays, with its gates and attempts, for the audit trail, but
    no longer waits on the team page. Dismissing again answers as the first time did: the first
    dismissal (who, when) stands."""
    draft = store.get_draft(session, org_id, draft_id, lock=True)
    if draft.status != "failed":
        raise Conflict(
            f"draft {draft_id!r} is {draft.status}: only a failed draft can be dismissed",
            details=[{"path": "path.draft_id", "message": f"the draft is {draft.status}"}],
        )
    if draft.dismissed_at is None:
        draft.dismissed_at, draft.dismissed_by = func.now(), dismissed_by
        session.flush()
        session.refresh(draft, ["dismissed_at"])
    return store.render_draft(draft)


def edits_differ(session: Session, draft: store.Draft, edited: dict[str, Any] | None) -> bool:
    """Whether approving an approved draft again with `edited` would drop edits the first
    approval did not make (None, no edits, repeats any approval). Every caller that answers a
    repeated approval as a retry asks this first, so no edit is lost unseen; edits that do not
    fit the schema are Invalid, as at the first approval."""
    return edited is not None and _validated(draft, edited) != _approved_text(session, draft)


def reason_differs(session: Session, draft: store.Draft, reason: str) -> bool:
    """Whether rejecting a rejected draft again with `reason` would drop it: the first reason
    stands, so only the same one (spacing around it aside) answers as a retry."""
    first = store.decisions(session, draft.org_id, draft.id)[-1].reason
    return (first or "").strip() != reason.strip()


def defined_cycle(session: Session, draft: store.Draft) -> Cycle | None:
    """The cycle the draft's approval defined for the whole organization, or None. Read from
    what is stored, so a retry, or the page shown after the approval's redirect, says the same:
    the cycle the draft proposed, written in the approval's own transaction, which PostgreSQL
    stamps on both rows (`now()` is the transaction's start). A cycle an admin defined before
    the approval, or deleted and defined again since, bears another time."""
    if draft.status not in APPROVED or not (draft.request or {}).get("new_cycle"):
        return None
    history = store.decisions(session, draft.org_id, draft.id)
    cycle = session.get(Cycle, {"org_id": draft.org_id, "id": draft.cycle_id})
    if not history or cycle is None or cycle.created_at != history[-1].decided_at:
        return None
    return cycle


def _approved_text(session: Session, draft: store.Draft) -> dict[str, Any]:
    last = store.decisions(session, draft.org_id, draft.id)[-1]
    return last.edited_payload or _content(draft.payload)


def _decided(session: Session, draft: store.Draft) -> str:
    last = store.decisions(session, draft.org_id, draft.id)[-1]
    when = last.decided_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"draft {draft.id!r} was already {draft.status} by {last.decided_by} at {when}"


def approval_result(session: Session, draft: store.Draft) -> dict[str, Any]:
    history = store.decisions(session, draft.org_id, draft.id)
    last = history[-1] if history else None
    cycle = defined_cycle(session, draft)
    return {
        **store.render_draft(draft),
        "decided_by": last.decided_by if last else None,
        "created_records": last.created_records if last else [],
        "edited_payload": last.edited_payload if last else None,
        # Cycles are the whole organization's: an approval that defined one says so.
        "defined_cycle": cycle.id if cycle is not None else None,
    }


def audit(session: Session, org_id: str, draft_id: str) -> dict[str, Any]:
    draft = store.get_draft(session, org_id, draft_id)
    return {
        "draft": store.render_draft(draft),
        "attempts": draft.attempts,
        "decisions": [store.render_decision(d) for d in store.decisions(session, org_id, draft_id)],
    }

"""The check-ins the engine is unsure about, for a person to decide: about its OKR or not.

A check-in whose drift score lies between the calibration's review and flag levels has the
verdict `needs_review` (alignment/scoring/drift.py): the report asserts nothing about it and it
waits here. A person's verdict (`drifting` or `on_topic`) takes effect at once in the stored
drift row and is kept by every later scoring run while the check-in's text and place are what
they judged (alignment/scoring/drift_decisions.py).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from alignment.errors import Conflict, Invalid, NotFound
from alignment.models import CheckIn, CheckInDrift, CheckInFeedback, Okr
from alignment.repository import record_latest, require_org
from alignment.scoring.drift_decisions import PEOPLE_VERDICTS, judged_hash
from alignment.scoring.feedback import rescore_if_running


def queue(session: Session, org_id: str) -> list[dict[str, Any]]:
    """Check-ins awaiting a person's verdict, the likeliest drift first."""
    return queue_page(session, org_id)[0]


def queue_page(
    session: Session, org_id: str, *, limit: int | None = None, offset: int = 0
) -> tuple[list[dict[str, Any]], int]:
    """`limit` of the queue's check-ins from `offset` (all of them without a limit), as `queue`
    shows them, and how many the whole queue holds: the page is cut in the query (ties in
    score by check-in id, so pages never overlap) and only its rows are read."""
    require_org(session, org_id)
    awaiting = (
        select(CheckInDrift, CheckIn, Okr.title, Okr.cycle_id)
        .join(
            CheckIn,
            (CheckIn.org_id == CheckInDrift.org_id) & (CheckIn.id == CheckInDrift.check_in_id),
        )
        .join(Okr, (Okr.org_id == CheckIn.org_id) & (Okr.id == CheckIn.okr_id))
        .where(CheckInDrift.org_id == org_id, CheckInDrift.verdict == "needs_review")
    )
    page = awaiting.order_by(CheckInDrift.score.desc(), CheckIn.id).offset(offset).limit(limit)
    items = _items(session, org_id, session.execute(page))
    if (items or offset == 0) and (limit is None or len(items) < limit):
        total = offset + len(items)  # the page reached the end: no count needed
    else:
        total = session.scalar(select(func.count()).select_from(awaiting.subquery())) or 0
    return items, total


def _items(session: Session, org_id: str, rows: Any) -> list[dict[str, Any]]:
    """The queue's items for these (drift, check-in, OKR title, OKR cycle) rows, in order."""
    nearest_ids = set()
    items = []
    for d, c, okr_title, okr_cycle in rows:
        nearest = d.evidence.get("nearest_okr_id")
        nearest_ids.add(nearest)
        items.append(
            {
                "check_in_id": c.id,
                "okr_id": c.okr_id,
                "okr_title": okr_title,
                "okr_cycle": okr_cycle,
                "key_result_id": c.key_result_id,
                "date": c.date,
                "text": c.text,
                "score": d.score,
                "nearest_okr_id": nearest,
                # what the person sees; send it back as `seen` to refuse a decision on text
                # that changed meanwhile
                "text_hash": judged_hash(c.text, c.okr_id, c.key_result_id),
            }
        )
    nearest = {
        okr_id: (title, cycle)
        for okr_id, title, cycle in session.execute(
            select(Okr.id, Okr.title, Okr.cycle_id).where(
                Okr.org_id == org_id, Okr.id.in_(nearest_ids)
            )
        )
    }
    for item in items:
        # The cycle too: the closest OKR may be another quarter's, no place for this work.
        title, cycle = nearest.get(item["nearest_okr_id"], (None, None))
        item["nearest_okr_title"], item["nearest_okr_cycle"] = title, cycle
    return items


def standing_verdict(
    session: Session, org_id: str, check_in_id: str
) -> tuple[CheckIn, CheckInFeedback] | None:
    """The check-in and a person's verdict on it while that counts (its text and place
    unchanged since); None without one."""
    check_in = session.get(CheckIn, {"org_id": org_id, "id": check_in_id})
    verdict = session.get(CheckInFeedback, {"org_id": org_id, "check_in_id": check_in_id})
    if check_in is None or verdict is None:
        return None
    if verdict.text_hash != judged_hash(check_in.text, check_in.okr_id, check_in.key_result_id):
        return None
    return check_in, verdict


def decide(
    session: Session,
    org_id: str,
    check_in_id: str,
    *,
    verdict: str,
    decided_by: str,
    note: str | None = None,
    seen: str | None = None,
) -> dict[str, Any]:
    """Record a person's verdict on a check-in (idempotent: the latest verdict wins) and show
    it at once in the stored drift row (or, while a scoring run is under way, once the run
    queued next has applied it). With `seen` (the queue's `text_hash`), a check-in whose
    text or place changed since the person read it is refused instead."""
    if verdict not in PEOPLE_VERDICTS:
        raise Invalid(
            "verdict must be 'drifting' or 'on_topic'",
            details=[{"path": "$.verdict", "message": f"got {verdict!r}"}],
        )
    check_in = session.get(CheckIn, {"org_id": org_id, "id": check_in_id})
    if check_in is None:
        require_org(session, org_id)
        raise NotFound(f"check-in {check_in_id!r} does not exist in organization {org_id!r}")
    judged = judged_hash(check_in.text, check_in.okr_id, check_in.key_result_id)
    if seen is not None and seen != judged:
        raise Conflict(
            f"check-in {check_in_id!r} changed since it was shown (its text, OKR or key "
            "result): read it again before deciding",
            details=[{"path": "$.seen", "message": "does not match the check-in as it is now"}],
        )
    run_under_way = rescore_if_running(session, org_id, decided_by)
    key = {"org_id": org_id, "check_in_id": check_in_id}
    fields = {"verdict": verdict, "text_hash": judged, "decided_by": decided_by, "note": note}
    row = record_latest(session, CheckInFeedback, key, fields)
    # A run under way rewrites every drift row (the update would wait, then find it gone);
    # the run it queued applies the decision instead.
    stored = session.get(CheckInDrift, key) if run_under_way is None else None
    if stored is not None:
        stored.verdict, stored.drifting = verdict, verdict == "drifting"
        stored.evidence = {**stored.evidence, "decided_by": decided_by}
        session.flush()
    return {
        "check_in_id": check_in_id,
        "okr_id": check_in.okr_id,
        "verdict": row.verdict,
        "decided_by": row.decided_by,
        "decided_at": row.decided_at,
        "note": row.note,
    }

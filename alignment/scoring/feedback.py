"""People's decisions on links: recorded (a confirmation or rejection, which the next scoring
run respects), and exported as a goldenthread.labels/v1 document for evaluation."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from alignment.errors import Invalid, NotFound
from alignment.models import (
    CheckIn,
    CheckInFeedback,
    LinkFeedback,
    Okr,
    ScoredLink,
    StrategicObjective,
)
from alignment.repository import record_latest, require_org
from alignment.scoring.org_documents import load_docs
from alignment.scoring.reads import require_scored


def _unstored_pair(
    session: Session, org_id: str, okr_id: str, objective_id: str, decided_by: str
) -> tuple[str, int]:
    """A verdict on a pair ranked below what is stored (only the top links are): the OKR's
    text fingerprint from its stored links, and the id of a scoring job that stores the pair
    with its real score and the person's verdict."""
    from alignment.jobs import SCORE_PARAMS, enqueue

    okr_hash = session.scalar(
        select(ScoredLink.okr_hash)
        .where(ScoredLink.org_id == org_id, ScoredLink.okr_id == okr_id)
        .limit(1)
    )
    objective = session.get(StrategicObjective, {"org_id": org_id, "id": objective_id})
    if okr_hash is None or objective is None:
        _require_both(session, org_id, okr_id, objective_id, objective is not None)
        require_scored(session, org_id)
        raise NotFound(f"no scored link between OKR {okr_id!r} and objective {objective_id!r}")
    job = enqueue(session, org_id, "score", SCORE_PARAMS, requested_by=decided_by).job
    return okr_hash, job.id


def _require_both(
    session: Session, org_id: str, okr_id: str, objective_id: str, objective_found: bool
) -> None:
    """Name what is missing ("no OKR 'NOPE'"), not the link between them."""
    require_org(session, org_id)
    if session.get(Okr, {"org_id": org_id, "id": okr_id}) is None:
        raise NotFound(
            f"no OKR {okr_id!r} in organization {org_id!r}",
            details=[{"path": "path.okr_id", "message": "no such OKR"}],
        )
    if not objective_found:
        raise NotFound(
            f"no strategic objective {objective_id!r} in organization {org_id!r}",
            details=[{"path": "path.objective_id", "message": "no such strategic objective"}],
        )


def _teammates_learn(session: Session, org_id: str, okr_id: str, decided_by: str) -> int | None:
    """A decision moves the scores of the OKR's teammates (team_decisions.py): rescore in the
    background when it has any; the queued job's id. One queued scoring job serves every
    decision made before it starts."""
    from alignment.jobs import SCORE_PARAMS, enqueue

    team = select(Okr.team_id).where(Okr.org_id == org_id, Okr.id == okr_id).scalar_subquery()
    teammates = session.scalar(
        select(func.count())
        .select_from(Okr)
        .where(Okr.org_id == org_id, Okr.team_id == team, Okr.id != okr_id)
    )
    if not teammates:
        return None
    return enqueue(session, org_id, "score", SCORE_PARAMS, requested_by=decided_by).job.id


def rescore_if_running(session: Session, org_id: str, decided_by: str) -> int | None:
    """A scoring run that started before a person's decision replaces every stored verdict
    with what it read: queue the next run, which applies the decision (its id, if queued).

    Any run holds the organization's scoring lock (stage.score_organization), whether a job,
    the CLI or a report that scores first: a shared hold of it says whether one is under way.
    When none is, the decision keeps that shared hold until it commits, so no run can start
    and read the feedback before the decision is in it (a run that tries meanwhile is told
    the organization is busy: its job retries, the CLI says to retry): without the hold, a
    run that began between this check and the commit would store labels without the
    decision, and a job it saw waiting would skip instead of repairing them
    (scoring/runs.py). Our own transaction's lock does not count."""
    from alignment.jobs import SCORE_PARAMS, enqueue

    held = text("SELECT pg_try_advisory_xact_lock_shared(hashtext(:org))")
    if session.scalar(held, {"org": org_id}):
        return None
    return enqueue(session, org_id, "score", SCORE_PARAMS, requested_by=decided_by).job.id


_DECISION_TURN = text(
    "SELECT pg_advisory_xact_lock(hashtextextended('okr-decision:' || :org || ':' || :okr, 0))"
)


def decide_in_turn(session: Session, org_id: str, okr_id: str) -> None:
    """People's decisions on one OKR's links take turns until their transactions end: "serves
    none" reads the standing decisions and then rejects every link, and a "keep" committed in
    between would otherwise be overwritten unseen."""
    session.execute(_DECISION_TURN, {"org": org_id, "okr": okr_id})


def record_feedback(
    session: Session,
    org_id: str,
    okr_id: str,
    objective_id: str,
    *,
    verdict: str,
    decided_by: str,
    note: str | None = None,
) -> dict[str, Any]:
    """Store a person's verdict (idempotent per pair: the latest verdict wins)."""
    decide_in_turn(session, org_id, okr_id)
    if verdict not in ("confirmed", "rejected"):
        raise Invalid(
            "verdict must be 'confirmed' or 'rejected'",
            details=[{"path": "$.verdict", "message": f"got {verdict!r}"}],
        )
    row = session.get(
        ScoredLink, {"org_id": org_id, "okr_id": okr_id, "objective_id": objective_id}
    )
    stores_pair = None  # the job that stores a pair not stored yet, and applies the verdict
    if row is not None:
        okr_hash = row.okr_hash
    else:
        okr_hash, stores_pair = _unstored_pair(session, org_id, okr_id, objective_id, decided_by)
    earlier = session.execute(
        select(LinkFeedback.verdict, LinkFeedback.okr_hash).where(
            LinkFeedback.org_id == org_id,
            LinkFeedback.okr_id == okr_id,
            LinkFeedback.objective_id == objective_id,
        )
    ).first()
    # A verdict on text that has since changed no longer counts: re-confirming it is new.
    before = earlier.verdict if earlier is not None and earlier.okr_hash == okr_hash else None
    rescoring = None
    if before != verdict:
        rescoring = _teammates_learn(session, org_id, okr_id, decided_by)
    run_under_way = rescore_if_running(session, org_id, decided_by)
    rescoring = run_under_way or rescoring or stores_pair
    key = {"org_id": org_id, "okr_id": okr_id, "objective_id": objective_id}
    fields = {"verdict": verdict, "okr_hash": okr_hash, "decided_by": decided_by, "note": note}
    fb = record_latest(session, LinkFeedback, key, fields)
    # A run under way deletes and rewrites every stored link: updating one here would wait
    # for it and then find the row gone, or deadlock with it when one decision updates
    # several links. The run it queued applies the decision instead.
    if row is not None and run_under_way is None:
        row.label = "aligned" if verdict == "confirmed" else "none"
        session.flush()
    return {
        "okr_id": okr_id,
        "objective_id": objective_id,
        "verdict": fb.verdict,
        "decided_by": fb.decided_by,
        "decided_at": fb.decided_at,
        "note": fb.note,
        # the scoring job that moves the OKR's teammates (a confirmation made or withdrawn),
        # or that stores the pair with the verdict when it was not stored (a declared link
        # not scored yet, an objective ranked below the stored ones)
        "rescoring_job": rescoring,
    }


def feedback_labels(session: Session, org_id: str) -> dict[str, Any]:
    """People's verdicts as a goldenthread.labels/v1 document (evaluation data): links, and
    check-ins decided in the review queue under "drift".

    An OKR is listed with the objectives people confirmed for it. In labels/v1 an empty list
    means "serves nothing", so an OKR with rejections only is listed (empty) only when people
    said so: "serves none" in the review queue (every candidate it showed rejected,
    `review.orphan_decision`), or every objective of the organization rejected for it. One
    rejected link says nothing about the others. Verdicts on an OKR text that has since changed
    are left out.
    """
    from alignment.review import orphan_decision  # review decides through this module

    docs = load_docs(session, org_id)
    current = docs.fingerprints
    objectives = {o.id for o in docs.objectives}
    confirmed: dict[str, list[str]] = defaultdict(list)
    rejected: dict[str, set[str]] = defaultdict(set)
    for f in session.scalars(
        select(LinkFeedback)
        .where(LinkFeedback.org_id == org_id)
        .order_by(LinkFeedback.okr_id, LinkFeedback.objective_id)
    ):
        if current.get(f.okr_id) != f.okr_hash:
            continue
        if f.verdict == "confirmed":
            confirmed[f.okr_id].append(f.objective_id)
        else:
            rejected[f.okr_id].add(f.objective_id)
    orphans = [
        okr_id
        for okr_id, ids in rejected.items()
        if okr_id not in confirmed
        and (ids >= objectives or orphan_decision(session, org_id, okr_id) is not None)
    ]
    return {
        "format": "goldenthread.labels/v1",
        "links": {okr_id: confirmed.get(okr_id, []) for okr_id in sorted([*confirmed, *orphans])},
        "drift": _check_in_labels(session, org_id),
    }


def _check_in_labels(session: Session, org_id: str) -> dict[str, bool]:
    """People's verdicts on check-ins (True: about other work), while what they judged holds."""
    from alignment.scoring.drift_decisions import judged_hash

    rows = session.execute(
        select(CheckInFeedback, CheckIn)
        .join(
            CheckIn,
            (CheckIn.org_id == CheckInFeedback.org_id)
            & (CheckIn.id == CheckInFeedback.check_in_id),
        )
        .where(CheckInFeedback.org_id == org_id)
        .order_by(CheckIn.id)
    )
    return {
        c.id: f.verdict == "drifting"
        for f, c in rows
        if f.text_hash == judged_hash(c.text, c.okr_id, c.key_result_id)
    }

"""The review queue: OKRs the engine cannot place with confidence, for a person to decide.

Confirming records a person's "confirmed" verdict on one link (the OKR becomes
aligned); rejecting records "rejected" on every candidate shown and every objective its team
declared, after which the OKR is an orphan by a person's decision. Both go through
`scoring.feedback.record_feedback`, so scoring respects them until the OKR's text changes, and
`GET /alignment/feedback-labels` turns them into evaluation labels.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from alignment.errors import Invalid, NotFound
from alignment.export import natural_key
from alignment.models import DeclaredLink, LinkFeedback, Okr, ScoredLink, StrategicObjective
from alignment.repository import declared_objectives, require_org
from alignment.scoring.feedback import decide_in_turn, record_feedback
from alignment.scoring.people_decisions import CANDIDATES, decided_on_current_text
from alignment.scoring.reads import ON_THE_JUDGED_TEXT, stored_verdicts
from alignment.scoring.unsure import unsure_page


class Candidate(NamedTuple):
    objective_id: str
    score: float
    label: str


class _Standing(NamedTuple):
    """A person's decision on one of an OKR's links that still counts (see `standing_on_okr`)."""

    objective_id: str
    verdict: str
    decided_by: str
    decided_at: datetime


def candidates_by_okr(
    session: Session, org_id: str, okr_ids: list[str] | None = None
) -> dict[str, list[Candidate]]:
    """Each OKR's best-ranked stored links (only `okr_ids`' when given), best first."""
    query = (
        select(ScoredLink.okr_id, ScoredLink.objective_id, ScoredLink.score, ScoredLink.label)
        .where(ScoredLink.org_id == org_id, ScoredLink.rank <= CANDIDATES)
        .order_by(ScoredLink.okr_id, ScoredLink.rank)
    )
    if okr_ids is not None:
        query = query.where(ScoredLink.okr_id.in_(okr_ids))
    rows = session.execute(query)
    out: dict[str, list[Candidate]] = defaultdict(list)
    for okr_id, objective_id, score, label in rows:
        out[okr_id].append(Candidate(objective_id, score, label))
    return dict(out)


def okr_verdicts(
    session: Session, org_id: str
) -> tuple[dict[str, list[Candidate]], dict[str, str]]:
    """Each OKR's best candidates and its verdict (aligned / needs_review / orphan), people's
    rejections included: what every page and report shows."""
    return candidates_by_okr(session, org_id), stored_verdicts(session, org_id)


def queue(session: Session, org_id: str) -> list[dict[str, Any]]:
    """Every OKR whose verdict is `needs_review`, with its closest objectives (`candidates`,
    best first, each with a person's standing `decision` on that link or None), the ones its
    team declared it serves (`declared`, in the team's order, each with a person's standing
    `decision` on that link or None; empty when it declared none) and
    an LLM's opinions on its links (`model_opinions`; empty when none was asked)."""
    return queue_page(session, org_id)[0]


def queue_page(
    session: Session, org_id: str, *, limit: int | None = None, offset: int = 0
) -> tuple[list[dict[str, Any]], int]:
    """`limit` of the queue's OKRs from `offset` (all of them without a limit), as `queue`
    shows them, and how many the whole queue holds.

    Which OKRs are on the page is decided, ordered and cut in SQL (scoring/unsure.py) and the
    queue counted with a COUNT query; the candidates, declarations, people's decisions on them,
    opinions and titles are read for the page's OKRs only. Reading every OKR's verdict rows to
    show one page made each page of a large organization cost as much as all of it."""
    require_org(session, org_id)
    okr_ids, total = unsure_page(session, org_id, limit=limit, offset=offset)
    return _queue_items(session, org_id, okr_ids), total


def _queue_items(session: Session, org_id: str, okr_ids: list[str]) -> list[dict[str, Any]]:
    """The queue's items for these OKRs, in this order."""
    if not okr_ids:
        return []
    okrs = {
        o.id: o
        for o in session.scalars(select(Okr).where(Okr.org_id == org_id, Okr.id.in_(okr_ids)))
    }
    titles = dict(
        session.execute(
            select(StrategicObjective.id, StrategicObjective.title).where(
                StrategicObjective.org_id == org_id
            )
        ).all()
    )
    candidates = candidates_by_okr(session, org_id, okr_ids)
    declared = _declared_by_okr(session, org_id, okr_ids)
    # A person's decision on a declared link (dropped from the page's "Declared links" list,
    # say) or on a candidate (rejected through the API) stands while the OKR's text is what
    # they judged: the queue says so beside it.
    decisions = {
        (okr_id, d.objective_id): d
        for okr_id, standing in _standing_by_okr(session, org_id, okr_ids).items()
        for d in standing
    }
    opinions = _model_opinions(session, org_id, okr_ids)
    return [
        {
            "okr_id": okr_id,
            "title": okrs[okr_id].title,
            "team": okrs[okr_id].team_id,
            "cycle": okrs[okr_id].cycle_id,
            "declared": [
                {
                    "objective_id": objective_id,
                    "objective_title": titles.get(objective_id),
                    "score": round(score, 4) if score is not None else None,
                    "label": label,
                    "decision": _decision(decisions.get((okr_id, objective_id))),
                }
                for objective_id, score, label in declared.get(okr_id, [])
            ],
            "candidates": [
                {
                    "objective_id": c.objective_id,
                    "objective_title": titles.get(c.objective_id),
                    "score": round(c.score, 4),
                    "label": c.label,
                    "decision": _decision(decisions.get((okr_id, c.objective_id))),
                }
                for c in candidates.get(okr_id, [])
            ],
            "model_opinions": opinions.get(okr_id, []),
        }
        for okr_id in okr_ids
        if okr_id in okrs
    ]


def _decision(standing: _Standing | None) -> dict[str, Any] | None:
    """A person's standing decision on a link as the queue shows it: verdict, who, when."""
    if standing is None:
        return None
    return {"verdict": standing.verdict, "by": standing.decided_by, "at": standing.decided_at}


def objective_choices(session: Session, org_id: str) -> list[dict[str, str]]:
    """Every objective of the organization (id, title), by id: what a reviewer may confirm
    when neither the engine's candidates nor the team's declared objectives are right."""
    rows = session.execute(
        select(StrategicObjective.id, StrategicObjective.title).where(
            StrategicObjective.org_id == org_id
        )
    )
    return [
        {"objective_id": id_, "objective_title": title}
        for id_, title in sorted(rows, key=lambda row: natural_key(row[0]))  # SO-2 before SO-10
    ]


def _declared_by_okr(session: Session, org_id: str, okr_ids: list[str]) -> dict[str, list[Any]]:
    """(objective, score, label) for each objective the OKR's team declared it serves, in the
    team's order; score and label None where the engine stored none. The team's own word, for
    the person deciding to weigh against the engine's candidates."""
    scored = and_(
        ScoredLink.org_id == DeclaredLink.org_id,
        ScoredLink.okr_id == DeclaredLink.okr_id,
        ScoredLink.objective_id == DeclaredLink.objective_id,
    )
    rows = session.execute(
        select(DeclaredLink.okr_id, DeclaredLink.objective_id, ScoredLink.score, ScoredLink.label)
        .outerjoin(ScoredLink, scored)
        .where(DeclaredLink.org_id == org_id, DeclaredLink.okr_id.in_(okr_ids))
        .order_by(DeclaredLink.okr_id, DeclaredLink.position)
    )
    out: dict[str, list[Any]] = defaultdict(list)
    for okr_id, *link in rows:
        out[okr_id].append(link)
    return out


def _model_opinions(
    session: Session, org_id: str, okr_ids: list[str]
) -> dict[str, list[dict[str, Any]]]:
    """An LLM's stored opinion on each of the OKR's links it judged (alignment/adjudicate.py),
    by the engine's rank: shown to the person deciding, never applied for them. A "serves"
    leaves the engine's label; the person confirms the objective, or does not."""
    rows = session.execute(
        select(ScoredLink.okr_id, ScoredLink.objective_id, ScoredLink.adjudication)
        .where(
            ScoredLink.org_id == org_id,
            ScoredLink.okr_id.in_(okr_ids),
            ScoredLink.adjudication.is_not(None),
        )
        .order_by(ScoredLink.okr_id, ScoredLink.rank)
    )
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for okr_id, objective_id, note in rows:
        out[okr_id].append(
            {
                "objective_id": objective_id,
                "verdict": "serves" if note.get("serves") else "does_not_serve",
                "reason": note.get("reason"),
            }
        )
    return out


def standing_decision(session: Session, org_id: str, okr_id: str, objective_id: str) -> Any:
    """A person's decision on this link that still counts (made on the OKR's current text):
    its verdict, who and when; None without one."""
    return session.execute(
        select(LinkFeedback.verdict, LinkFeedback.decided_by, LinkFeedback.decided_at)
        .join(ScoredLink, ON_THE_JUDGED_TEXT)
        .where(
            LinkFeedback.org_id == org_id,
            LinkFeedback.okr_id == okr_id,
            LinkFeedback.objective_id == objective_id,
        )
    ).first()


def standing_on_okr(session: Session, org_id: str, okr_id: str) -> list[Any]:
    """People's decisions on the OKR's links made on its current text, newest first."""
    return _standing_by_okr(session, org_id, [okr_id]).get(okr_id, [])


def _standing_by_okr(session: Session, org_id: str, okr_ids: list[str]) -> dict[str, list[Any]]:
    """`standing_on_okr` for each of these OKRs (one query): (objective, verdict, who, when),
    newest first; an OKR with none is absent."""
    rows = session.execute(
        select(
            LinkFeedback.okr_id,
            LinkFeedback.objective_id,
            LinkFeedback.verdict,
            LinkFeedback.decided_by,
            LinkFeedback.decided_at,
        )
        .where(
            LinkFeedback.org_id == org_id,
            LinkFeedback.okr_id.in_(okr_ids),
            decided_on_current_text(),
        )
        .order_by(LinkFeedback.okr_id, LinkFeedback.decided_at.desc(), LinkFeedback.objective_id)
    )
    out: dict[str, list[Any]] = defaultdict(list)
    for okr_id, objective_id, verdict, decided_by, decided_at in rows:
        out[okr_id].append(_Standing(objective_id, verdict, decided_by, decided_at))
    return dict(out)


def candidate_ids(session: Session, org_id: str, okr_id: str) -> list[str]:
    """The objectives the queue shows for the OKR (and a rejection rejects), best first."""
    return list(
        session.scalars(
            select(ScoredLink.objective_id)
            .where(
                ScoredLink.org_id == org_id,
                ScoredLink.okr_id == okr_id,
                ScoredLink.rank <= CANDIDATES,
            )
            .order_by(ScoredLink.rank)
        )
    )


def confirm(
    session: Session, org_id: str, okr_id: str, objective_id: str, *, decided_by: str
) -> dict[str, Any]:
    """The OKR serves this objective: any of the organization's, not only the candidates. The
    team may have declared one the engine ranks lower, or the person may know better than both;
    refusing it would leave them only a wrong candidate or an orphan to record. A pair with no
    stored link is stored, with the verdict, by the scoring job the answer names."""
    # The objective comes in the body: an unknown one is a mistake in it (422 naming the
    # field), not a missing page (404) as the OKR in the path would be.
    if session.get(StrategicObjective, {"org_id": org_id, "id": objective_id}) is None:
        require_org(session, org_id)
        raise Invalid(
            f"no strategic objective {objective_id!r} in {org_id!r}",
            details=[{"path": "$.objective_id", "message": "no such strategic objective"}],
        )
    return record_feedback(
        session, org_id, okr_id, objective_id, verdict="confirmed", decided_by=decided_by
    )


def declared_ids(session: Session, org_id: str, okr_id: str) -> list[str]:
    """The objectives the OKR's team declared it serves, in the team's order."""
    return declared_objectives(session, org_id, okr_id)


def reject(
    session: Session, org_id: str, okr_id: str, *, decided_by: str, note: str | None = None
) -> list[dict[str, Any]]:
    """The OKR serves none of its candidates, nor what its team declared: each is rejected,
    and it becomes an orphan. The declared links are decided with it, since "serves none"
    covers them: left open, the queue would still ask about them, and keeping one there would
    quietly undo the orphan decision."""
    decide_in_turn(session, org_id, okr_id)  # before reading what stands
    shown = candidates_by_okr(session, org_id).get(okr_id)
    if not shown:
        require_org(session, org_id)
        if session.get(Okr, {"org_id": org_id, "id": okr_id}) is None:
            # Named as `GET /okrs/{okr_id}/links` names it: no links is true but misleading.
            raise NotFound(
                f"OKR {okr_id!r} does not exist in organization {org_id!r}",
                details=[{"path": "path.okr_id", "message": "no such OKR"}],
            )
        raise NotFound(f"OKR {okr_id!r} has no scored links in {org_id!r}")
    # A link a person confirmed (a declared one ranked below the candidates, say) is labelled
    # aligned too: rejecting it here would reverse their decision unseen.
    standing = standing_on_okr(session, org_id, okr_id)
    confirmed = any(d.verdict == "confirmed" for d in standing)
    if confirmed or any(c.label == "aligned" for c in shown):
        raise Invalid(
            f"OKR {okr_id!r} is aligned, not awaiting review; reject its link itself",
            details=[{"path": "path.okr_id", "message": "not in the review queue"}],
        )
    candidates = [c.objective_id for c in shown]
    # A declared link a person already dropped keeps that decision: who, when and why.
    dropped = {d.objective_id for d in standing if d.verdict == "rejected"}
    declared = [
        o for o in declared_ids(session, org_id, okr_id) if o not in candidates and o not in dropped
    ]
    return [
        record_feedback(
            session,
            org_id,
            okr_id,
            objective_id,
            verdict="rejected",
            decided_by=decided_by,
            note=given_note(note),
        )
        for objective_id in [*candidates, *declared]
    ]


def given_note(note: str | None) -> str | None:
    """A decision's note as kept: a blank one (empty, or only spaces) is no note, as the review
    page reads its empty field and the command line refuses `--note ""`. Otherwise `{"note":
    ""}` would be "another note", a new decision over the one that stands."""
    return note if note is not None and note.strip() else None


def standing_rejection(
    session: Session, org_id: str, okr_id: str, *, note: str | None = None
) -> list[dict[str, Any]] | None:
    """The orphan decision standing on the OKR, link by link as `reject` answers (who, when,
    the note), when rejecting it again with `note` would decide nothing new: no note, or the
    one kept (a blank note is none). None without one, or with another note, which is a new
    decision recorded as one.
    A retry, a second tab or another person asking again is told what stands, as a second
    job cancel is, instead of the decision being made again under a new name and time."""
    decide_in_turn(session, org_id, okr_id)  # what stands once a decision under way is in
    orphan = orphan_decision(session, org_id, okr_id)
    if orphan is None:
        return None
    rejected = [*orphan["candidates"], *orphan["declared"]]
    rows = {
        f.objective_id: f
        for f in session.scalars(
            select(LinkFeedback).where(
                LinkFeedback.org_id == org_id,
                LinkFeedback.okr_id == okr_id,
                LinkFeedback.objective_id.in_(rejected),
            )
        )
    }
    note = given_note(note)
    if note is not None and note != rows[orphan["candidates"][0]].note:  # one note on them all
        return None
    return [
        {
            "okr_id": okr_id,
            "objective_id": objective_id,
            "verdict": rows[objective_id].verdict,
            "decided_by": rows[objective_id].decided_by,
            "decided_at": rows[objective_id].decided_at,
            "note": rows[objective_id].note,
            "rescoring_job": None,  # nothing changed, so nothing to apply
        }
        for objective_id in rejected
    ]


def orphan_decision(session: Session, org_id: str, okr_id: str) -> dict[str, Any] | None:
    """A person's standing decision that the OKR is an orphan (every candidate the queue showed
    rejected, none of its links confirmed): the candidates, the declared objectives rejected
    with them (or since), who decided last and when; None without one."""
    standing = standing_on_okr(session, org_id, okr_id)
    if any(d.verdict == "confirmed" for d in standing):
        return None
    rejected = {d.objective_id: d for d in standing}
    shown = candidate_ids(session, org_id, okr_id)
    if not shown or not set(shown) <= set(rejected):
        return None
    last = max((rejected[o] for o in shown), key=lambda d: d.decided_at)
    declared = [
        o for o in declared_ids(session, org_id, okr_id) if o in rejected and o not in shown
    ]
    return {
        "candidates": shown,
        "declared": declared,
        "decided_by": last.decided_by,
        "decided_at": last.decided_at,
    }


def unsupported_declared(session: Session, org_id: str) -> list[dict[str, Any]]:
    """Declared links the text does not support that nobody has decided yet, on the OKR's
    text as it is now: a decision on an earlier text no longer counts (as in scoring, the
    report and `scoring.unsure.awaiting_review`), so the link is asked about again rather
    than counted as awaiting a review the queue never shows."""
    from alignment.scoring.reads import link_audit

    if not candidates_by_okr(session, org_id):
        return []  # not scored: nothing to say about declarations yet
    decided = set(
        session.execute(
            select(LinkFeedback.okr_id, LinkFeedback.objective_id)
            .join(ScoredLink, ON_THE_JUDGED_TEXT)
            .where(LinkFeedback.org_id == org_id)
        ).all()
    )
    titles = dict(session.execute(select(Okr.id, Okr.title).where(Okr.org_id == org_id)).all())
    open_links = [
        f
        for f in link_audit(session, org_id)
        if f["kind"] == "unsupported_declared_link"
        and (f["okr_id"], f["objective_id"]) not in decided
    ]
    # An orphan decision recorded before "serves none" covered declared links left them open:
    # whoever keeps one is told first that it replaces that decision.
    orphans = {o: orphan_decision(session, org_id, o) for o in {f["okr_id"] for f in open_links}}
    return [
        {**f, "okr_title": titles.get(f["okr_id"]), "orphan_decision": orphans[f["okr_id"]]}
        for f in open_links
    ]


def pending_drafts(session: Session, org_id: str) -> list[dict[str, Any]]:
    """Drafts waiting for a person, newest first (the first 50)."""
    from alignment.drafting import store

    rows, _ = store.list_drafts(session, org_id, status="pending", limit=50)
    return [store.render_draft(d) for d in rows]

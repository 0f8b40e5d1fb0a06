"""Score stage: an organization's OKRs against its strategic objectives, and its check-ins' drift.

Reads the records (org_documents.py), asks the pure scoring math (`link_scores`, `drift`) for
verdicts through a `VectorCache` (so only new texts are embedded), keeps what earlier runs
decided that still holds (earlier_verdicts.py), applies people's decisions
(people_decisions.py), and replaces the organization's stored verdicts, all in the caller's
transaction, which also records the run and the `score` jobs it did the work of (runs.py).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING
from urllib.parse import quote

from sqlalchemy import delete, func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from alignment.embed import EmbedProgress, VectorCache
from alignment.embedder import Embedder
from alignment.errors import Conflict
from alignment.models import CheckInDrift, LlmUsage, OkrVerdict, ScoredLink
from alignment.scoring.calibration import calibration_for, orphan_calibration_for
from alignment.scoring.documents import Link
from alignment.scoring.drift import DEFAULT as DRIFT
from alignment.scoring.drift import DIRECTION_MODEL, DriftScore, score_drift
from alignment.scoring.drift_decisions import apply_decisions
from alignment.scoring.earlier_verdicts import earlier_comparisons, earlier_labels
from alignment.scoring.link_scores import STORED_TOP, score_okrs
from alignment.scoring.org_documents import OrgDocs, load_docs, searchable_texts
from alignment.scoring.people_decisions import (
    apply_feedback,
    check_in_decisions,
    current_feedback,
    pairs_people_named,
)
from alignment.scoring.reads import stored_verdicts
from alignment.scoring.runs import record_run, waiting_score_jobs
from alignment.scoring.stability import context_fingerprint, keep_earlier_labels, okr_contexts
from alignment.scoring.team_decisions import decided_votes
from alignment.verdicts import Comparison, compare_with_median, reference_score

if TYPE_CHECKING:
    from alignment.adjudicate import Adjudicator, Outcome

INSERT_ROWS = 2000  # stored links per INSERT statement (11 parameters each, under 65,535)


@dataclass
class ScoreSummary:
    """A run's counts: `POST /score`'s job result and `goldenthread score`'s output.

    OKR counts by their verdict (alignment/verdicts.py), as the report and the review queue
    count them: `orphan_okrs` (confident orphans), `okrs_awaiting_review`, and
    `okrs_without_aligned_link`, both together. `as_dict` also gives the last as `orphans`,
    its earlier name, which API clients may read: it is not the count of orphans.
    """

    organization: str
    okrs: int
    objectives: int
    check_ins: int
    texts_embedded: int
    aligned_links: int
    okrs_without_aligned_link: int  # no aligned link: verdict orphan or needs_review
    drifting_check_ins: int
    model: str
    check_ins_awaiting_review: int = 0  # drift verdict needs_review: a person decides
    adjudication: dict[str, object] | None = None  # what the LLM pass did, when asked for
    newly_misaligned: list[str] = field(default_factory=list)  # orphans this run made
    orphan_okrs: int = 0  # verdict orphan: what the report lists as orphan findings
    okrs_awaiting_review: int = 0  # verdict needs_review: in the review queue
    # The organization's median orphan score this run: what an OKR compared afresh is held to
    # (alignment/verdicts.py); an unchanged OKR keeps the median it was decided with.
    orphan_score_median: float = 0.0

    def as_dict(self) -> dict[str, object]:
        # `orphans`: the old key, kept for API clients; the same count as
        # okrs_without_aligned_link.
        return {**asdict(self), "orphans": self.okrs_without_aligned_link}


class ScoringInProgress(Conflict):
    code = "scoring_in_progress"


def score_organization(
    session: Session,
    org_id: str,
    *,
    embedder: Embedder,
    progress: EmbedProgress | None = None,
    adjudicator: Adjudicator | None = None,
) -> ScoreSummary:
    """Score every OKR and check-in; with `adjudicator`, an LLM gives a second opinion on the
    close calls (alignment/adjudicate.py). Stored LLM verdicts whose question is unchanged are
    kept either way; people's verdicts are applied last."""
    _lock_or_refuse(session, org_id)
    # Right after the lock, before any record: the jobs seen here have nothing left for a
    # later run; read later, a job committed during this run would be skipped (runs.py).
    waiting = waiting_score_jobs(session, org_id)
    before = stored_verdicts(session, org_id)  # empty when never scored: all news
    docs = load_docs(session, org_id)
    cache = VectorCache(
        session, org_id, embedder, progress=progress, searchable=searchable_texts(docs.okrs)
    )
    feedback = current_feedback(session, org_id, docs.fingerprints)
    votes = decided_votes(docs.okrs, feedback)
    contexts = okr_contexts(
        docs.okrs,
        context_fingerprint(
            docs.objectives,
            (
                calibration_for(len(docs.objectives), len(docs.okrs)),
                orphan_calibration_for(len(docs.objectives), len(docs.okrs)),
            ),
            embedder.model_name,
        ),
        votes,
    )
    earlier = earlier_labels(session, org_id, docs.fingerprints, contexts)
    keep = pairs_people_named(session, org_id)
    for okr_id, objective_id in earlier:  # so a stored verdict cannot drop out of the top
        keep[okr_id].add(objective_id)
    scored = score_okrs(
        docs.objectives, docs.okrs, embed=cache, top=STORED_TOP, keep=keep, votes=votes
    )
    links = keep_earlier_labels(scored.links, earlier)
    # The check-ins' texts are embedded before the LLM pass, so a job's progress goes through
    # each phase once: all embedding, then the model calls (jobs/handlers.py).
    drift_cal = DRIFT if embedder.model_name == DIRECTION_MODEL else replace(DRIFT, direction=())
    drift = score_drift(docs.drift_items, embed=cache, okrs=docs.okrs, calibration=drift_cal)
    links, adjudicated = _adjudicate(session, org_id, docs, links, adjudicator)
    # Read again: embedding and the LLM pass take a while, and a decision made meanwhile must
    # not be overwritten by this run (one that changes the votes queues another run itself).
    links = apply_feedback(links, current_feedback(session, org_id, docs.fingerprints))
    kept = earlier_comparisons(session, org_id, docs.fingerprints, contexts)
    compared = compare_with_median(
        links, {okr: c for okr, (c, _) in kept.items()}, scored.orphan_scores
    )

    _replace_links(session, org_id, links, docs, contexts, embedder.model_name)
    _replace_comparisons(session, org_id, compared, kept, docs, contexts)
    # People's verdicts read just before the rows are replaced (as the links' above).
    drift = apply_decisions(drift, docs.drift_items, check_in_decisions(session, org_id))
    _replace_drift(session, org_id, drift, embedder.model_name)
    after = stored_verdicts(session, org_id)
    newly = _announce_new_orphans(session, org_id, before, after)
    summary = ScoreSummary(
        organization=org_id,
        okrs=len(docs.okrs),
        objectives=len(docs.objectives),
        check_ins=len(docs.drift_items),
        texts_embedded=cache.encoded,
        aligned_links=sum(1 for ranked in links.values() for lk in ranked if lk.label == "aligned"),
        okrs_without_aligned_link=sum(
            1 for ranked in links.values() if not any(lk.label == "aligned" for lk in ranked)
        ),
        drifting_check_ins=sum(1 for d in drift if d.drifting),
        model=embedder.model_name,
        check_ins_awaiting_review=sum(1 for d in drift if d.verdict == "needs_review"),
        adjudication=adjudicated.as_dict() if adjudicated else None,
        newly_misaligned=newly,
        orphan_okrs=sum(1 for v in after.values() if v == "orphan"),
        okrs_awaiting_review=sum(1 for v in after.values() if v == "needs_review"),
        orphan_score_median=round(reference_score(links, scored.orphan_scores), 4),
    )
    record_run(session, org_id, waiting, summary.as_dict())
    return summary


def _lock_or_refuse(session: Session, org_id: str) -> None:
    """One scoring run per organization at a time: runs replace all verdicts, and an
    adjudicating run reads the token budget before it spends."""
    # Never wait for the lock: a waiting request would hold a pooled connection for the whole
    # of the other run, and a few of them starve every other tenant of connections.
    locked = text("SELECT pg_try_advisory_xact_lock(hashtext(:org))")
    if not session.scalar(locked, {"org": org_id}):
        # Held shared for a moment, too, by a decision being recorded (scoring/feedback.py).
        raise ScoringInProgress(
            f"organization {org_id!r} is being scored, or a decision on it recorded, right "
            "now; a run's results will be there when it ends "
            f"(GET /orgs/{org_id}/alignment/orphans), or retry in a moment",
            details=[{"path": "path.org_id", "message": "a scoring run is in progress"}],
        )


def _replace_links(
    session: Session,
    org_id: str,
    links: dict[str, list[Link]],
    docs: OrgDocs,
    contexts: dict[str, str],
    model: str,
) -> None:
    session.execute(delete(ScoredLink).where(ScoredLink.org_id == org_id))
    rows = [
        {
            "org_id": org_id,
            "okr_id": okr_id,
            "objective_id": link.objective_id,
            "rank": rank,
            "score": link.score,
            "label": link.label,
            "model": model,
            "evidence": [asdict(e) for e in link.evidence],
            "okr_hash": docs.fingerprints[okr_id],
            "context_hash": contexts[okr_id],
            "adjudication": link.adjudication,
        }
        for okr_id, ranked in links.items()
        for rank, link in enumerate(ranked, start=1)
    ]
    # Multi-row statements, not executemany: one statement per row would also fire the read
    # version trigger (migration 0012) 145,000 times for a 10,000-OKR organization.
    for start in range(0, len(rows), INSERT_ROWS):
        session.execute(insert(ScoredLink).values(rows[start : start + INSERT_ROWS]))


def _replace_comparisons(
    session: Session,
    org_id: str,
    compared: dict[str, Comparison],
    kept: dict[str, tuple[Comparison, datetime]],
    docs: OrgDocs,
    contexts: dict[str, str],
) -> None:
    """An OKR whose comparison was kept keeps when it was decided; the others are decided now."""
    session.execute(delete(OkrVerdict).where(OkrVerdict.org_id == org_id))
    now = session.scalar(select(func.now()))
    rows = [
        {
            "org_id": org_id,
            "okr_id": okr_id,
            **c._asdict(),
            "okr_hash": docs.fingerprints[okr_id],
            "context_hash": contexts[okr_id],
            "decided_at": kept[okr_id][1] if okr_id in kept else now,
        }
        for okr_id, c in compared.items()
    ]
    for start in range(0, len(rows), INSERT_ROWS):
        session.execute(insert(OkrVerdict).values(rows[start : start + INSERT_ROWS]))


def _replace_drift(session: Session, org_id: str, drift: list[DriftScore], model: str) -> None:
    session.execute(delete(CheckInDrift).where(CheckInDrift.org_id == org_id))
    if drift:
        session.execute(
            insert(CheckInDrift),
            [
                {
                    "org_id": org_id,
                    "check_in_id": d.checkin_id,
                    "score": d.score,
                    "drifting": d.drifting,
                    "verdict": d.verdict,
                    "model": model,
                    "evidence": {
                        k: v
                        for k, v in asdict(d).items()
                        if k not in ("checkin_id", "score", "verdict")
                        and not (k == "decided_by" and v is None)
                    },
                }
                for d in drift
            ],
        )


def _announce_new_orphans(
    session: Session, org_id: str, before: dict[str, str], after: dict[str, str]
) -> list[str]:
    """`okr.misaligned` for each OKR this run made an orphan, whichever path scored (a job,
    `goldenthread score`, a report or a draft that scores first): the next run finds no news."""
    from alignment.webhooks import emit

    newly = sorted(o for o, v in after.items() if v == "orphan" and before.get(o) != "orphan")
    base = f"/orgs/{quote(org_id, safe='')}"
    for okr_id in newly:
        url = f"{base}/okrs/{quote(okr_id, safe='')}/links"
        emit(session, org_id, "okr.misaligned", {"okr_id": okr_id, "url": url})
    return newly


def _adjudicate(
    session: Session,
    org_id: str,
    docs: OrgDocs,
    links: dict[str, list[Link]],
    adjudicator: Adjudicator | None,
) -> tuple[dict[str, list[Link]], Outcome | None]:
    """Stored LLM verdicts put back; with an adjudicator, the remaining close calls asked."""
    previous: dict[str, dict[str, dict]] = defaultdict(dict)
    stored = select(ScoredLink.okr_id, ScoredLink.objective_id, ScoredLink.adjudication).where(
        ScoredLink.org_id == org_id, ScoredLink.adjudication.is_not(None)
    )
    for okr_id, objective_id, verdict in session.execute(stored).tuples():
        previous[okr_id][objective_id] = verdict
    if not previous and adjudicator is None:
        return links, None
    from alignment import adjudicate

    okrs, objectives = {o.id: o for o in docs.okrs}, {o.id: o for o in docs.objectives}
    if adjudicator is None:
        return adjudicate.reapply(links, okrs, objectives, previous)[0], None
    from alignment.llm_budget import Budget
    from alignment.settings import get_settings

    budget = Budget.for_org(session, org_id, get_settings().llm.budget_for(org_id))
    cal = calibration_for(len(objectives), len(okrs))
    links, outcome = adjudicator.run(
        links, okrs, objectives, previous=previous, budget=budget, cal=cal
    )
    session.add_all(
        LlmUsage(org_id=org_id, purpose="adjudicate_links", **usage) for usage in outcome.usage
    )
    return links, outcome

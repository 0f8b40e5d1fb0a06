"""What a report reads: an organization's records and the score stage's stored verdicts.

All the report's SQL for plain records and verdicts is here (vectors are read in `duplicates`).
Rows come back as named tuples through column selects, not ORM objects: an organization of
2,000 OKRs has tens of thousands of rows to read, and loading them must stay cheap.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any, NamedTuple

from sqlalchemy import func, or_, select, text
from sqlalchemy.orm import Session

from alignment.models import (
    CheckIn,
    CheckInDrift,
    Cycle,
    DeclaredLink,
    Job,
    KeyResult,
    Kpi,
    LinkFeedback,
    Okr,
    OkrVerdict,
    ScoredLink,
    StrategicObjective,
    Team,
    content_hash,
)
from alignment.repository import require_org
from alignment.scoring.reads import ON_THE_JUDGED_TEXT
from alignment.verdicts import Comparison


class OkrRow(NamedTuple):
    id: str
    team_id: str
    cycle_id: str
    title: str
    description: str | None


class KrRow(NamedTuple):
    id: str
    okr_id: str
    title: str
    unit: str | None
    baseline: float | None
    target: float | None
    current: float | None
    kind: str | None
    content_hash: str


class ObjectiveRow(NamedTuple):
    id: str
    title: str
    perspective: str | None


class KpiRow(NamedTuple):
    id: str
    objective_id: str
    name: str
    kind: str | None


class LinkRow(NamedTuple):
    objective_id: str
    rank: int
    score: float
    label: str
    evidence: dict[str, Any] | None  # the strongest piece of the stored evidence
    engine_label: str | None = None  # the engine's own label, when an LLM verdict moved it


class CheckInRow(NamedTuple):
    id: str
    okr_id: str
    key_result_id: str | None
    date: date | None
    value: float | None
    confidence: float | None
    text: str


class Decision(NamedTuple):
    """A person's latest rejection of an OKR's links: who, when, and why if they said."""

    decided_by: str
    decided_at: datetime
    note: str | None


class DriftRow(NamedTuple):
    score: float
    drifting: bool
    evidence: dict[str, Any]
    verdict: str = "on_topic"  # "drifting" | "needs_review" | "on_topic"


@dataclass
class OrgFacts:
    org_id: str
    name: str
    cycles: dict[str, tuple[date | None, date | None]]
    teams: dict[str, str]  # id -> name
    objectives: dict[str, ObjectiveRow]
    kpis: list[KpiRow]
    okrs: dict[str, OkrRow]
    key_results: dict[str, list[KrRow]]  # okr id -> its key results, in order
    declared: dict[str, set[str]]  # okr id -> declared objective ids
    rejected: set[tuple[str, str]]  # (okr, objective) a person rejected
    links: dict[str, list[LinkRow]]  # okr id -> aligned/weak links and its best link, by rank
    compared: dict[str, Comparison]  # okr id -> its stored comparison with the median
    check_ins: list[CheckInRow]
    drift: dict[str, DriftRow]
    model: str | None
    # okr id -> the latest rejection of its links: an orphan by a person's decision names them
    rejected_by: dict[str, Decision] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def kr(self, kr_id: str) -> KrRow | None:
        return self._kr_index().get(kr_id)

    def _kr_index(self) -> dict[str, KrRow]:
        if "kr_index" not in self.extra:
            self.extra["kr_index"] = {k.id: k for rows in self.key_results.values() for k in rows}
        return self.extra["kr_index"]

    def aligned(self, okr_id: str) -> list[LinkRow]:
        return [lk for lk in self.links.get(okr_id, ()) if lk.label == "aligned"]

    def known_on(self, day: date) -> OrgFacts:
        """These facts without the check-ins dated after `day`: what a report as of `day` sees.

        Check-ins without a date cannot be placed in time; they are kept (a report on any day
        would otherwise never show them) and staleness ignores them.
        """
        kept = [c for c in self.check_ins if c.date is None or c.date <= day]
        ids = {c.id for c in kept}
        drift = {c: d for c, d in self.drift.items() if c in ids}
        return replace(self, check_ins=kept, drift=drift, extra={})


def load_facts(session: Session, org_id: str) -> OrgFacts:
    org = require_org(session, org_id)

    def rows(*columns: Any, where: Any, order: Any = ()) -> list[Any]:
        query = select(*columns).where(where)
        if order:
            query = query.order_by(*order)
        return session.execute(query).all()

    key_results: dict[str, list[KrRow]] = defaultdict(list)
    for r in rows(
        KeyResult.id,
        KeyResult.okr_id,
        KeyResult.title,
        KeyResult.unit,
        KeyResult.baseline,
        KeyResult.target,
        KeyResult.current,
        KeyResult.kind,
        KeyResult.content_hash,
        where=KeyResult.org_id == org_id,
        order=(KeyResult.position, KeyResult.id),
    ):
        key_results[r.okr_id].append(KrRow(*r))
    declared: dict[str, set[str]] = defaultdict(set)
    for okr_id, objective_id in rows(
        DeclaredLink.okr_id, DeclaredLink.objective_id, where=DeclaredLink.org_id == org_id
    ):
        declared[okr_id].add(objective_id)
    links: dict[str, list[LinkRow]] = defaultdict(list)
    model = None
    # Beyond the best link, only aligned/weak links and declared ones (for the audit) matter.
    declared_pair = (
        select(DeclaredLink.okr_id)
        .where(
            DeclaredLink.org_id == ScoredLink.org_id,
            DeclaredLink.okr_id == ScoredLink.okr_id,
            DeclaredLink.objective_id == ScoredLink.objective_id,
        )
        .exists()
    )
    for r in rows(
        ScoredLink.okr_id,
        ScoredLink.objective_id,
        ScoredLink.rank,
        ScoredLink.score,
        ScoredLink.label,
        ScoredLink.evidence[0].label("evidence"),
        ScoredLink.adjudication["engine_label"].astext.label("engine_label"),
        ScoredLink.model,
        where=(ScoredLink.org_id == org_id)
        & or_(ScoredLink.label != "none", ScoredLink.rank == 1, declared_pair),
        order=(ScoredLink.okr_id, ScoredLink.rank),
    ):
        moved = r.engine_label if r.engine_label not in (None, r.label) else None
        links[r.okr_id].append(LinkRow(r.objective_id, r.rank, r.score, r.label, r.evidence, moved))
        model = r.model
    # People's rejections on the OKR text as it is now: one on earlier text no longer counts.
    rejections = session.execute(
        select(
            LinkFeedback.okr_id,
            LinkFeedback.objective_id,
            LinkFeedback.decided_by,
            LinkFeedback.decided_at,
            LinkFeedback.note,
        )
        .join(ScoredLink, ON_THE_JUDGED_TEXT)
        .where(LinkFeedback.org_id == org_id, LinkFeedback.verdict == "rejected")
        .order_by(LinkFeedback.decided_at)
    ).all()
    return OrgFacts(
        org_id=org_id,
        name=org.name,
        cycles={
            r.id: (r.start, r.end)
            for r in rows(Cycle.id, Cycle.start, Cycle.end, where=Cycle.org_id == org_id)
        },
        teams=dict(rows(Team.id, Team.name, where=Team.org_id == org_id)),
        objectives={
            r.id: ObjectiveRow(*r)
            for r in rows(
                StrategicObjective.id,
                StrategicObjective.title,
                StrategicObjective.perspective,
                where=StrategicObjective.org_id == org_id,
                order=(func.length(StrategicObjective.id), StrategicObjective.id),
            )
        },
        kpis=[
            KpiRow(*r)
            for r in rows(
                Kpi.id,
                Kpi.objective_id,
                Kpi.name,
                Kpi.kind,
                where=Kpi.org_id == org_id,
                order=(Kpi.position, Kpi.id),
            )
        ],
        okrs={
            r.id: OkrRow(*r)
            for r in rows(
                Okr.id,
                Okr.team_id,
                Okr.cycle_id,
                Okr.title,
                Okr.description,
                where=Okr.org_id == org_id,
                order=(func.length(Okr.id), Okr.id),
            )
        },
        key_results=dict(key_results),
        declared=dict(declared),
        rejected={(r.okr_id, r.objective_id) for r in rejections},
        links=dict(links),
        compared={
            okr_id: Comparison.of(*c)
            for okr_id, *c in rows(
                OkrVerdict.okr_id,
                OkrVerdict.best_score,
                OkrVerdict.reference,
                where=OkrVerdict.org_id == org_id,
            )
        },
        check_ins=[
            CheckInRow(*r)
            for r in rows(
                CheckIn.id,
                CheckIn.okr_id,
                CheckIn.key_result_id,
                CheckIn.date,
                CheckIn.value,
                CheckIn.confidence,
                CheckIn.text,
                where=CheckIn.org_id == org_id,
                order=(CheckIn.date, CheckIn.id),
            )
        ],
        drift={
            r.check_in_id: DriftRow(r.score, r.drifting, r.evidence, r.verdict)
            for r in rows(
                CheckInDrift.check_in_id,
                CheckInDrift.score,
                CheckInDrift.drifting,
                CheckInDrift.evidence,
                CheckInDrift.verdict,
                where=CheckInDrift.org_id == org_id,
            )
        },
        model=model,
        # oldest first, so each OKR keeps its latest decision
        rejected_by={r.okr_id: Decision(r.decided_by, r.decided_at, r.note) for r in rejections},
    )


def _decision_waits(session: Session, org_id: str, scored_since) -> bool:
    """A person decided a link after the last run, a scoring job waits to carry it to the
    OKR's teammates, and no scoring run holds the organization's lock (a shared hold taken
    and let go at once; our own transaction's lock does not count). A decision being
    recorded holds it shared too and is not seen here: the run that follows is then told
    the organization is busy (ScoringInProgress), and a report job retries."""
    decided = select(func.max(LinkFeedback.decided_at)).where(LinkFeedback.org_id == org_id)
    latest = session.scalar(decided)
    if latest is None or scored_since is None or latest <= scored_since:
        return False
    waiting = select(Job.id).where(
        Job.org_id == org_id, Job.kind == "score", Job.status.in_(("queued", "retrying"))
    )
    if session.scalar(waiting.limit(1)) is None:
        return False
    probe = {"org": org_id}
    if not session.scalar(text("SELECT pg_try_advisory_lock_shared(hashtext(:org))"), probe):
        return False
    session.execute(text("SELECT pg_advisory_unlock_shared(hashtext(:org))"), probe)
    return True


def needs_scoring(
    session: Session, org_id: str, model: str, *, after_decisions: bool = False
) -> bool:
    """True when the stored verdicts are missing, from another model, or older than the
    records; with `after_decisions`, also when a person's decision since the last run waits in
    a queued scoring job while no run is under way.

    Scoring writes every OKR's links and every check-in's drift in one go, so comparing counts
    and the newest record change with the oldest verdict is enough. A decision moves its OKR's
    teammates' scores (team_decisions.py) through the job it queues: a report built before that
    job runs would show their earlier scores. While a run holds the organization's lock the
    stored verdicts are read as they are (that run's results follow). Drafts leave it out: they
    would hold the lock through their LLM calls. The run saw the job waiting, so the job then
    skips (scoring/runs.py); scoring announces new orphans itself, so nothing is announced twice.
    """
    scored = session.execute(
        select(
            func.count(func.distinct(ScoredLink.okr_id)),
            func.min(ScoredLink.scored_at),
            func.bool_or(ScoredLink.model != model),
        ).where(ScoredLink.org_id == org_id)
    ).one()
    okr_count = session.scalar(select(func.count()).where(Okr.org_id == org_id)) or 0
    objective_count = session.scalar(
        select(func.count()).where(StrategicObjective.org_id == org_id)
    )
    if okr_count == 0 or not objective_count:
        return False  # nothing to score
    if scored[0] != okr_count or scored[2]:
        return True
    if after_decisions and _decision_waits(session, org_id, scored[1]):
        return True
    drift = session.execute(
        select(func.count(), func.min(CheckInDrift.scored_at)).where(CheckInDrift.org_id == org_id)
    ).one()
    check_in_count = session.scalar(select(func.count()).where(CheckIn.org_id == org_id)) or 0
    if drift[0] != check_in_count:
        return True
    oldest = min(t for t in (scored[1], drift[1]) if t is not None)
    return changed_since(session, org_id, oldest)


def changed_since(session: Session, org_id: str, moment: datetime) -> bool:
    """True when a record of the organization was created or edited after `moment`."""
    for model in (Okr, KeyResult, StrategicObjective, Kpi, Team, CheckIn):
        newest = session.scalar(select(func.max(model.updated_at)).where(model.org_id == org_id))
        if newest is not None and newest > moment:
            return True
    return False


def okr_title_hash(okr: OkrRow) -> str:
    """The content hash under which the engine stored the OKR title's vector."""
    return content_hash(okr.title)

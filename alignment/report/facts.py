"""What a report reads: an organization's records and the score stage's stored verdicts.

All the report's SQL for plain records and verdicts is here (vectors are read in `duplicates`).
Rows come back as named tuples through column selects, not ORM objects: an organization of
2,000 OKRs has tens of thousands of rows to read, and loading them must stay cheap.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Any, NamedTuple

from sqlalchemy import Exists, func, or_, select, text
from sqlalchemy.orm import Session

from alignment.models import (
    CheckIn,
    CheckInDrift,
    CheckInFeedback,
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
from alignment.scoring.people_decisions import called_orphans
from alignment.scoring.reads import ON_THE_JUDGED_TEXT
from alignment.verdicts import Comparison


class OkrRow(NamedTuple):
    id: str
    team_id: str
    cycle_id: str
    title: str
    description: str | None
    # The day it was added as new work (approved or created through the API; None when it
    # came by an import, which mirrors plans that may be older): an OKR that joined its cycle
    # late is not stale from the cycle's start.
    added_on: date | None = None


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
    """A person's decision on an OKR's links (a rejection or a confirmation): who, when, and
    why if they said."""

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
    # OKRs a person called orphans ("serves none"): one rejected link is no such call
    called_orphan: set[str] = field(default_factory=set)
    # okr id -> the latest rejection of its links: an orphan by a person's decision names them
    rejected_by: dict[str, Decision] = field(default_factory=dict)
    # (okr, objective) a person confirmed -> their decision: such a link is theirs, not the
    # engine's, whatever its score
    confirmed_by: dict[tuple[str, str], Decision] = field(default_factory=dict)
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
    """Everything a report reads about the organization: one query per kind of row."""
    org = require_org(session, org_id)
    key_results = _key_results(session, org_id)
    declared = _declared_links(session, org_id)
    links, model = _scored_links(session, org_id)
    rejections = _rejections(session, org_id)
    return OrgFacts(
        org_id=org_id,
        name=org.name,
        cycles=_cycles(session, org_id),
        teams=_teams(session, org_id),
        objectives=_objectives(session, org_id),
        kpis=_kpis(session, org_id),
        okrs=_okrs(session, org_id),
        key_results=key_results,
        declared=declared,
        rejected={(r.okr_id, r.objective_id) for r in rejections},
        links=links,
        compared=_comparisons(session, org_id),
        check_ins=_check_ins(session, org_id),
        drift=_drift(session, org_id),
        model=model,
        called_orphan=called_orphans(session, org_id),
        rejected_by=_latest_decisions(rejections),
        confirmed_by={
            (r.okr_id, r.objective_id): Decision(r.decided_by, r.decided_at, r.note)
            for r in _link_decisions(session, org_id, "confirmed")
        },
    )


def _rows(session: Session, *columns: Any, where: Any, order: Any = ()) -> Sequence[Any]:
    """The selected columns of the rows matching `where`, as named tuples."""
    query = select(*columns).where(where)
    if order:
        query = query.order_by(*order)
    return session.execute(query).all()


def _cycles(session: Session, org_id: str) -> dict[str, tuple[date | None, date | None]]:
    """Each cycle's start and end, by id."""
    found = _rows(session, Cycle.id, Cycle.start, Cycle.end, where=Cycle.org_id == org_id)
    return {r.id: (r.start, r.end) for r in found}


def _teams(session: Session, org_id: str) -> dict[str, str]:
    """Each team's name, by id."""
    return dict(_rows(session, Team.id, Team.name, where=Team.org_id == org_id))


def _objectives(session: Session, org_id: str) -> dict[str, ObjectiveRow]:
    """The strategic objectives by id, SO-2 before SO-10."""
    found = _rows(
        session,
        StrategicObjective.id,
        StrategicObjective.title,
        StrategicObjective.perspective,
        where=StrategicObjective.org_id == org_id,
        order=(func.length(StrategicObjective.id), StrategicObjective.id),
    )
    return {r.id: ObjectiveRow(*r) for r in found}


def _kpis(session: Session, org_id: str) -> list[KpiRow]:
    """The objectives' KPIs, in the order the bundle listed them."""
    found = _rows(
        session,
        Kpi.id,
        Kpi.objective_id,
        Kpi.name,
        Kpi.kind,
        where=Kpi.org_id == org_id,
        order=(Kpi.position, Kpi.id),
    )
    return [KpiRow(*r) for r in found]


def _okrs(session: Session, org_id: str) -> dict[str, OkrRow]:
    """The OKRs by id, O-2 before O-10."""
    found = _rows(
        session,
        Okr.id,
        Okr.team_id,
        Okr.cycle_id,
        Okr.title,
        Okr.description,
        Okr.added_at,
        where=Okr.org_id == org_id,
        order=(func.length(Okr.id), Okr.id),
    )
    # Days are UTC days, as the dates of check-ins and cycles are read.
    return {
        r.id: OkrRow(
            r.id,
            r.team_id,
            r.cycle_id,
            r.title,
            r.description,
            added_on=r.added_at.astimezone(UTC).date() if r.added_at else None,
        )
        for r in found
    }


def _key_results(session: Session, org_id: str) -> dict[str, list[KrRow]]:
    """Each OKR's key results, in the order the bundle listed them."""
    by_okr: dict[str, list[KrRow]] = defaultdict(list)
    for r in _rows(
        session,
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
        by_okr[r.okr_id].append(KrRow(*r))
    return dict(by_okr)


def _declared_links(session: Session, org_id: str) -> dict[str, set[str]]:
    """The objectives each OKR says it serves."""
    declared: dict[str, set[str]] = defaultdict(set)
    for okr_id, objective_id in _rows(
        session, DeclaredLink.okr_id, DeclaredLink.objective_id, where=DeclaredLink.org_id == org_id
    ):
        declared[okr_id].add(objective_id)
    return dict(declared)


def _scored_links(session: Session, org_id: str) -> tuple[dict[str, list[LinkRow]], str | None]:
    """Each OKR's stored links worth showing, by rank, and the model that scored them."""
    links: dict[str, list[LinkRow]] = defaultdict(list)
    model = None
    for r in _rows(
        session,
        ScoredLink.okr_id,
        ScoredLink.objective_id,
        ScoredLink.rank,
        ScoredLink.score,
        ScoredLink.label,
        ScoredLink.evidence[0].label("evidence"),
        ScoredLink.adjudication["engine_label"].astext.label("engine_label"),
        ScoredLink.model,
        # Beyond the best link, only aligned/weak links and declared ones (for the audit) matter.
        where=(ScoredLink.org_id == org_id)
        & or_(ScoredLink.label != "none", ScoredLink.rank == 1, _declared_by_its_okr()),
        order=(ScoredLink.okr_id, ScoredLink.rank),
    ):
        moved = r.engine_label if r.engine_label not in (None, r.label) else None
        links[r.okr_id].append(LinkRow(r.objective_id, r.rank, r.score, r.label, r.evidence, moved))
        model = r.model
    return dict(links), model


def _declared_by_its_okr() -> Exists:
    """True for a scored link whose OKR declares that objective too."""
    return (
        select(DeclaredLink.okr_id)
        .where(
            DeclaredLink.org_id == ScoredLink.org_id,
            DeclaredLink.okr_id == ScoredLink.okr_id,
            DeclaredLink.objective_id == ScoredLink.objective_id,
        )
        .exists()
    )


def _rejections(session: Session, org_id: str) -> Sequence[Any]:
    """People's rejections of links, oldest first, with who decided, when and why."""
    return _link_decisions(session, org_id, "rejected")


def _link_decisions(session: Session, org_id: str, verdict: str) -> Sequence[Any]:
    """People's decisions of one verdict on links, oldest first, with who decided, when and
    why."""
    # Only those on the OKR text as it is now: one on earlier text no longer counts.
    return session.execute(
        select(
            LinkFeedback.okr_id,
            LinkFeedback.objective_id,
            LinkFeedback.decided_by,
            LinkFeedback.decided_at,
            LinkFeedback.note,
        )
        .join(ScoredLink, ON_THE_JUDGED_TEXT)
        .where(LinkFeedback.org_id == org_id, LinkFeedback.verdict == verdict)
        .order_by(LinkFeedback.decided_at, LinkFeedback.objective_id)  # one action, one order
    ).all()


def _latest_decisions(rejections: Sequence[Any]) -> dict[str, Decision]:
    """Each OKR's latest rejection, from `rejections` oldest first."""
    return {r.okr_id: Decision(r.decided_by, r.decided_at, r.note) for r in rejections}


def _comparisons(session: Session, org_id: str) -> dict[str, Comparison]:
    """Each OKR's stored comparison of its orphan score with the median."""
    found = _rows(
        session,
        OkrVerdict.okr_id,
        OkrVerdict.best_score,
        OkrVerdict.reference,
        where=OkrVerdict.org_id == org_id,
    )
    return {okr_id: Comparison.of(*c) for okr_id, *c in found}


def _check_ins(session: Session, org_id: str) -> list[CheckInRow]:
    """The check-ins by date (undated ones last)."""
    found = _rows(
        session,
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
    return [CheckInRow(*r) for r in found]


def _drift(session: Session, org_id: str) -> dict[str, DriftRow]:
    """Each check-in's stored drift verdict, by check-in id."""
    found = _rows(
        session,
        CheckInDrift.check_in_id,
        CheckInDrift.score,
        CheckInDrift.drifting,
        CheckInDrift.evidence,
        CheckInDrift.verdict,
        where=CheckInDrift.org_id == org_id,
    )
    return {r.check_in_id: DriftRow(r.score, r.drifting, r.evidence, r.verdict) for r in found}


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


def decided_since(session: Session, org_id: str, moment: datetime) -> bool:
    """True when a person decided a link or a check-in after `moment`: a report shows the
    verdicts and the "awaiting review" counts as they were, so the page is out of date. (Not
    part of `changed_since`, which also says when scoring is due: a decision queues its own.)"""
    for stamp in (LinkFeedback.decided_at, CheckInFeedback.decided_at):
        newest = session.scalar(select(func.max(stamp)).where(stamp.class_.org_id == org_id))
        if newest is not None and newest > moment:
            return True
    return False


def okr_title_hash(okr: OkrRow) -> str:
    """The content hash under which the engine stored the OKR title's vector."""
    return content_hash(okr.title)

"""Context building: everything a drafter may use, gathered from the organization's records.

A suggestion sees the team (mission), the target cycle (`cycles.target_cycle`: the current one,
or the next once it is more than half over) and the one before it, the team's OKRs of
both cycles with their check-ins, the candidate strategic objectives with KPIs, and similar OKRs
of other teams (pgvector neighbours of each objective). A summary sees the OKRs in its scope
(a team, or the OKRs serving an objective) for one cycle, key-result progress, and findings.
Both are plain data: the LLM drafter renders them into a prompt, the offline one into templates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from sqlalchemy.orm import Session

from alignment.drafting import sources
from alignment.drafting.cycles import current_cycle, data_today, target_cycle
from alignment.drafting.findings import elapsed, ensure_scored, kr_status, scope_findings
from alignment.drafting.schemas import SuggestionRequest, SummaryRequest
from alignment.drafting.similar import OrgVectors
from alignment.embedder import Embedder
from alignment.errors import Invalid

SIMILAR_PER_OBJECTIVE = 3
CHECKINS_IN_PROMPT = 6  # most recent per OKR; older ones add tokens, not insight


@dataclass
class SuggestContext:
    org_id: str
    team: dict[str, Any]
    cycle: dict[str, Any]
    previous_cycle: str | None
    mode: Literal["given", "suggest"]
    objectives: list[dict[str, Any]]  # candidates: the requested ones, or all when suggesting
    team_okrs: list[dict[str, Any]]  # this team, previous and target cycle
    similar_okrs: list[dict[str, Any]]  # other teams' OKRs near the candidate objectives
    relevance: dict[str, float] = field(default_factory=dict)  # objective id -> team fit
    vectors: OrgVectors | None = field(default=None, repr=False)
    cycle_reason: str | None = None  # why this cycle, when none was asked for

    def prompt_inputs(self) -> dict[str, Any]:
        return {
            "team": self.team,
            "cycle": _dates(self.cycle),
            "previous_cycle": self.previous_cycle,
            "mode": self.mode,
            "objectives": [
                {**o, "team_relevance": self.relevance.get(o["id"])} for o in self.objectives
            ],
            "team_okrs": [_trim(o) for o in self.team_okrs],
            "similar_okrs": self.similar_okrs,
        }


@dataclass
class SummaryContext:
    org_id: str
    scope: Literal["team", "objective"]
    subject: dict[str, Any]  # the team or the objective
    cycle: dict[str, Any]
    as_of: date | None
    okrs: list[dict[str, Any]]
    findings: list[dict[str, Any]]

    @property
    def check_in_ids(self) -> set[str]:
        return {c["id"] for o in self.okrs for c in o["check_ins"]}

    @property
    def finding_ids(self) -> set[str]:
        return {f["id"] for f in self.findings}

    def prompt_inputs(self) -> dict[str, Any]:
        return {
            "scope": self.scope,
            "subject": self.subject,
            "cycle": _dates(self.cycle),
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "okrs": [_trim(o) for o in self.okrs],
            "findings": self.findings,
        }


def _dates(value: Any) -> Any:
    """JSON-ready copy: dates as ISO strings (prompts render with `tojson`)."""
    if isinstance(value, dict):
        return {k: _dates(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_dates(v) for v in value]
    if isinstance(value, date):
        return value.isoformat()
    return value


def _trim(okr: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in okr.items() if k != "scores"}
    out["check_ins"] = okr["check_ins"][-CHECKINS_IN_PROMPT:]
    return _dates(out)


def build_suggest_context(
    session: Session, org_id: str, request: SuggestionRequest, *, embedder: Embedder
) -> SuggestContext:
    team = sources.team(session, org_id, request.team)
    cycle, previous = sources.pick_cycle(session, org_id, request.cycle)
    reason = None
    if request.cycle is None:
        ordered = sources.cycles(session, org_id)
        cycle, previous, reason = target_cycle(ordered, data_today(session, org_id))
    ensure_scored(session, org_id, embedder)
    given = request.objectives != "suggest"
    candidates = sources.objectives(session, org_id, request.objectives if given else None)
    if not candidates:
        raise Invalid(f"organization {org_id!r} has no strategic objectives to serve")
    wanted_cycles = [c for c in (previous, cycle["id"]) if c]
    team_okrs = sources.okrs(session, org_id, team=team["id"], cycles=wanted_cycles)
    vectors = OrgVectors(session, org_id, embedder)
    relevance = _relevance(vectors.mission_relevance(team["mission"]), team_okrs)
    ranked = sorted(candidates, key=lambda o: -relevance.get(o["id"], 0.0))
    similar = _similar(session, org_id, vectors, ranked[:3], team["id"])
    return SuggestContext(
        org_id=org_id,
        team=team,
        cycle=cycle,
        previous_cycle=previous,
        mode="given" if given else "suggest",
        objectives=candidates if given else ranked,
        team_okrs=team_okrs,
        similar_okrs=similar,
        relevance=relevance,
        vectors=vectors,
        cycle_reason=reason,
    )


def serves(okr: dict[str, Any]) -> list[str]:
    """What an OKR serves: the engine's aligned links, or its declarations if never scored."""
    return okr["aligned_to"] if okr["aligned_to"] is not None else okr["declared_links"]


def _relevance(mission: dict[str, float], team_okrs: list[dict[str, Any]]) -> dict[str, float]:
    """How well each objective fits the team: mission similarity plus its OKR history."""
    history: dict[str, int] = {}
    for okr in team_okrs:
        for objective_id in serves(okr):
            history[objective_id] = history.get(objective_id, 0) + 1
    most = max(history.values(), default=0) or 1
    return {o: round(0.5 * sim + 0.5 * history.get(o, 0) / most, 4) for o, sim in mission.items()}


def _similar(
    session: Session,
    org_id: str,
    vectors: OrgVectors,
    objectives: list[dict[str, Any]],
    team_id: str,
) -> list[dict[str, Any]]:
    hits: dict[str, tuple[float, str]] = {}
    for objective in objectives:
        for okr_id, cosine in vectors.nearest_okrs(
            vectors.objective_text(objective["id"]),
            exclude_team=team_id,
            limit=SIMILAR_PER_OBJECTIVE,
        ):
            if okr_id not in hits or hits[okr_id][0] < cosine:
                hits[okr_id] = (cosine, objective["id"])
    records = {o["id"]: o for o in sources.okrs(session, org_id, ids=list(hits))}
    return [
        {
            "id": okr_id,
            "team": records[okr_id]["team"],
            "cycle": records[okr_id]["cycle"],
            "title": records[okr_id]["title"],
            "key_results": [
                {"id": k["id"], "title": k["title"], "kind": k["kind"]}
                for k in records[okr_id]["key_results"]
            ],
            "near_objective": objective_id,
            "similarity": cosine,
        }
        for okr_id, (cosine, objective_id) in sorted(hits.items(), key=lambda kv: -kv[1][0])
        if okr_id in records
    ]


def build_summary_context(
    session: Session, org_id: str, request: SummaryRequest, *, embedder: Embedder
) -> SummaryContext:
    cycle, _ = sources.pick_cycle(session, org_id, request.cycle)
    if request.cycle is None:
        cycle = current_cycle(sources.cycles(session, org_id), data_today(session, org_id))
    ensure_scored(session, org_id, embedder)
    if request.team is not None:
        subject = sources.team(session, org_id, request.team)
        okrs = sources.okrs(session, org_id, team=request.team, cycles=[cycle["id"]])
    else:
        subject = sources.objectives(
            session, org_id, [request.objective or ""], path="$.objective"
        )[0]
        okrs = [
            o
            for o in sources.okrs(session, org_id, cycles=[cycle["id"]])
            if subject["id"] in serves(o)
        ]
    findings, as_of = scope_findings(
        session,
        org_id,
        cycle_id=cycle["id"],
        okr_ids=[o["id"] for o in okrs],
        team_id=request.team,
        objective_id=request.objective,
    )
    for okr in okrs:
        for kr in okr["key_results"]:
            kr["status"] = kr_status(kr, okr["check_ins"])
    return SummaryContext(
        org_id=org_id,
        scope="team" if request.team is not None else "objective",
        subject=subject,
        cycle={**cycle, "elapsed": elapsed(cycle, as_of)},
        as_of=as_of,
        okrs=okrs,
        findings=findings,
    )

"""Coverage of the strategy by the OKRs in scope: per objective, per perspective, per team.

Findings: `uncovered_objective`, `thin_coverage`, `perspective_imbalance`. Also the summary
figures of the report (alignment health, coverage tables, the teams x objectives heat map).
Only `aligned` links serve an objective. An objective with none is uncovered unless a weak link
to it waits in the review queue (`in_review_queue`): then it awaits review, and the summary
counts it instead of an alarm a person's confirmation could prove false.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from alignment.models import PERSPECTIVES
from alignment.quality import quote
from alignment.report.config import ReportConfig
from alignment.report.facts import OrgFacts
from alignment.report.findings import Finding, Records, natural
from alignment.report.scope import Scope
from alignment.verdicts import verdicts
from alignment.vocabulary import counted, perspective_name


@dataclass
class Served:
    aligned: list[tuple[str, float]] = field(default_factory=list)  # (okr id, score)
    weak: list[tuple[str, float]] = field(default_factory=list)
    # The weak ones a person decides in the review queue (`in_review_queue`): the objective is
    # not covered for sure, nor confidently uncovered, while they wait.
    awaiting: list[tuple[str, float]] = field(default_factory=list)

    @property
    def strength(self) -> float:
        return round(sum(score for _, score in self.aligned), 4)


def objective_coverage(facts: OrgFacts, okr_ids: Iterable[str]) -> dict[str, Served]:
    served = {objective_id: Served() for objective_id in facts.objectives}
    queued = in_review_queue(facts)
    for okr_id in okr_ids:
        for link in facts.links.get(okr_id, ()):
            if link.label == "aligned":
                served[link.objective_id].aligned.append((okr_id, link.score))
            elif link.label == "weak":
                served[link.objective_id].weak.append((okr_id, link.score))
                if (okr_id, link.objective_id) in queued:
                    served[link.objective_id].awaiting.append((okr_id, link.score))
    for s in served.values():
        s.aligned.sort(key=lambda x: -x[1])
        s.weak.sort(key=lambda x: -x[1])
        s.awaiting.sort(key=lambda x: -x[1])
    return served


def in_review_queue(facts: OrgFacts) -> set[tuple[str, str]]:
    """(OKR, objective) weak links a person decides in the review queue: the OKR is unsure as a
    whole (`needs_review`), or the link is one its team declared and nobody decided
    (`scoring.unsure.awaiting_review` reads the same from the database). A weak link of an OKR
    aligned elsewhere or of a confident orphan waits for nobody."""
    far_below = {okr: c.far_below for okr, c in facts.compared.items()}
    verdict = verdicts(facts.links, facts.called_orphan, far_below)
    return {
        (okr_id, link.objective_id)
        for okr_id, links in facts.links.items()
        for link in links
        if link.label == "weak"
        and (
            verdict.get(okr_id) == "needs_review"
            or (
                link.objective_id in facts.declared.get(okr_id, ())
                and (okr_id, link.objective_id) not in facts.rejected
                and (okr_id, link.objective_id) not in facts.confirmed_by
            )
        )
    }


def _okr_list(items: list[tuple[str, float]], limit: int = 5) -> list[dict[str, Any]]:
    return [{"okr_id": okr_id, "score": round(score, 4)} for okr_id, score in items[:limit]]


def find_coverage(
    facts: OrgFacts, scope: Scope, config: ReportConfig, rec: Records
) -> list[Finding]:
    if scope.okr_ids and not any(facts.links.get(o) for o in scope.okr_ids):
        return []  # OKRs not scored yet: coverage would accuse every objective wrongly
    served = objective_coverage(facts, scope.okr_ids)
    out: list[Finding] = []
    for objective_id, s in served.items():
        objective = facts.objectives[objective_id]
        n = len(s.aligned)
        evidence = {
            "aligned_okrs": _okr_list(s.aligned),
            "weak_okrs": _okr_list(s.weak),
            "awaiting_review_okrs": _okr_list(s.awaiting),
            "strength": s.strength,
            "minimum": config.thin_coverage_min_okrs,
        }
        waiting = f"; {counted(len(s.awaiting), 'more OKR')} awaiting review" if s.awaiting else ""
        if n == 0 and s.awaiting:
            continue  # no alarm while a person may yet confirm one: the summary counts it
        if n == 0 and config.enabled("uncovered_objective"):
            weak = f"; {counted(len(s.weak), 'weak candidate')}" if s.weak else ""
            weak = weak if scope.okr_ids else "; there are no OKRs in scope"
            finding = Finding(
                "uncovered_objective",
                "high",
                f"no OKR serves {quote(objective.title)}{weak}",
                [rec.objective(objective_id)],
                evidence,
                (objective_id,),
            )
        elif 0 < n < config.thin_coverage_min_okrs and config.enabled("thin_coverage"):
            finding = Finding(
                "thin_coverage",
                "medium",
                f"only {counted(n, 'OKR')} {'serves' if n == 1 else 'serve'} "
                f"{quote(objective.title)} "
                f"(at least {config.thin_coverage_min_okrs} expected){waiting}",
                [rec.objective(objective_id), *(rec.okr(o) for o, _ in s.aligned)],
                evidence,
                (objective_id,),
            )
        else:
            continue
        out.append(rec.objective_scope(finding, [objective_id]))
    if config.enabled("perspective_imbalance"):
        out += _perspective_findings(facts, served, config, rec, bool(scope.okr_ids))
    return out


def perspective_table(facts: OrgFacts, served: dict[str, Served]) -> list[dict[str, Any]]:
    objectives: dict[str, list[str]] = defaultdict(list)
    for o in facts.objectives.values():
        if o.perspective:
            objectives[o.perspective].append(o.id)
    total_objectives = sum(len(v) for v in objectives.values())
    total_links = sum(len(served[o].aligned) for ids in objectives.values() for o in ids)
    rows = []
    for perspective in PERSPECTIVES:
        ids = objectives.get(perspective, [])
        if not ids:
            continue
        links = sum(len(served[o].aligned) for o in ids)
        okrs = {okr for o in ids for okr, _ in served[o].aligned}
        rows.append(
            {
                "perspective": perspective,
                "objectives": ids,
                "aligned_links": links,
                "okrs": len(okrs),
                "share_of_objectives": round(len(ids) / total_objectives, 4),
                "share_of_links": round(links / total_links, 4) if total_links else 0.0,
            }
        )
    return rows


def _perspective_findings(
    facts: OrgFacts, served: dict[str, Served], config: ReportConfig, rec: Records, okrs: bool
) -> list[Finding]:
    out: list[Finding] = []
    table = perspective_table(facts, served)
    if okrs and sum(row["aligned_links"] for row in table) == 0:
        return out  # OKRs serve nothing: their orphan findings already say so
    for row in table:
        name, ratio = row["perspective"], 0.0
        if row["share_of_objectives"]:
            ratio = row["share_of_links"] / row["share_of_objectives"]
        if row["aligned_links"] == 0:
            severity, what = "high", "unserved"
        elif ratio < config.starved_ratio:
            severity, what = "medium", "starved"
        else:
            continue
        finding = Finding(
            "perspective_imbalance",
            severity,
            f"the {perspective_name(name)} perspective is {what}: "
            f"{row['share_of_objectives']:.0%} of the objectives, "
            f"{row['share_of_links']:.0%} of the OKR links ({counted(row['okrs'], 'OKR')})",
            [rec.perspective(name), *(rec.objective(o) for o in row["objectives"])],
            {**row, "ratio": round(ratio, 4), "threshold": config.starved_ratio},
            (name,),
        )
        finding.perspectives.add(name)
        out.append(finding)
    return out


def summarize(facts: OrgFacts, okr_ids: list[str], objective_ids: list[str]) -> dict[str, Any]:
    """Alignment health, coverage per objective and perspective, and the heat map."""
    served = objective_coverage(facts, okr_ids)
    aligned_okrs = [o for o in okr_ids if facts.aligned(o)]
    teams = sorted({facts.okrs[o].team_id for o in okr_ids}, key=natural)
    cells = {t: dict.fromkeys(objective_ids, 0) for t in teams}
    for objective_id in objective_ids:
        for okr_id, _ in served[objective_id].aligned:
            cells[facts.okrs[okr_id].team_id][objective_id] += 1
    return {
        "okrs": len(okr_ids),
        "aligned_okrs": len(aligned_okrs),
        "alignment_health": round(len(aligned_okrs) / len(okr_ids), 4) if okr_ids else None,
        # Labels an LLM's second opinion moved (alignment/adjudicate.py), for a person to check.
        "labels_moved_by_llm": sum(
            1 for o in okr_ids for link in facts.links.get(o, ()) if link.engine_label
        ),
        "objectives": [
            {
                "id": o,
                "title": facts.objectives[o].title,
                "perspective": facts.objectives[o].perspective,
                "aligned_okrs": len(served[o].aligned),
                "weak_okrs": len(served[o].weak),
                "awaiting_review_okrs": len(served[o].awaiting),
                "strength": served[o].strength,
            }
            for o in objective_ids
        ],
        # No aligned OKR yet, but the review queue holds a weak candidate: not uncovered.
        "objectives_awaiting_review": sum(
            1 for o in objective_ids if served[o].awaiting and not served[o].aligned
        ),
        "perspectives": [
            row
            for row in perspective_table(facts, served)
            if set(row["objectives"]) & set(objective_ids)
        ],
        "heatmap": {
            "teams": [{"id": t, "name": facts.teams.get(t, t)} for t in teams],
            "objectives": [{"id": o, "title": facts.objectives[o].title} for o in objective_ids],
            "aligned_okrs": [[cells[t][o] for o in objective_ids] for t in teams],
        },
    }

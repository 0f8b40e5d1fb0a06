"""Findings about the shape of the OKR portfolio: overload, lead/lag balance, OKR quality.

Overload and the quality rules follow from the records alone. The objective half of
`lead_lag_gap` reads which OKRs serve an objective from the stored links.
"""

from __future__ import annotations

from collections import defaultdict

from alignment.quality import RULES, KrInput, OkrInput, check_okr
from alignment.report.config import ReportConfig
from alignment.report.coverage import objective_coverage
from alignment.report.facts import OrgFacts
from alignment.report.findings import Finding, Records
from alignment.report.scope import Scope
from alignment.vocabulary import counted


def find_portfolio(
    facts: OrgFacts, scope: Scope, config: ReportConfig, rec: Records
) -> list[Finding]:
    out: list[Finding] = []
    if config.enabled("overload"):
        out += _overload(facts, scope, config, rec)
    if config.enabled("lead_lag_gap"):
        out += _lead_lag_objectives(facts, scope, rec) + _lead_lag_teams(facts, scope, rec)
    out += _quality(facts, scope, config, rec)
    return out


def _overload(facts: OrgFacts, scope: Scope, config: ReportConfig, rec: Records) -> list[Finding]:
    groups: dict[tuple[str, str], list[str]] = defaultdict(list)
    for okr_id in scope.okr_ids:
        okr = facts.okrs[okr_id]
        groups[(okr.team_id, okr.cycle_id)].append(okr_id)
    kr_limit = config.max_okrs_per_team * config.max_key_results
    out = []
    for (team_id, cycle_id), okr_ids in groups.items():
        n_okrs = len(okr_ids)
        n_krs = sum(len(facts.key_results.get(o, ())) for o in okr_ids)
        over = n_okrs - config.max_okrs_per_team
        if over <= 0 and n_krs <= kr_limit:
            continue
        severity = "high" if over >= 3 else "medium" if over == 2 or n_krs > kr_limit else "low"
        finding = Finding(
            "overload",
            severity,
            f"{facts.teams.get(team_id, team_id)} carries {n_okrs} OKRs with {n_krs} key results "
            f"in {cycle_id} (limits {config.max_okrs_per_team} OKRs, {kr_limit} key results)",
            [rec.team(team_id), rec.cycle(cycle_id), *(rec.okr(o) for o in okr_ids)],
            {
                "okrs": n_okrs,
                "key_results": n_krs,
                "max_okrs": config.max_okrs_per_team,
                "max_key_results": kr_limit,
                "key_results_per_okr": {o: len(facts.key_results.get(o, ())) for o in okr_ids},
            },
            (team_id, cycle_id),
            cycles={cycle_id},
            teams={team_id},
        )
        out.append(rec.okr_scope(finding, okr_ids))
    return out


def _kinds(facts: OrgFacts, okr_ids: list[str]) -> dict[str, list[str | None]]:
    return {o: [kr.kind for kr in facts.key_results.get(o, ())] for o in okr_ids}


def _lead_lag_objectives(facts: OrgFacts, scope: Scope, rec: Records) -> list[Finding]:
    lag_kpis: dict[str, list[str]] = defaultdict(list)
    for kpi in facts.kpis:
        if kpi.kind == "lag":
            lag_kpis[kpi.objective_id].append(kpi.id)
    served = objective_coverage(facts, scope.okr_ids)
    out = []
    for objective_id, kpi_ids in lag_kpis.items():
        okr_ids = [o for o, _ in served[objective_id].aligned]
        kinds = _kinds(facts, okr_ids)
        known = [k for ks in kinds.values() for k in ks if k]
        if not okr_ids or not known or "lead" in known:
            continue  # uncovered (its own finding), kinds unknown, or a lead KR exists
        names = {k.id: k.name for k in facts.kpis}
        finding = Finding(
            "lead_lag_gap",
            "medium",
            f"no lead key result drives the lag KPIs of {objective_id} "
            f"({', '.join(names[k] for k in kpi_ids)}); its {counted(len(okr_ids), 'OKR')} "
            f"{'measures' if len(okr_ids) == 1 else 'measure'} "
            "only lagging results",
            [rec.objective(objective_id), *(rec.okr(o) for o in okr_ids)],
            {
                "lag_kpis": [{"id": k, "name": names[k]} for k in kpi_ids],
                "okr_key_result_kinds": kinds,
            },
            ("objective", objective_id),
        )
        out.append(rec.okr_scope(rec.objective_scope(finding, [objective_id]), okr_ids))
    return out


def _lead_lag_teams(facts: OrgFacts, scope: Scope, rec: Records) -> list[Finding]:
    by_team: dict[str, list[str]] = defaultdict(list)
    for okr_id in scope.okr_ids:
        by_team[facts.okrs[okr_id].team_id].append(okr_id)
    out = []
    for team_id, okr_ids in by_team.items():
        kinds = _kinds(facts, okr_ids)
        known = [k for ks in kinds.values() for k in ks if k]
        if len(known) < 2 or any(k != "lag" for k in known):
            continue
        finding = Finding(
            "lead_lag_gap",
            "low",
            f"every key result of {facts.teams.get(team_id, team_id)} is a lagging result "
            f"({len(known)} key results): nothing shows early whether they are on track",
            [rec.team(team_id), *(rec.okr(o) for o in okr_ids)],
            {"okr_key_result_kinds": kinds},
            ("team", team_id),
            teams={team_id},
        )
        out.append(rec.okr_scope(finding, okr_ids))
    return out


def _quality(facts: OrgFacts, scope: Scope, config: ReportConfig, rec: Records) -> list[Finding]:
    quality = config.quality()
    out = []
    for okr_id in scope.okr_ids:
        okr = facts.okrs[okr_id]
        krs = facts.key_results.get(okr_id, [])
        problems = check_okr(
            OkrInput(
                okr.id,
                okr.title,
                okr.description,
                tuple(KrInput(k.id, k.title, k.unit, k.baseline, k.target, k.kind) for k in krs),
            ),
            quality,
        )
        for p in problems:
            records = [rec.okr(okr_id), rec.team(okr.team_id)]
            key: tuple[str, ...] = (okr_id,)
            evidence: dict[str, object] = {"rule": p.rule, "rationale": RULES[p.rule]}
            if p.key_result_id:
                kr = facts.kr(p.key_result_id)
                records.insert(0, rec.key_result(p.key_result_id))
                key = (okr_id, p.key_result_id)
                if kr is not None:
                    evidence.update(
                        title=kr.title, unit=kr.unit, baseline=kr.baseline, target=kr.target
                    )
            else:
                evidence.update(title=okr.title, key_results=len(krs))
            finding = Finding(p.rule, p.severity, p.message, records, evidence, key)
            out.append(rec.okr_scope(finding, [okr_id]))
    return out

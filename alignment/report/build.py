"""Build a report run: make sure verdicts are fresh, collect findings, summarize, store.

Runs in the caller's transaction. Scoring happens first only when the organization has never
been scored or its records changed since (`needs_scoring`); otherwise the report is pure
reading and arithmetic over stored verdicts and vectors.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from alignment.embed import EmbedProgress
from alignment.embedder import Embedder
from alignment.report.config import ReportConfig, ReportFilters, check_filters, parse_config
from alignment.report.coverage import find_coverage, summarize
from alignment.report.duplicates import find_duplicates
from alignment.report.facts import OrgFacts, load_facts, needs_scoring
from alignment.report.findings import Finding, Records, sort_key
from alignment.report.kinds import KINDS, SEVERITIES
from alignment.report.linkage import find_linkage
from alignment.report.portfolio import find_portfolio
from alignment.report.progress import find_progress
from alignment.report.scope import Scope, make_scope
from alignment.report.store import ReportRun, load_settings, save_run
from alignment.repository import require_org
from alignment.scoring.stage import score_organization

SCHEMA_VERSION = "goldenthread.report/v1"
Stage = Callable[[str], None]


def effective_config(
    session: Session, org_id: str, overrides: dict[str, Any] | None = None
) -> ReportConfig:
    """Defaults, then the organization's stored settings, then this build's overrides."""
    return parse_config({**load_settings(session, org_id), **(overrides or {})})


def build_report(
    session: Session,
    org_id: str,
    *,
    embedder: Embedder,
    filters: ReportFilters | None = None,
    as_of: date | None = None,
    overrides: dict[str, Any] | None = None,
    on_stage: Stage | None = None,
    on_embed: EmbedProgress | None = None,
) -> ReportRun:
    stage = on_stage or (lambda _label: None)
    filters = filters or ReportFilters()
    require_org(session, org_id)
    config = effective_config(session, org_id, overrides)
    if needs_scoring(session, org_id, embedder.model_name, after_decisions=True):
        stage("scoring (embedding new texts)")
        score_organization(session, org_id, embedder=embedder, progress=on_embed)
    stage("reading records and verdicts")
    facts = load_facts(session, org_id)
    check_filters(filters, cycles=set(facts.cycles), teams=set(facts.teams))
    scope = make_scope(facts, cycles=filters.cycle, as_of=as_of)
    facts = facts.known_on(scope.as_of)  # a report as of a day sees nothing written after it
    stage("collecting findings")
    findings = collect_findings(session, facts, scope, config)
    listed = sorted((f.as_dict() for f in findings if _selected(f, filters)), key=sort_key)
    stage("summarizing")
    summary = _summary(facts, scope, filters, listed)
    stage("storing the run")
    return save_run(
        session,
        org_id,
        schema_version=SCHEMA_VERSION,
        inputs_version=inputs_version(facts, scope, config),
        model=facts.model or embedder.model_name,
        as_of=scope.as_of,
        filters=_stored_filters(filters, as_of, overrides),
        config=config.model_dump(mode="json"),
        summary=summary,
        findings=listed,
    )


def _stored_filters(
    filters: ReportFilters, as_of: date | None, overrides: dict[str, Any] | None
) -> dict[str, list[str]]:
    """The run's filters, plus an explicit `as_of` and one-off settings: each makes a what-if run,
    which is not the organization's latest report and is compared with others as such."""
    out = filters.as_dict()
    if as_of is not None:
        out["as_of"] = [as_of.isoformat()]
    if overrides:
        out["settings"] = [f"{k}={json.dumps(v)}" for k, v in sorted(overrides.items())]
    return out


def collect_findings(
    session: Session, facts: OrgFacts, scope: Scope, config: ReportConfig
) -> list[Finding]:
    rec = Records(facts)
    return [
        *find_linkage(facts, scope, config, rec),
        *find_coverage(facts, scope, config, rec),
        *find_duplicates(session, facts, scope, config, rec),
        *find_progress(facts, scope, config, rec),
        *find_portfolio(facts, scope, config, rec),
    ]


def _selected(finding: Finding, filters: ReportFilters) -> bool:
    return (
        (not filters.kind or finding.kind in filters.kind)
        and (not filters.severity or finding.severity in filters.severity)
        and (not filters.team or bool(finding.teams & set(filters.team)))
        and (not filters.perspective or bool(finding.perspectives & set(filters.perspective)))
    )


def _summary(
    facts: OrgFacts, scope: Scope, filters: ReportFilters, listed: list[dict[str, Any]]
) -> dict[str, Any]:
    okr_ids = [
        o for o in scope.okr_ids if not filters.team or facts.okrs[o].team_id in filters.team
    ]
    objective_ids = [
        o.id
        for o in facts.objectives.values()
        if not filters.perspective or o.perspective in filters.perspective
    ]
    chosen = set(okr_ids)
    in_scope = [c for c in facts.check_ins if c.okr_id in chosen]
    by_kind = Counter(f["kind"] for f in listed)
    by_severity = Counter(f["severity"] for f in listed)
    return {
        "organization": {"id": facts.org_id, "name": facts.name},
        "cycles": list(scope.cycles),
        **summarize(facts, okr_ids, objective_ids),
        "check_ins": len(in_scope),
        "awaiting_review": by_kind.get("needs_review", 0),
        "drifting_check_ins": sum(
            1 for c in in_scope if (d := facts.drift.get(c.id)) is not None and d.drifting
        ),
        # check-ins the engine is unsure about: no finding, a person decides in the queue
        "check_ins_awaiting_review": sum(
            1
            for c in in_scope
            if (d := facts.drift.get(c.id)) is not None and d.verdict == "needs_review"
        ),
        "counts": {
            "findings": len(listed),
            "by_severity": {s: by_severity.get(s, 0) for s in SEVERITIES},
            "by_kind": {k: by_kind[k] for k in KINDS if by_kind.get(k)},
        },
    }


def inputs_version(facts: OrgFacts, scope: Scope, config: ReportConfig) -> str:
    """A digest of everything a run's findings depend on before the listing filters.

    Equal digests mean the same inputs; two runs with equal digests and equal team,
    perspective, kind and severity filters list the same findings (docs/report.md).
    """
    digest = hashlib.sha256()

    def feed(part: Any) -> None:
        digest.update(json.dumps(part, sort_keys=True, default=str).encode())
        digest.update(b"\n")

    def rows(items: Any) -> list[Any]:
        return [list(item) for item in items]

    feed([facts.model, SCHEMA_VERSION, config.model_dump(mode="json"), scope.as_of, scope.cycles])
    feed([sorted(facts.cycles.items()), sorted(facts.teams.items())])
    feed([rows(facts.objectives.values()), rows(facts.kpis), rows(facts.okrs.values())])
    feed({o: rows(krs) for o, krs in facts.key_results.items()})
    feed({o: sorted(v) for o, v in facts.declared.items()})
    feed(sorted(facts.rejected))
    # Fed since a rejected link stopped counting as an orphan decision: a run stored under
    # the old rule (such an OKR "decided" an orphan, its dropped link still a finding) has
    # another digest, so it is not reused for the same records.
    feed(sorted(facts.called_orphan))
    feed(
        {
            o: [(lk.objective_id, lk.label, round(lk.score, 4)) for lk in links]
            for o, links in facts.links.items()
        }
    )
    feed(rows(facts.check_ins))
    feed(
        {c: (d.drifting, round(d.score, 4), d.evidence, d.verdict) for c, d in facts.drift.items()}
    )
    return digest.hexdigest()

"""The report's findings for one summary's scope, and key-result progress.

A review summary cites the same findings the strategy office sees in the report
(`alignment.report`): same kinds, same stable keys (`checkin_drift:C-21`, `orphan_okr:O-11`),
measured on the same date. Findings are kept when one of their records is in the summary's scope
(an OKR of it, its team, or its objective).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from alignment.embedder import Embedder
from alignment.quality import QualityConfig
from alignment.report.build import collect_findings, effective_config
from alignment.report.facts import load_facts, needs_scoring
from alignment.report.findings import sort_key
from alignment.report.kinds import KINDS
from alignment.report.scope import make_scope
from alignment.scoring.stage import score_organization


def ensure_scored(session: Session, org_id: str, embedder: Embedder) -> None:
    """Score first when verdicts are missing or older than the records, as the report does."""
    if needs_scoring(session, org_id, embedder.model_name):
        score_organization(session, org_id, embedder=embedder)


def quality_config(session: Session, org_id: str) -> QualityConfig:
    """The organization's quality rules as configured in its report settings."""
    return effective_config(session, org_id).quality()


def scope_findings(
    session: Session,
    org_id: str,
    *,
    cycle_id: str,
    okr_ids: Collection[str],
    team_id: str | None = None,
    objective_id: str | None = None,
) -> tuple[list[dict[str, Any]], date]:
    """(findings touching the scope, the date they are measured on)."""
    facts = load_facts(session, org_id)
    scope = make_scope(facts, cycles=(cycle_id,), as_of=None)
    wanted = {("okr", o) for o in okr_ids}
    if team_id:
        wanted.add(("team", team_id))
    if objective_id:
        wanted.add(("objective", objective_id))
    out = []
    found = collect_findings(session, facts, scope, effective_config(session, org_id))
    for finding in sorted((f.as_dict() for f in found), key=sort_key):
        records = finding["records"]
        if not any((r["type"], r["id"]) in wanted for r in records):
            continue
        first: dict[str, Any] = {}
        for r in records:
            first.setdefault(r["type"], r["id"])
        out.append(
            {
                "id": finding["key"],
                "kind": finding["kind"],
                "category": KINDS[finding["kind"]].category,
                "severity": finding["severity"],
                "reason": finding["reason"],
                "records": [{"type": r["type"], "id": r["id"]} for r in records],
                **{t: first.get(t) for t in ("okr", "key_result", "check_in", "objective")},
            }
        )
    return out, scope.as_of


def kr_status(kr: dict[str, Any], check_ins: list[dict[str, Any]]) -> dict[str, Any]:
    """Latest value and confidence of a key result and how far it has come (0 = baseline)."""
    mine = [c for c in check_ins if c["key_result"] == kr["id"]]
    valued = [c for c in mine if c["value"] is not None]
    confident = [c for c in mine if c["confidence"] is not None]
    value = valued[-1]["value"] if valued else kr["current"]
    share = None
    if value is not None and kr["baseline"] is not None and kr["target"] is not None:
        span = kr["target"] - kr["baseline"]
        if span:
            share = round((value - kr["baseline"]) / span, 3) + 0.0  # no "-0%"
    return {
        "value": value,
        "share": share,
        "confidence": confident[-1]["confidence"] if confident else None,
        "check_in": (valued or mine)[-1]["id"] if (valued or mine) else None,
    }


def elapsed(cycle: dict[str, Any], as_of: date | None) -> float | None:
    start, end = cycle.get("start"), cycle.get("end")
    if not (start and end and as_of) or end <= start:
        return None
    return round(min(1.0, max(0.0, (as_of - start).days / (end - start).days)), 3)

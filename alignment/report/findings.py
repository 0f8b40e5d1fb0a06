"""The finding: kind, severity, the records involved, evidence, a one-line reason, a stable key.

The key names the kind and the records (`orphan_okr:O-11`, `duplicate_effort:O-20|O-45`), so the
same problem found by two runs has the same key and a diff can say what is new or resolved.
`scope` tags each finding with the cycles, teams and perspectives it concerns, for filtering.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from alignment.report.facts import OrgFacts
from alignment.report.kinds import KINDS, SEVERITIES
from alignment.vocabulary import perspective_name


@dataclass
class Finding:
    kind: str
    severity: str
    reason: str
    records: list[dict[str, str]]
    evidence: dict[str, Any]
    key_parts: tuple[str, ...]
    cycles: set[str] = field(default_factory=set)
    teams: set[str] = field(default_factory=set)
    perspectives: set[str] = field(default_factory=set)

    @property
    def key(self) -> str:
        return f"{self.kind}:{'|'.join(self.key_parts)}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "kind": self.kind,
            "category": KINDS[self.kind].category,
            "severity": self.severity,
            "reason": self.reason,
            "records": self.records,
            "evidence": unsigned_zero(self.evidence),
            "scope": {
                "cycles": sorted(self.cycles),
                "teams": sorted(self.teams),
                "perspectives": sorted(self.perspectives),
            },
        }


def unsigned_zero(value: Any) -> Any:
    """`value` with every -0.0 made 0.0: rounding a tiny negative number gives -0.0, which
    reads as a sign where there is none."""
    if isinstance(value, float):
        return value + 0.0  # -0.0 + 0.0 == +0.0
    if isinstance(value, dict):
        return {k: unsigned_zero(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [unsigned_zero(v) for v in value]
    return value


def sort_key(finding: dict[str, Any]) -> tuple[int, str, str]:
    return (SEVERITIES.index(finding["severity"]), finding["kind"], natural(finding["key"]))


def natural(text: str) -> str:
    """Sort "O-2" before "O-10": pad digit runs."""
    out, digits = [], ""
    for ch in text + "\0":
        if ch.isdigit():
            digits += ch
            continue
        if digits:
            out.append(digits.zfill(8))
            digits = ""
        out.append(ch)
    return "".join(out[:-1])


class Records:
    """Builds record references (type, id, label) and scope tags from an organization's facts."""

    def __init__(self, facts: OrgFacts) -> None:
        self.facts = facts

    def okr(self, okr_id: str) -> dict[str, str]:
        return {"type": "okr", "id": okr_id, "label": self.facts.okrs[okr_id].title}

    def team(self, team_id: str) -> dict[str, str]:
        return {"type": "team", "id": team_id, "label": self.facts.teams.get(team_id, team_id)}

    def objective(self, objective_id: str) -> dict[str, str]:
        title = self.facts.objectives[objective_id].title
        return {"type": "objective", "id": objective_id, "label": title}

    def key_result(self, kr_id: str) -> dict[str, str]:
        kr = self.facts.kr(kr_id)
        return {"type": "key_result", "id": kr_id, "label": kr.title if kr else kr_id}

    def check_in(self, check_in_id: str, text: str) -> dict[str, str]:
        return {"type": "check_in", "id": check_in_id, "label": text}

    def cycle(self, cycle_id: str) -> dict[str, str]:
        return {"type": "cycle", "id": cycle_id, "label": cycle_id}

    def perspective(self, name: str) -> dict[str, str]:
        return {"type": "perspective", "id": name, "label": perspective_name(name)}

    def okr_scope(self, finding: Finding, okr_ids: Iterable[str]) -> Finding:
        """Tag a finding with its OKRs' cycles, teams and the perspectives they serve."""
        for okr_id in okr_ids:
            okr = self.facts.okrs[okr_id]
            finding.cycles.add(okr.cycle_id)
            finding.teams.add(okr.team_id)
            served = self.facts.aligned(okr_id) or self.facts.links.get(okr_id, [])[:1]
            finding.perspectives.update(self._perspectives(lk.objective_id for lk in served))
            finding.perspectives.update(self._perspectives(self.facts.declared.get(okr_id, ())))
        return finding

    def objective_scope(self, finding: Finding, objective_ids: Iterable[str]) -> Finding:
        finding.perspectives.update(self._perspectives(objective_ids))
        return finding

    def _perspectives(self, objective_ids: Iterable[str]) -> set[str]:
        out = set()
        for objective_id in objective_ids:
            objective = self.facts.objectives.get(objective_id)
            if objective is not None and objective.perspective:
                out.add(objective.perspective)
        return out

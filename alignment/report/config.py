"""Report configuration (limits, periods, thresholds, enabled kinds) and report filters.

Defaults follow common OKR practice; an organization overrides any of them through its stored
report settings (`PUT /orgs/{id}/reports/settings`), and a single build may override again.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from alignment.errors import Invalid
from alignment.models import PERSPECTIVES
from alignment.quality import ACTIVITY_WORDS, QualityConfig
from alignment.report.kinds import KINDS, SEVERITIES


class ReportConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # Practice: 1-3 objectives per team and cycle, 2-5 key results per objective.
    max_okrs_per_team: int = Field(default=3, ge=1)
    min_key_results: int = Field(default=2, ge=0)
    max_key_results: int = Field(default=5, ge=1)
    stale_days: int = Field(default=42, ge=1, description="Days without a check-in.")
    thin_coverage_min_okrs: int = Field(default=2, ge=1)
    starved_ratio: float = Field(
        default=0.5, gt=0, le=1, description="Share of OKR links vs share of objectives."
    )
    duplicate_similarity: float = Field(default=0.9, gt=0, le=1)
    duplicate_similarity_same_numbers: float = Field(default=0.75, gt=0, le=1)
    conflict_similarity: float = Field(default=0.6, gt=0, le=1)
    duplicate_neighbours: int = Field(
        default=5, ge=1, le=100, description="Nearest texts examined per key result (HNSW)."
    )
    max_duplicate_findings: int = Field(default=200, ge=0)
    high_confidence: float = Field(default=0.8, ge=0, le=1)
    low_confidence: float = Field(default=0.3, ge=0, le=1)
    stalled_progress: float = Field(default=0.1, description="Progress that counts as no move.")
    on_target_progress: float = Field(default=0.9)
    min_elapsed_for_stall: float = Field(default=0.2, ge=0, le=1)
    activity_words: tuple[str, ...] = ACTIVITY_WORDS
    disabled_kinds: tuple[str, ...] = ()

    def enabled(self, kind: str) -> bool:
        return kind not in self.disabled_kinds

    def quality(self) -> QualityConfig:
        return QualityConfig(
            min_key_results=self.min_key_results,
            max_key_results=self.max_key_results,
            max_okrs_per_team=self.max_okrs_per_team,
            activity_words=self.activity_words,
            disabled_rules=frozenset(self.disabled_kinds),
        )


def parse_config(raw: dict[str, Any], *, path: str = "$") -> ReportConfig:
    try:
        config = ReportConfig.model_validate(raw)
    except ValidationError as exc:
        raise Invalid(
            "report settings are not valid",
            details=[{"path": _path(path, e["loc"]), "message": e["msg"]} for e in exc.errors()],
        ) from exc
    unknown = [k for k in config.disabled_kinds if k not in KINDS]
    if unknown:
        raise Invalid(
            "report settings are not valid",
            details=[
                {"path": f"{path}.disabled_kinds", "message": f"unknown finding kind {k!r}"}
                for k in unknown
            ],
        )
    return config


class ReportFilters(BaseModel):
    """What a report covers (cycle) and which findings it lists (the rest)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    cycle: tuple[str, ...] = ()
    team: tuple[str, ...] = ()
    perspective: tuple[str, ...] = ()
    kind: tuple[str, ...] = ()
    severity: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, list[str]]:
        return {k: list(v) for k, v in self.model_dump().items() if v}


def check_filters(filters: ReportFilters, *, cycles: set[str], teams: set[str]) -> None:
    """Unknown values are mistakes, not empty reports: name each one."""
    known = {
        "cycle": cycles,
        "team": teams,
        "perspective": set(PERSPECTIVES),
        "kind": set(KINDS),
        "severity": set(SEVERITIES),
    }
    problems = [
        {"path": f"$.filters.{name}[{i}]", "message": f"unknown {name} {value!r}"}
        for name, allowed in known.items()
        for i, value in enumerate(getattr(filters, name))
        if value not in allowed
    ]
    if problems:
        raise Invalid("report filters name records that do not exist", details=problems)


def _path(root: str, loc: tuple[Any, ...]) -> str:
    out = root
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out

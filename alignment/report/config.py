"""Report configuration (limits, periods, thresholds, enabled kinds) and report filters.

Defaults follow common OKR practice; an organization overrides any of them through its stored
report settings (`PUT /orgs/{id}/reports/settings`), and a single build may override again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from alignment.bundle.text_rules import PlainText
from alignment.errors import Invalid, field_message
from alignment.models import PERSPECTIVES, Cycle, Team
from alignment.quality import ACTIVITY_WORDS, QualityConfig
from alignment.report.kinds import KINDS, SEVERITIES


class ReportConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

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
    activity_words: tuple[Annotated[PlainText, Field(min_length=1, max_length=100)], ...] = (
        ACTIVITY_WORDS
    )
    disabled_kinds: tuple[str, ...] = ()

    @field_validator("activity_words", mode="after")
    @classmethod
    def _as_matched(cls, words: tuple[str, ...]) -> tuple[str, ...]:
        # Titles are matched lower-cased word by word (quality.activity_verb): "Hold " would
        # never match, and a word twice changes nothing but the stored settings.
        return tuple(dict.fromkeys(" ".join(w.lower().split()) for w in words))

    @field_validator("disabled_kinds", mode="after")
    @classmethod
    def _as_a_set(cls, kinds: tuple[str, ...]) -> tuple[str, ...]:
        # A set in meaning: the same kinds in another order are the same settings (no page
        # rebuild, no diff warning, the same inputs_version).
        return tuple(sorted(set(kinds)))

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


def parse_config(raw: dict[str, Any], *, path: str = "$", sent: Iterable[str] = ()) -> ReportConfig:
    """`sent`: the settings a request sends now, held to their types (`true` or "30" is no
    number); stored settings are read as they were accepted when stored."""
    try:
        config = ReportConfig.model_validate(raw)
    except ValidationError as exc:
        raise Invalid(
            "report settings are not valid",
            details=[
                {"path": _path(path, e["loc"]), "message": field_message(e)} for e in exc.errors()
            ],
        ) from exc
    problems = _not_numbers({name: raw[name] for name in sent}, path)
    problems += [
        {"path": f"{path}.disabled_kinds", "message": f"unknown finding kind {k!r}"}
        for k in config.disabled_kinds
        if k not in KINDS
    ]
    for low, high in ORDERED_PAIRS:
        if getattr(config, low) > getattr(config, high):
            problems.append(
                {
                    "path": f"{path}.{low if low in raw else high}",
                    "message": f"{low} ({getattr(config, low)}) is above {high} "
                    f"({getattr(config, high)})",
                }
            )
    if problems:
        raise Invalid("report settings are not valid", details=problems)
    return config


def _not_numbers(raw: dict[str, Any], path: str) -> list[dict[str, str]]:
    """Numeric settings sent as `true` or "30": pydantic reads them as 1 and 30, and the
    sender's mistake would be stored as they wrote it."""
    problems = []
    for name, value in raw.items():
        field = ReportConfig.model_fields.get(name)
        if field is None or field.annotation not in (int, float):
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            kind = "a whole number" if field.annotation is int else "a number"
            problems.append({"path": f"{path}.{name}", "message": f"{kind}, not {value!r}"})
    return problems


# Settings that bound one range from both ends: a lower end above the upper one would make
# every OKR break one rule or the other (every count too few and too many at once).
ORDERED_PAIRS = (
    ("min_key_results", "max_key_results"),
    ("low_confidence", "high_confidence"),
    ("stalled_progress", "on_target_progress"),
    ("duplicate_similarity_same_numbers", "duplicate_similarity"),
)


class ReportFilters(BaseModel):
    """What a report covers (cycle) and which findings it lists (the rest)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    cycle: tuple[str, ...] = ()
    team: tuple[str, ...] = ()
    perspective: tuple[str, ...] = ()
    kind: tuple[str, ...] = ()
    severity: tuple[str, ...] = ()

    @field_validator("perspective", "kind", "severity", mode="before")
    @classmethod
    def _named_values(cls, values: Any) -> Any:
        """People type "Customer" or "internal process"; the names are snake_case."""
        if isinstance(values, str | bytes) or not isinstance(values, Iterable):
            return values
        return tuple(snake_name(v) if isinstance(v, str) else v for v in values)

    def as_dict(self) -> dict[str, list[str]]:
        """The filters as stored and compared: each a set (sorted, once), so the same filters
        sent in another order, or with a value twice, are the same job and the same run."""
        return {k: sorted(set(v)) for k, v in self.model_dump().items() if v}


FilterPath = Callable[[str, int], str]


def run_path(name: str, index: int) -> str:
    """Where a filter value sits in a run's document (`filters`)."""
    return f"$.filters.{name}[{index}]"


def body_path(name: str, index: int) -> str:
    """Where a filter value sits in the `POST /orgs/{id}/reports` body."""
    return f"$.{name}[{index}]"


def check_filters(
    filters: ReportFilters,
    *,
    cycles: Iterable[str],
    teams: Iterable[str],
    path: FilterPath = run_path,
) -> None:
    """Unknown values are mistakes, not empty reports: name each one and what would do."""
    known: dict[str, tuple[Iterable[str], bool]] = {  # values, whether to list them all
        "cycle": (sorted(cycles), True),
        "team": (sorted(teams), False),  # hundreds in a large organization
        "perspective": (PERSPECTIVES, True),
        "kind": (tuple(KINDS), True),
        "severity": (SEVERITIES, True),
    }
    problems, wrong = [], []
    for name, (allowed, listed) in known.items():
        allowed = tuple(allowed)
        for i, value in enumerate(getattr(filters, name)):
            if value in allowed:
                continue
            message = f"unknown {name} {value!r}"
            if name in ("cycle", "team"):
                message = f"no {name} {value!r} in this organization"
            if listed:
                message += f"; valid: {', '.join(allowed) or 'none'}"
            problems.append({"path": path(name, i), "message": message})
            wrong.append(f"{name} {value!r}")
    if problems:
        raise Invalid(f"report filters are not valid: {', '.join(wrong)}", details=problems)


def check_filters_in(
    session: Session, org_id: str, filters: ReportFilters, *, path: FilterPath = run_path
) -> None:
    """`check_filters` against the organization's cycles and teams, read cheaply: run it
    before anything slow (loading the model, scoring)."""
    cycles = session.scalars(select(Cycle.id).where(Cycle.org_id == org_id)).all()
    teams = session.scalars(select(Team.id).where(Team.org_id == org_id)).all()
    check_filters(filters, cycles=cycles, teams=teams, path=path)


def snake_name(value: str) -> str:
    """A named value as people type it ("Internal process", "Learning & growth", "Orphan-OKR")
    in snake_case."""
    return "_".join(value.strip().lower().replace("-", " ").replace("&", " ").split())


def _path(root: str, loc: tuple[Any, ...]) -> str:
    out = root
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out

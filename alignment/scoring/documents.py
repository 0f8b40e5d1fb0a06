"""What the scoring math reads and returns: OKR and objective documents, links with evidence."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

Embed = Callable[[Sequence[str]], np.ndarray]


@dataclass(frozen=True)
class ObjectiveDoc:
    id: str
    title: str
    description: str | None
    perspective: str | None
    kpis: tuple[str, ...]  # KPI names


@dataclass(frozen=True)
class KeyResultDoc:
    id: str
    title: str


@dataclass(frozen=True)
class OkrDoc:
    id: str
    title: str
    description: str | None
    key_results: tuple[KeyResultDoc, ...]
    checkins: tuple[str, ...]
    team_mission: str | None
    team: str | None = None  # team id: OKRs of one team tend to serve the same objectives


@dataclass(frozen=True, slots=True)
class Evidence:
    okr_field: str  # "title" | "description" | "key_result:<id>" | "checkin" | "mission"
    okr_text: str
    objective_field: str  # "title" | "description" | "kpi"
    objective_text: str
    similarity: float
    shared_terms: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Link:
    objective_id: str
    score: float  # calibrated probability that the OKR serves this objective
    label: str  # "aligned" | "weak" | "none"
    evidence: Sequence[Evidence]  # a tuple, or evidence.LazyEvidence (built on first read)
    adjudication: dict | None = None  # an LLM's second opinion on a close call (adjudicate.py)

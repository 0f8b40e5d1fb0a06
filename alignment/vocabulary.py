"""Closed vocabularies of the record model, spelled once.

The bundle and drafting schemas validate against these `Literal`s and the tables' check
constraints are built from the same values (alignment/models/), so an input the schema accepts
is one the database stores. Imports nothing of the package, so any layer can use it.
"""

from __future__ import annotations

from typing import Literal, get_args

# A strategic objective's balanced-scorecard perspective.
Perspective = Literal["financial", "customer", "internal_process", "learning_growth"]
# Whether a KPI or key result leads (predicts) or lags (records) the outcome.
LeadLag = Literal["lead", "lag"]

PERSPECTIVES: tuple[Perspective, ...] = get_args(Perspective)
LEAD_LAG: tuple[LeadLag, ...] = get_args(LeadLag)

# A perspective as every page names it (strategy map, objective page, report, findings' text).
PERSPECTIVE_NAMES: dict[str | None, str] = {
    "financial": "Financial",
    "customer": "Customer",
    "internal_process": "Internal process",
    "learning_growth": "Learning & growth",
    None: "No perspective",
}


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """ "1 OKR", "2 OKRs", "3 weak candidates": a count with its noun in the right number."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"


def perspective_name(perspective: str | None) -> str:
    """The display name of a perspective id (an unknown one spelled out from its id)."""
    if perspective in PERSPECTIVE_NAMES:
        return PERSPECTIVE_NAMES[perspective]
    return str(perspective).replace("_", " ").capitalize()

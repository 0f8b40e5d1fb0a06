"""Every finding kind the report knows, with its category and whether it depends on the model.

`deterministic` kinds follow from the records alone (numbers, dates, counts, kinds); the others
read the score stage's verdicts (links, drift, vectors) and inherit its error rate.
"""

from __future__ import annotations

from dataclasses import dataclass

from alignment.quality import RULES


@dataclass(frozen=True)
class Kind:
    category: str
    deterministic: bool
    description: str


SEVERITIES = ("high", "medium", "low")

KINDS: dict[str, Kind] = {
    "orphan_okr": Kind("alignment", False, "A team OKR that serves no strategic objective."),
    "needs_review": Kind(
        "alignment",
        False,
        "An OKR the engine cannot place with confidence: a person confirms its link or calls it "
        "an orphan (the review queue).",
    ),
    "unsupported_declared_link": Kind(
        "alignment", False, "A link the team declared that the OKR's text does not support."
    ),
    "suggested_link": Kind(
        "alignment", False, "A strong link to an objective the team did not declare."
    ),
    "uncovered_objective": Kind("coverage", False, "A strategic objective no OKR serves."),
    "thin_coverage": Kind("coverage", False, "A strategic objective served by too few OKRs."),
    "perspective_imbalance": Kind(
        "coverage",
        False,
        "A Balanced Scorecard perspective the OKR portfolio leaves unserved or starves.",
    ),
    "duplicate_effort": Kind(
        "portfolio", False, "Near-identical OKRs or key results owned by different teams."
    ),
    "conflicting_okrs": Kind(
        "portfolio", False, "Two teams pulling the same metric in opposite directions."
    ),
    "overload": Kind("portfolio", True, "A team with more OKRs or key results than the limits."),
    "lead_lag_gap": Kind(  # the objective half reads links; the team half is deterministic
        "portfolio",
        False,
        "An objective whose lag KPIs no lead key result drives, or a team with only lag KRs.",
    ),
    "checkin_drift": Kind("progress", False, "A check-in about other work than its OKR."),
    "stale_checkin": Kind("progress", True, "No check-in on an OKR for longer than the period."),
    "confidence_mismatch": Kind(
        "progress", True, "Confidence that disagrees with the progress of the key result."
    ),
    **{rule: Kind("quality", True, rationale) for rule, rationale in RULES.items()},
}

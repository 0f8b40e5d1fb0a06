"""Drift scoring: is a check-in's text about other work than the OKR it is filed under?

Pure: check-ins, their OKRs and an `embed` callable in, one `DriftScore` per check-in out.
`drift_features` measures each check-in against its own OKR and the organization's other OKRs;
a logistic map fitted on development organizations (`DriftCalibration`, its weights in
`drift_features.FEATURES` order) turns them into [0, 1], and two fitted levels into a verdict
(a finding also needs evidence its reason can cite: `evidenced`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.special import expit

from alignment.scoring.calibration import FITTED
from alignment.scoring.documents import Embed, KeyResultDoc, OkrDoc
from alignment.scoring.drift_features import drift_features

# The drift direction is a unit vector in DIRECTION_MODEL's space (from the mean on-topic to
# the mean drifting check-in of the fit organizations), stored with the other fitted constants
# in calibration.json; the score stage drops it for any other embedding model.
DIRECTION_MODEL = "all-MiniLM-L6-v2"


@dataclass(frozen=True)
class DriftItem:
    id: str  # check-in id
    text: str
    okr: OkrDoc
    key_result: KeyResultDoc | None = None


VERDICTS = ("drifting", "needs_review", "on_topic")


@dataclass(frozen=True)
class DriftScore:
    checkin_id: str
    score: float  # 1 = about other work than its OKR
    drifting: bool  # the confident verdict: the report's `checkin_drift` finding
    own_similarity: float  # best cosine to its own OKR's title/description/key results
    own_field: str  # which own field that was ("title", "description", "key_result:<id>")
    nearest_okr_id: str | None  # the other OKR it is closest to, if any
    nearest_similarity: float
    shared_terms: tuple[str, ...]  # with its own OKR
    verdict: str = "on_topic"  # VERDICTS: "needs_review" between the review and flag levels
    decided_by: str | None = None  # a person's verdict replaced the engine's (drift_decisions)
    # For a reason when neither the own nor the nearest OKR explains the score: the median
    # own similarity of the organization's check-ins, and the routine work it reads most like.
    typical_own_similarity: float | None = None
    routine_work: str | None = None
    routine_similarity: float | None = None


def verdict(score: float, calibration: DriftCalibration, *, evidenced: bool = True) -> str:
    """`evidenced`: the check-in's own numbers back the score (`evidenced`); a score at the
    flag without them is left to a person (`needs_review`), not asserted as a finding."""
    if score >= calibration.threshold and evidenced:
        return "drifting"
    return "needs_review" if score >= calibration.review else "on_topic"


@dataclass(frozen=True)
class DriftCalibration:
    weights: tuple[float, ...]
    bias: float
    threshold: float = 0.4  # a drift finding from here (precise: what the report asserts)
    review: float = 0.3  # from here up to `threshold` a person decides (evals.research)
    kr_bonus: float = 0.05  # the filed key result counts a bit more than sibling fields
    direction: tuple[float, ...] = field(default=(), repr=False)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DriftCalibration:
        return cls(**{**d, "weights": tuple(d["weights"]), "direction": tuple(d["direction"])})


DEFAULT = DriftCalibration.from_dict(FITTED["drift"])


def evidenced(d: dict[str, Any]) -> bool:
    """Whether something a reason can cite backs a drift score (`drift_features._evidence`):
    another OKR closer than its own, routine work closer than its own OKR, or its own OKR's
    best match under what the organization's check-ins typically reach.

    The learned drift direction can carry a score past the flag on its own (terse, concrete
    check-ins read as chores); the report's reason would then argue against its own finding.
    Leave-one-org-out on the folders the drift flag is fitted on, this leaves 2 of 192 flags to
    review, both false (evals/README.md, "Drift flags on the sample organization")."""
    own = d["own"]
    return bool(d["near"] > own or d["chore_similarity"] > own or own < d["typical"])


def score_drift(
    items: Sequence[DriftItem],
    *,
    embed: Embed,
    okrs: Sequence[OkrDoc] = (),
    calibration: DriftCalibration = DEFAULT,
) -> list[DriftScore]:
    """Score check-ins in one batch; pass the organization's OKRs as `okrs` for comparison."""
    if not items:
        return []
    x, details = drift_features(
        items,
        embed=embed,
        okrs=okrs,
        kr_bonus=calibration.kr_bonus,
        direction=calibration.direction,
    )
    # Verdicts from the stored (rounded) score, so a reader comparing it with the levels agrees.
    probs = np.round(expit(x @ np.asarray(calibration.weights) + calibration.bias), 4)
    return [
        DriftScore(
            it.id,
            float(p),
            bool(p >= calibration.threshold and evidenced(d)),
            round(d["own"], 4),
            d["own_field"],
            d["nearest"],
            round(d["near"], 4),
            d["terms"],
            verdict(float(p), calibration, evidenced=evidenced(d)),
            typical_own_similarity=round(d["typical"], 4),
            routine_work=d["chore"],
            routine_similarity=round(d["chore_similarity"], 4),
        )
        for it, p, d in zip(items, probs, details, strict=True)
    ]

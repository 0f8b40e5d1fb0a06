"""Calibration: the logistic map from link features to a score, and score -> label thresholds."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import expit


@dataclass(frozen=True)
class Calibration:
    """Logistic map over FEATURES plus label thresholds (fitted by evals/research.py)."""

    weights: tuple[float, ...] = (-0.925, 0.548, 0.821, 2.698, 2.04, 0.224, 0.493, -0.53, 0.618)
    bias: float = -3.334
    aligned: float = 0.35  # score needed for "aligned"
    weak: float = 0.175  # score needed for "weak"
    margin: float = 0.7  # an aligned link also needs score >= margin * the OKR's best score
    full_weight: float = 0.5  # blend: full-text cosine vs best field-pair cosine


DEFAULT = Calibration()

# Per-organization z-scores need a population to compare against: with one objective, or a
# handful of OKRs, they are noise (measured on dev organizations cut down to 1-3 objectives and
# 1-5 OKRs, `python -m evals.small_orgs`: link F1 0.50 with all features, 0.63 on these alone).
# Such organizations are scored with SMALL_ORG, fitted on the dev organizations with only these.
ABSOLUTE = ("sim", "lex", "gap")
SMALL_ORG = Calibration(  # `python -m evals.research evals/datasets/dev --fit` prints it
    weights=(6.86, 0.0, 0.0, 6.263, 5.539, 0.0, 0.0, 0.0, 0.0),
    bias=-3.941,
    aligned=0.25,
    weak=0.125,
    margin=0.5,
)
MIN_OBJECTIVES, MIN_OKRS = 2, 4


def calibration_for(n_objectives: int, n_okrs: int) -> Calibration:
    """DEFAULT, or SMALL_ORG for an organization too small for per-organization z-scores."""
    return DEFAULT if n_objectives >= MIN_OBJECTIVES and n_okrs >= MIN_OKRS else SMALL_ORG


def calibrated(x: np.ndarray, cal: Calibration) -> np.ndarray:
    return expit(x @ np.asarray(cal.weights, dtype=np.float64) + cal.bias)


def label_links(scores: np.ndarray, cal: Calibration) -> np.ndarray:
    """Labels for one OKR's scores (or a matrix, one OKR per row): aligned needs the threshold
    and to be near that OKR's best score."""
    best = scores.max(axis=-1, keepdims=True) if scores.size else 0.0
    aligned = (scores >= cal.aligned) & (scores >= cal.margin * best)
    weak = ~aligned & (scores >= cal.weak)
    return np.where(aligned, "aligned", np.where(weak, "weak", "none"))

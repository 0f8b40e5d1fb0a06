"""Calibration: the logistic map from link features to a score, and score -> label thresholds."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy.special import expit

# Fitted constants are generated, never pasted: `python -m evals.fit DATASETS...` writes this
# file with its provenance (datasets and their hashes, commit, command) and reproduces it bit
# for bit (tests/evals/test_fit.py).
FITTED_PATH = Path(__file__).with_name("calibration.json")
FITTED: dict[str, Any] = json.loads(FITTED_PATH.read_text())


@dataclass(frozen=True)
class Calibration:
    """Logistic map over link_features.FEATURES plus label thresholds (evals/fit.py fits it)."""

    weights: tuple[float, ...]
    bias: float
    aligned: float = 0.35  # score needed for "aligned"
    weak: float = 0.175  # score needed for "weak"
    margin: float = 0.7  # an aligned link also needs score >= margin * the OKR's best score
    full_weight: float = 0.5  # blend: full-text cosine vs best field-pair cosine
    # Pairwise products of the standardized features z = (x - center) / scale, one weight per
    # pair (i, j), i <= j, in `quadratic_pairs` order. Empty: the map is linear.
    center: tuple[float, ...] = ()
    scale: tuple[float, ...] = ()
    quadratic: tuple[float, ...] = ()
    # The link features its weights read, in order; empty: link_features.FEATURES (the nine
    # plain ones). Named here, not imported: link_features reads this module.
    features: tuple[str, ...] = ()

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Calibration:
        vectors = ("weights", "center", "scale", "quadratic", "features")
        return cls(**{**d, **{k: tuple(d[k]) for k in vectors if k in d}})


# Two link calibrations (evals/README.md, "Two scores"). DEFAULT ranks and labels the links
# people see: the nine features plus two read after the organization's common component is
# removed from every vector (link_features.centered_objective_z, centered_okr_z), which tell an
# organization's objectives apart better on text others wrote. PLAIN, the nine alone, gives the
# score the orphan rule reads (alignment/verdicts.py): the common component is also what tells
# an OKR off the organization's business from one on it, and the centered scores lose that.
DEFAULT = Calibration.from_dict(FITTED["links_centered"])
PLAIN = Calibration.from_dict(FITTED["links"])

# Per-organization z-scores need a population to compare against: with one objective, or a
# handful of OKRs, they are noise (measured on dev organizations cut down to 1-3 objectives and
# 1-5 OKRs, `python -m evals.small_orgs`). Such organizations are scored with SMALL_ORG, fitted
# on the same organizations with only these absolute features.
ABSOLUTE = ("sim", "lex", "gap")
SMALL_ORG = Calibration.from_dict(FITTED["small_org"])
MIN_OBJECTIVES, MIN_OKRS = 2, 4


def calibration_for(n_objectives: int, n_okrs: int) -> Calibration:
    """DEFAULT, or SMALL_ORG for an organization too small for per-organization z-scores."""
    return DEFAULT if n_objectives >= MIN_OBJECTIVES and n_okrs >= MIN_OKRS else SMALL_ORG


def orphan_calibration_for(n_objectives: int, n_okrs: int) -> Calibration:
    """PLAIN, or SMALL_ORG (which has no centered features) as calibration_for."""
    return PLAIN if n_objectives >= MIN_OBJECTIVES and n_okrs >= MIN_OKRS else SMALL_ORG


def quadratic_pairs(n_features: int) -> list[tuple[int, int]]:
    """(i, j), i <= j: the order of `Calibration.quadratic` (scikit-learn's PolynomialFeatures)."""
    return [(i, j) for i in range(n_features) for j in range(i, n_features)]


def calibrated(x: np.ndarray, cal: Calibration) -> np.ndarray:
    logit = x @ np.asarray(cal.weights, dtype=np.float64) + cal.bias
    if cal.quadratic:
        z = (x - np.asarray(cal.center)) / np.asarray(cal.scale)
        for (i, j), q in zip(quadratic_pairs(x.shape[-1]), cal.quadratic, strict=True):
            logit += q * z[..., i] * z[..., j]
    return expit(logit)


LABELS = np.array(["none", "weak", "aligned"])  # indexed by label_codes


def label_codes(scores: np.ndarray, cal: Calibration) -> np.ndarray:
    """0 none, 1 weak, 2 aligned for one OKR's scores (or a matrix, one OKR per row): aligned
    needs the threshold and to be near that OKR's best score."""
    best = scores.max(axis=-1, keepdims=True) if scores.size else 0.0
    aligned = (scores >= cal.aligned) & (scores >= cal.margin * best)
    return np.where(aligned, 2, (scores >= cal.weak).astype(np.int8)).astype(np.int8)


def label_links(scores: np.ndarray, cal: Calibration) -> np.ndarray:
    """label_codes as names."""
    return LABELS[label_codes(scores, cal)]

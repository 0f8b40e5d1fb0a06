"""The orphan rule's share of the median (alignment/verdicts.py), chosen for precision.

An OKR with no aligned or weak link is a confident `orphan` when its best score is under
`share` x its organization's median best score; otherwise it waits for a person in the review
queue. `evals.fit` writes the share to calibration.json with this rule: among shares from 0.04
to 0.30, the one with the highest pooled recall of the orphan flags whose pooled precision
reaches PRECISION_FLOOR (the issue's target for orphan findings); if none does, the most
precise. Why precision first: a false orphan flag teaches a strategy office to ignore the
report (the brief's lesson from round 1), while a missed orphan still waits in the review queue.

Scores are the ones the service would give an organization the calibration never saw: each fit
organization is scored with link calibrations fitted on the other fit organizations; each
organization passed only for the orphan choice (other writing styles, real plans whose every
OKR has a parent, so that any orphan flag on them is false) with the calibration fitted on all
of them, as the shipped engine scores it. The study behind it, with every rule compared
leave-one-org-out: `python -m evals.flag_rules ... --orphans-by-precision` (evals/README.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from statistics import median

import numpy as np

from alignment.scoring import calibration, link_features
from evals import research

SHARES = tuple(round(0.04 + 0.01 * i, 2) for i in range(27))
PRECISION_FLOOR = 0.80


@dataclass(frozen=True)
class Candidates:
    """One organization's labelled OKRs without an aligned or weak link: how far under its
    median best score each one's best score is, and whether it is a labelled orphan."""

    ratio: np.ndarray  # best score / the organization's median best score
    orphan: np.ndarray  # bool
    orphans: int  # labelled orphans in the organization, flagged or not


def candidates(org: research.Org, cal: calibration.Calibration, embed) -> Candidates:
    probs, _ = link_features.pair_scores(org.objectives, org.okrs, embed=embed, calibration=cal)
    codes = calibration.label_codes(probs, cal)
    best = probs.max(axis=1)
    reference = median(best.tolist())
    gold = org.labels.get("links") or {}
    rows = [k for k, okr in enumerate(org.okrs) if okr.id in gold and not (codes[k] >= 1).any()]
    return Candidates(
        best[rows] / max(reference, 1e-12),
        np.array([not gold[org.okrs[k].id] for k in rows], dtype=bool),
        sum(1 for links in gold.values() if not links),
    )


def _loo_calibration(org, fit_orgs, embed, link_base, small_base) -> calibration.Calibration:
    rest = [o for o in fit_orgs if o is not org]
    if calibration.calibration_for(len(org.objectives), len(org.okrs)) is calibration.DEFAULT:
        return research.fit_links(rest, embed, link_base)
    return research.fit_links(rest, embed, small_base, only=calibration.ABSOLUTE)


def flags(found: Sequence[Candidates], share: float) -> tuple[int, int, int]:
    """(right flags, flags, labelled orphans), pooled."""
    flagged = [c.ratio < share for c in found]
    right = sum(int((f & c.orphan).sum()) for f, c in zip(flagged, found, strict=True))
    return right, sum(int(f.sum()) for f in flagged), sum(c.orphans for c in found)


def choose(found: Sequence[Candidates]) -> float:
    def key(share: float) -> tuple:
        right, flagged, orphans = flags(found, share)
        precision = right / flagged if flagged else 0.0
        recall = right / orphans if orphans else 0.0
        ok = precision >= PRECISION_FLOOR
        return (ok, recall if ok else precision, precision, -share)

    return max(SHARES, key=key)


def choose_share(
    fit_orgs: Sequence[research.Org],
    also: Sequence[research.Org],
    embed,
    bases: tuple[calibration.Calibration, calibration.Calibration],
    shipped: tuple[calibration.Calibration, calibration.Calibration],
) -> float:
    """`bases`: where the link and small-organization fits start; `shipped`: those fitted on
    all of `fit_orgs`, which score the `also` organizations."""
    found = [candidates(o, _loo_calibration(o, fit_orgs, embed, *bases), embed) for o in fit_orgs]
    for org in also:
        small = calibration.calibration_for(len(org.objectives), len(org.okrs))
        found.append(candidates(org, shipped[small is not calibration.DEFAULT], embed))
    return choose(found)

"""The orphan rule's share of the median (alignment/verdicts.py), chosen for precision.

An OKR with no aligned link is a confident `orphan` when its orphan score (its best score under
calibration.PLAIN) is under `share` x its organization's median orphan score; otherwise it waits
for a person in the review queue. The candidates are the OKRs the links' calibration labels
nothing aligned and the plain one nothing aligned or weak (what a share under PLAIN's weak
threshold can flag). `evals.fit` writes the share to calibration.json with this rule: among
shares from 0.04 to 0.30, the one with the highest pooled recall of the orphan flags whose
pooled precision reaches PRECISION_FLOOR (the issue's target for orphan findings); if none does,
the most precise. Why precision first: a false orphan flag teaches a strategy office to ignore
the report (the brief's lesson from round 1), while a missed orphan still waits in the review
queue.

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
from typing import NamedTuple

import numpy as np

from alignment.scoring import calibration, link_features
from evals import research

SHARES = tuple(round(0.04 + 0.01 * i, 2) for i in range(27))
PRECISION_FLOOR = 0.80


@dataclass(frozen=True)
class Candidates:
    """One organization's labelled OKRs the orphan rule could flag: how far under its median
    orphan score each one's is, and whether it is a labelled orphan."""

    ratio: np.ndarray  # orphan score / the organization's median orphan score
    orphan: np.ndarray  # bool
    orphans: int  # labelled orphans in the organization, flagged or not


class Pair(NamedTuple):
    """The links' calibration and the orphan rule's (calibration.DEFAULT and PLAIN, or SMALL_ORG
    twice for a small organization)."""

    links: calibration.Calibration
    orphans: calibration.Calibration


def candidates(org: research.Org, cals: Pair, embed) -> Candidates:
    (probs, plain), _ = link_features.pair_scores_by(cals, org.objectives, org.okrs, embed=embed)
    linked = (calibration.label_codes(probs, cals.links) == 2).any(axis=1)
    linked |= (calibration.label_codes(plain, cals.orphans) >= 1).any(axis=1)
    best = plain.max(axis=1)
    reference = median(best.tolist())
    gold = org.labels.get("links") or {}
    rows = [k for k, okr in enumerate(org.okrs) if okr.id in gold and not linked[k]]
    return Candidates(
        best[rows] / max(reference, 1e-12),
        np.array([not gold[org.okrs[k].id] for k in rows], dtype=bool),
        sum(1 for links in gold.values() if not links),
    )


def _loo_calibrations(org, fit_orgs, embed, bases: Bases) -> Pair:
    rest = [o for o in fit_orgs if o is not org]
    if calibration.calibration_for(len(org.objectives), len(org.okrs)) is calibration.DEFAULT:
        return Pair(
            research.fit_links(rest, embed, bases.links),
            research.fit_links(rest, embed, bases.orphans),
        )
    small = research.fit_links(rest, embed, bases.small, only=calibration.ABSOLUTE)
    return Pair(small, small)


def flags(found: Sequence[Candidates], share: float) -> tuple[int, int, int]:
    """(right flags, flags, labelled orphans), pooled."""
    flagged = [c.ratio < share for c in found]
    right = sum(int((f & c.orphan).sum()) for f, c in zip(flagged, found, strict=True))
    return right, sum(int(f.sum()) for f in flagged), sum(c.orphans for c in found)


def choose(found: Sequence[Candidates], ceiling: float = 1.0) -> float:
    """`ceiling`: the largest share allowed (the weak thresholds: see choose_share)."""

    def key(share: float) -> tuple:
        right, flagged, orphans = flags(found, share)
        precision = right / flagged if flagged else 0.0
        recall = right / orphans if orphans else 0.0
        ok = precision >= PRECISION_FLOOR
        return (ok, recall if ok else precision, precision, -share)

    return max((s for s in SHARES if s <= ceiling), key=key)


class Bases(NamedTuple):
    """Where the links', the orphan rule's and the small-organization fits start (evals.fit);
    the same names hold those fitted on every fit organization."""

    links: calibration.Calibration
    orphans: calibration.Calibration
    small: calibration.Calibration


def choose_share(
    fit_orgs: Sequence[research.Org],
    also: Sequence[research.Org],
    embed,
    bases: Bases,
    shipped: Bases,
) -> float:
    """`bases`: where the fits start; `shipped`: those fitted on all of `fit_orgs`, which score
    the `also` organizations. No share above a weak threshold of `shipped` is chosen: a link
    labelled weak could then be far below a median (at most 1), which alignment/verdicts.py
    rules out."""
    found = [candidates(o, _loo_calibrations(o, fit_orgs, embed, bases), embed) for o in fit_orgs]
    for org in also:
        small = calibration.calibration_for(len(org.objectives), len(org.okrs))
        pair = (
            Pair(shipped.links, shipped.orphans)
            if small is calibration.DEFAULT
            else Pair(shipped.small, shipped.small)
        )
        found.append(candidates(org, pair, embed))
    return choose(found, ceiling=min(shipped.links.weak, shipped.orphans.weak, shipped.small.weak))

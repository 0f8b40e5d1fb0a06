"""Learning from people's decisions: a link a person confirmed is a vote for its team.

OKRs of one team tend to serve the same objectives, and a confirmation is the strongest
evidence the engine ever gets about which ones. So when a person confirms that an OKR serves
objective X, every other OKR of its team leans towards X: `TEAM_CONFIRMED_LOGIT` is added to
the logit of their score for X before they are labelled. The OKR itself needs no vote: the
person's verdict overrides its own link (stage.apply_feedback).

Chosen on dev data only (`python -m evals.decisions`, evals/README.md): a reviewer decides
the three best candidates of 30% of each organization's OKRs, and the rest are scored. Of
the weights tried, this one's worst folder gains most (top1 + link F1 over the fitted
calibration); larger votes help the real pages more but cost top1 on the real plans.
Rejections are not votes: a per-objective bias fitted to them helped no folder reliably.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
from scipy.special import expit, logit

from alignment.scoring.documents import ObjectiveDoc, OkrDoc

# evals.decisions: vote weight 0.5 above a same-team similarity floor of 0.5 (team: 1.0).
TEAM_CONFIRMED_LOGIT = 0.25


def team_votes(
    okrs: Sequence[OkrDoc], confirmed: Iterable[tuple[str, str]]
) -> dict[str, frozenset[str]]:
    """okr id -> the objectives people confirmed for another OKR of its team (OKRs with no
    such objective are left out)."""
    team_of = {o.id: o.team for o in okrs if o.team}
    by_team: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for okr_id, objective_id in confirmed:
        if okr_id in team_of:
            by_team[team_of[okr_id]][objective_id].add(okr_id)
    votes: dict[str, frozenset[str]] = {}
    for okr in okrs:
        if okr.team not in by_team:
            continue
        mine = frozenset(
            objective
            for objective, voters in by_team[okr.team].items()
            if voters - {okr.id}  # a teammate confirmed it, not only this OKR
        )
        if mine:
            votes[okr.id] = mine
    return votes


def nudged(
    probs: np.ndarray,
    objectives: Sequence[ObjectiveDoc],
    okrs: Sequence[OkrDoc],
    votes: Mapping[str, frozenset[str]],
    weight: float = TEAM_CONFIRMED_LOGIT,
) -> np.ndarray:
    """(n_okrs, n_objectives) calibrated scores with the votes added on the logit scale."""
    if not votes:
        return probs
    index = {o.id: i for i, o in enumerate(objectives)}
    bonus = np.zeros(probs.shape)
    for k, okr in enumerate(okrs):
        cols = [index[o] for o in votes.get(okr.id, ()) if o in index]
        bonus[k, cols] = weight
    if not bonus.any():
        return probs
    clipped = np.clip(probs, 1e-9, 1 - 1e-9)
    return np.where(bonus > 0, expit(logit(clipped) + bonus), probs)

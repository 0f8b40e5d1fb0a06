"""Learning from people's decisions: a link a person decided is a vote for its team.

OKRs of one team tend to serve the same objectives, and a person's decision is the strongest
evidence the engine ever gets about which ones. So when a person confirms that an OKR serves
objective X, every other OKR of its team leans towards X: `TEAM_CONFIRMED_LOGIT` is added to
the logit of their score for X before they are labelled. When a person rejects X for an OKR,
its teammates lean a little away from X (`TEAM_REJECTED_LOGIT`), unless a teammate's link to X
was confirmed. The OKR itself needs no vote: the person's verdict overrides its own link
(people_decisions.apply_feedback).

Chosen on dev data only (`python -m evals.decisions`, evals/README.md): a reviewer decides
the three best candidates of 30% of each organization's OKRs, and the rest are scored. Of
the weights tried, these are the ones whose worst folder gains most (top1 + link F1 over the
fitted calibration); larger votes help the real pages more but cost top1 on the real plans.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import NamedTuple

import numpy as np
from scipy.special import expit, logit

from alignment.scoring.documents import ObjectiveDoc, OkrDoc

# evals.decisions: vote weight 0.5 above a same-team similarity floor of 0.5 (team: 1.0).
TEAM_CONFIRMED_LOGIT = 0.25
TEAM_REJECTED_LOGIT = 0.1  # evals.decisions, "rejected 0.1/0"


class TeamVotes(NamedTuple):
    """okr id -> objectives people confirmed / rejected for a teammate (not for itself)."""

    confirmed: dict[str, frozenset[str]]
    rejected: dict[str, frozenset[str]]

    def of(self, okr_id: str) -> tuple[str, ...]:
        """What moves this OKR's scores, in a stable order (its context for stored labels)."""
        return (
            *(f"+{o}" for o in sorted(self.confirmed.get(okr_id, ()))),
            *(f"-{o}" for o in sorted(self.rejected.get(okr_id, ()))),
        )


def decided_votes(okrs: Sequence[OkrDoc], verdicts: Mapping[tuple[str, str], str]) -> TeamVotes:
    """`verdicts`: (OKR, objective) -> "confirmed" | "rejected", as people decided them."""
    confirmed = team_votes(okrs, [pair for pair, v in verdicts.items() if v == "confirmed"])
    rejected = team_votes(okrs, [pair for pair, v in verdicts.items() if v == "rejected"])
    rejected = {
        okr: left for okr, objs in rejected.items() if (left := objs - confirmed.get(okr, set()))
    }
    return TeamVotes(confirmed, rejected)


def apply_votes(
    probs: np.ndarray,
    objectives: Sequence[ObjectiveDoc],
    okrs: Sequence[OkrDoc],
    votes: TeamVotes | None,
) -> np.ndarray:
    if votes is None:
        return probs
    probs = nudged(probs, objectives, okrs, votes.confirmed, TEAM_CONFIRMED_LOGIT)
    return nudged(probs, objectives, okrs, votes.rejected, -TEAM_REJECTED_LOGIT)


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
    return np.where(bonus != 0, expit(logit(clipped) + bonus), probs)

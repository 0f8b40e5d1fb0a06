"""The lexical re-ranking's weight (alignment/scoring/lexical_rank.py), fitted for `evals.fit`.

Listwise, as the ranking study chose it (`evals.rank_fusion --criterion listwise`): the weight
that makes the gold objective most likely to win a softmax over its organization's objectives
of `a * logit(p) + b * z(lexical)`, w = b / a. Smooth, so less noisy than the best MRR on a
grid. Each organization's scores `p` come from a link calibration fitted on the *other*
organizations, so the weight learns how far the lexical signal should correct the engine's
errors on an organization it was not fitted on.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
from scipy.optimize import minimize
from scipy.special import logit, logsumexp

from alignment.scoring import calibration, lexical_rank, link_features
from evals import research

Block = tuple[np.ndarray, np.ndarray, np.ndarray]  # logit(p), z(lexical), gold mask; OKR rows


def block(probs: np.ndarray, lexical: np.ndarray, org: research.Org) -> Block | None:
    """One organization's rows for the fit: its OKRs with gold links (None if it has none)."""
    gold = org.labels["links"]
    keep = [k for k, okr in enumerate(org.okrs) if gold.get(okr.id)]
    if not keep:
        return None
    lp = logit(np.clip(probs[keep], 1e-6, 1 - 1e-6))
    z = lexical_rank.row_z(lexical)[keep]
    mask = np.array([[o.id in gold[org.okrs[k].id] for o in org.objectives] for k in keep])
    return lp, z, mask


def listwise_weight(blocks: Iterable[Block]) -> float:
    """w maximizing the mean log-likelihood of the gold objectives (0 if the fit says the
    score itself should not count)."""
    blocks = list(blocks)
    n = sum(len(b[0]) for b in blocks)

    def nll(theta: np.ndarray) -> float:
        a, b = theta
        total = 0.0
        for lp, z, mask in blocks:
            u = a * lp + b * z
            total -= float(
                (logsumexp(np.where(mask, u, -np.inf), axis=1) - logsumexp(u, axis=1)).sum()
            )
        return total / n

    # Tight tolerances: the optimum, not where the simplex stopped (evals.fit's bytes, 3 decimals).
    res = minimize(
        nll, np.array([1.0, 0.0]), method="Nelder-Mead", options={"xatol": 1e-9, "fatol": 1e-12}
    )
    a, b = res.x
    return float(b / a) if a > 0 else 0.0


def fit_rank_weight(orgs: Sequence[research.Org], embed, base: calibration.Calibration) -> float:
    """The weight over `orgs`, each scored leave-one-org-out (3 decimals)."""
    blocks = []
    for org in orgs:
        cal = research.fit_links([o for o in orgs if o is not org], embed, base)
        probs, _ = link_features.pair_scores(org.objectives, org.okrs, embed=embed, calibration=cal)
        b = block(probs, lexical_rank.char_word(org.objectives, org.okrs), org)
        if b is not None:
            blocks.append(b)
    return round(listwise_weight(blocks), 3)

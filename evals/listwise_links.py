"""Link weights fitted in two stages: a study, measured and not adopted (evals/README.md).

1. Ranking: a conditional logit over each labelled OKR's objectives, the weights that make its
   gold objectives most likely to win a softmax over its organization's objectives (L2
   penalty per labelled OKR). A pointwise logistic fit, which the shipped calibration uses,
   spends its weights separating the many easy (OKR, unrelated objective) pairs instead.
2. Level: a logistic fit of every pair's gold label on that ranking score and the per-OKR
   features (PER_OKR), which set how high an OKR's scores are as a whole.

The result has the shipped calibration's form (one weight per feature), so
`research.fit_links(..., listwise_l2=L2)` can stand in for the pointwise fit anywhere.

    HF_HUB_OFFLINE=1 .venv/bin/python -m evals.listwise_links evals/datasets/dev \
        evals/datasets/holdout --also evals/datasets/dev-styles evals/datasets/real-dev \
        evals/datasets/real

Measured (2026-12-06, each fit organization scored by a fit without it): more goals ranked
first on the styles not fitted on (real plans +0.044, real pages +0.033, dev-styles +0.018 at
L2 0.001) and one to two fewer on the fitted ones; but its scores separate orphans less well:
at the orphan share evals.fit then chooses (0.04) the pooled orphan flags are right 25 of 30
times and find 29% of orphans, against 29 of 36 and 34% for the pointwise fit at 0.12.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize
from scipy.special import logsumexp, softmax
from sklearn.linear_model import LogisticRegression

from alignment.scoring import link_features

# The listwise stage's L2 penalty (per labelled OKR): the best of 0.0003 / 0.001 / 0.003.
LISTWISE_L2 = 0.001
# Broadcast over the objectives: they move all of an OKR's scores together, so they say whether
# it serves anything at all, never which objective (the listwise stage cannot weigh them).
PER_OKR = ("routine",)
_PER_OKR = [link_features.FEATURES.index(f) for f in PER_OKR]

Data = list[tuple[np.ndarray, np.ndarray]]  # per organization: features (OKR, objective, f), gold


def _blocks(data: Data) -> list[tuple[np.ndarray, np.ndarray]]:
    """Each organization's labelled OKRs that serve an objective (orphans rank nothing)."""
    blocks = [(x[g.any(axis=1)], g[g.any(axis=1)]) for x, g in data if g.any()]
    if not blocks:
        raise ValueError("no labelled OKR with a gold objective to rank")
    return blocks


def ranking_loss(w: np.ndarray, data: Data, l2: float) -> tuple[float, np.ndarray]:
    """(mean negative log-probability of each OKR's gold objectives under a softmax over its
    organization's objectives, plus the L2 penalty; its gradient). Several gold objectives
    share the OKR's probability mass; per-OKR features get weight and gradient 0."""
    blocks = _blocks(data)
    n = sum(len(g) for _, g in blocks)
    free = np.ones(len(w), dtype=bool)
    free[_PER_OKR] = False
    w = np.where(free, w, 0.0)
    total, grad = 0.0, np.zeros_like(w)
    for x, gold in blocks:
        u = x @ w
        on_gold = np.where(gold, u, -np.inf)
        total -= float((logsumexp(on_gold, axis=1) - logsumexp(u, axis=1)).sum())
        # d/dw: expected features under the softmax minus under the gold-only softmax.
        grad += np.einsum("ij,ijk->k", softmax(u, axis=1) - softmax(on_gold, axis=1), x)
    return total / n + l2 * float(w @ w), np.where(free, grad / n + 2 * l2 * w, 0.0)


def ranking_weights(data: Data, l2: float = LISTWISE_L2) -> np.ndarray:
    """The weights minimizing `ranking_loss` (per-OKR features get 0)."""
    start = np.zeros(len(link_features.FEATURES))
    res = minimize(
        ranking_loss, start, args=(data, l2), jac=True, method="L-BFGS-B", options={"gtol": 1e-9}
    )
    out = res.x.copy()
    out[_PER_OKR] = 0.0
    return out


def two_stage(data: Data, l2: float = LISTWISE_L2) -> tuple[np.ndarray, float]:
    """(weights per feature, bias): the ranking weights scaled, plus the per-OKR features.
    The default penalty is `l2`'s only default; the shipped fit is pointwise."""
    w = ranking_weights(data, l2)
    x = np.concatenate([f.reshape(-1, f.shape[-1]) for f, _ in data])
    y = np.concatenate([g.ravel() for _, g in data])
    level = LogisticRegression(C=1.0, tol=1e-8, max_iter=2000)
    level.fit(np.column_stack([x @ w, x[:, _PER_OKR]]), y)
    scale, per_okr = level.coef_[0][0], level.coef_[0][1:]
    weights = scale * w
    weights[_PER_OKR] += per_okr
    return weights, float(level.intercept_[0])


def compare(fit_sources: list[str], also: list[str], l2s: list[float]) -> list[str]:
    """Pointwise against two-stage fits: each fit organization scored by a fit without it, the
    `also` organizations by the fit on all of them. Pooled per folder; orphan verdicts with
    the shipped orphan share (evals.fit re-chooses it for the shipped calibration)."""
    from alignment import verdicts
    from alignment.scoring import calibration, link_scores
    from evals import research

    fit_orgs = [o for o in research.load_all(fit_sources) if o.fit]
    fitted = {o.name for o in fit_orgs}  # a folder passed twice is scored as a fit folder
    others = [o for o in research.load_all(also) if o.name not in fitted]
    embed = research.CachedEmbedder()
    variants = {"pointwise": None, **{f"two-stage l2={v:g}": v for v in l2s}}
    rows: dict[tuple[str, str], list[dict]] = {}
    for name, l2 in variants.items():
        everyone = research.fit_links(fit_orgs, embed, calibration.DEFAULT, listwise_l2=l2)
        for org in [*fit_orgs, *others]:
            rest = [o for o in fit_orgs if o is not org]
            cal = everyone
            if org in fit_orgs:
                cal = research.fit_links(rest, embed, calibration.DEFAULT, listwise_l2=l2)
            m = research.evaluate_org(org, embed, cal, None)
            links = link_scores.score_links(org.objectives, org.okrs, embed=embed, calibration=cal)
            said = verdicts.verdicts(links)
            gold = org.labels["links"]
            m["flags"] = sum(said[k] == "orphan" for k in gold)
            m["right"] = sum(said[k] == "orphan" and not gold[k] for k in gold)
            m["orphans"] = sum(not gold[k] for k in gold)
            rows.setdefault((org.source, name), []).append(m)
    embed.save()
    out = [f"{'folder':<11}{'fit':<20}{'okrs':>5}{'top1':>7}{'mrr':>7}{'link_f1':>8}"
           f"{'review':>8}{'orphan flags right/made/orphans':>33}"]  # fmt: skip
    for (source, name), ms in sorted(rows.items()):
        n = sum(m["okrs"] for m in ms)
        top1, mrr, f1, review = (
            sum((m[key] or 0.0) * m["okrs"] for m in ms) / n
            for key in ("top1", "mrr", "link_f1", "review_rate")
        )
        flags = f"{sum(m['right'] for m in ms)}/{sum(m['flags'] for m in ms)}/"
        flags += str(sum(m["orphans"] for m in ms))
        out.append(
            f"{source:<11}{name:<20}{n:>5}{top1:>7.3f}{mrr:>7.3f}{f1:>8.3f}{review:>8.3f}{flags:>33}"
        )
    return out


def main(argv: list[str] | None = None) -> None:
    import argparse

    ap = argparse.ArgumentParser(description="pointwise vs two-stage link fits")
    ap.add_argument("sources", nargs="+", help="fit folders (organizations with orphan labels)")
    ap.add_argument("--also", nargs="+", default=[], help="folders scored with the all-org fit")
    ap.add_argument("--l2", nargs="+", type=float, default=[0.0003, LISTWISE_L2, 0.003])
    args = ap.parse_args(argv)
    print("\n".join(compare(args.sources, args.also, args.l2)))


if __name__ == "__main__":
    main()

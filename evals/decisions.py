"""Does the engine learn from people's decisions? Simulated from labels, no database.

    HF_HUB_OFFLINE=1 .venv/bin/python -m evals.decisions DIR_OR_BUNDLE... [--share 0.3] [--seeds 5]

For each organization with orphan labels: a share of its OKRs is "decided" as a reviewer would
(of the engine's three best candidates, confirm the gold links and reject the others), the
organization's `aligned` threshold is adapted to those decisions (`adapted` below),
and the remaining OKRs are scored with the fitted and with the
adapted calibration. Prints link F1 and orphan precision/recall (an OKR with no aligned link) on
the undecided OKRs, mean over organizations and seeds.

Measured 2026-12-05 (dev, old holdout, dev-styles; 30% decided, 5 seeds): no gain. Threshold
adaptation lowers link F1 on every group (dev-styles 0.619 -> 0.586), and a per-organization
logit bias fitted by penalized likelihood does no better (tried in the same harness): the
engine's errors are in the ranking, not an organization-wide offset of its scores. So the
service applies people's decisions to the links they decided (stage.apply_feedback) and does
not move the organization's thresholds.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from alignment.scoring import calibration
from evals import research

# The candidate rule: move the organization's `aligned` threshold to the one that best
# separates its confirmed from its rejected links, shrunk towards the fitted threshold.
PSEUDO_COUNT = 10  # decisions worth as much as the fitted threshold
GRID = np.round(np.arange(0.05, 0.901, 0.025), 3)


def adapted(
    cal: calibration.Calibration, decided: Sequence[tuple[float, bool]]
) -> calibration.Calibration:
    """`decided`: (the link's score, True if a person confirmed it, False if rejected)."""
    if not decided:
        return cal
    scores = np.asarray([s for s, _ in decided], dtype=np.float64)
    confirmed = np.asarray([c for _, c in decided], dtype=bool)
    if confirmed.all() or not confirmed.any():
        return cal
    right = [
        int(((scores >= t) & confirmed).sum() + ((scores < t) & ~confirmed).sum()) for t in GRID
    ]
    best = max(right)
    # Among equally good thresholds, the one nearest the fitted threshold.
    t_hat = min((t for t, r in zip(GRID, right, strict=True) if r == best),
                key=lambda t: abs(t - cal.aligned))  # fmt: skip
    n = len(decided)
    aligned = (n * float(t_hat) + PSEUDO_COUNT * cal.aligned) / (n + PSEUDO_COUNT)
    ratio = cal.weak / cal.aligned if cal.aligned else 0.5
    return replace(cal, aligned=round(aligned, 4), weak=round(aligned * ratio, 4))


def _metrics(probs: np.ndarray, gold: np.ndarray, cal: calibration.Calibration) -> dict:
    pred = calibration.label_links(probs, cal) == "aligned"
    tp = float((pred & gold).sum())
    f1 = 2 * tp / max(float(pred.sum() + gold.sum()), 1.0)
    said_orphan = ~pred.any(axis=1)
    is_orphan = ~gold.any(axis=1)
    hit = float((said_orphan & is_orphan).sum())
    return {
        "link_f1": f1,
        "orphan_p": hit / said_orphan.sum() if said_orphan.any() else None,
        "orphan_r": hit / is_orphan.sum() if is_orphan.any() else None,
    }


def decisions(probs: np.ndarray, gold: np.ndarray) -> list[tuple[float, bool]]:
    out = []
    for p, g in zip(probs, gold, strict=True):
        # A reviewer looks at the engine's three best candidates and decides each.
        out += [(float(p[o]), bool(g[o])) for o in np.argsort(-p)[:3]]
    return out


def run(orgs, embed, share: float, seeds: int) -> dict[str, dict[str, list[float]]]:
    results: dict[str, dict[str, list[float]]] = {}
    for org in orgs:
        if not any(not v for v in org.labels.get("links", {}).values()):
            continue
        x, gold = research._link_data(org, embed)
        probs = calibration.calibrated(x, calibration.DEFAULT)
        for seed in range(seeds):
            rng = np.random.default_rng(seed)
            decided = rng.random(len(gold)) < share
            rest = ~decided
            cal = adapted(calibration.DEFAULT, decisions(probs[decided], gold[decided]))
            for name, c in (("fitted", calibration.DEFAULT), ("adapted", cal)):
                m = _metrics(probs[rest], gold[rest], c)
                bucket = results.setdefault(f"{org.source}|{name}", {})
                for k, v in m.items():
                    if v is not None:
                        bucket.setdefault(k, []).append(v)
    return results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sources", nargs="+")
    ap.add_argument("--share", type=float, default=0.3)
    ap.add_argument("--seeds", type=int, default=5)
    args = ap.parse_args()
    embed = research.CachedEmbedder()
    orgs = research.load_all(args.sources)
    results = run(orgs, embed, args.share, args.seeds)
    embed.save()
    print(f"{'group | calibration':<30}{'link_f1':>10}{'orphan_p':>10}{'orphan_r':>10}")
    for key in sorted(results):
        m = results[key]
        cells = "".join(f"{np.mean(m[k]):>10.3f}" if m.get(k) else f"{'-':>10}"
                        for k in ("link_f1", "orphan_p", "orphan_r"))  # fmt: skip
        print(f"{key:<30}{cells}")


if __name__ == "__main__":
    main()

"""Tiny organizations: the full calibration vs the absolute-feature one (`calibration.SMALL_ORG`).

    HF_HUB_OFFLINE=1 .venv/bin/python -m evals.small_orgs [--draws 30] [--seed 0]

Each dev organization is cut down to random tiny organizations (1-3 objectives, 1-5 OKRs) and
scored with two calibrations fitted on the *other* seven organizations: all features (what
`DEFAULT` is) and only `calibration.ABSOLUTE`. Prints link precision, recall and F1 pooled over
every draw, overall and by size, which is what `calibration.calibration_for` is based on.
"""

from __future__ import annotations

import argparse
from collections import defaultdict

import numpy as np

from alignment.scoring import calibration, link_features
from evals import research


def _counts(labels: np.ndarray, gold: np.ndarray) -> np.ndarray:
    aligned = labels == "aligned"
    return np.array([(aligned & gold).sum(), aligned.sum(), gold.sum()])


def _prf(c: np.ndarray) -> str:
    p, r = c[0] / max(c[1], 1), c[0] / max(c[2], 1)
    return f"precision {p:.3f} recall {r:.3f} F1 {2 * p * r / max(p + r, 1e-9):.3f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--draws", type=int, default=30, help="tiny organizations per dev org")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    embed = research.CachedEmbedder()
    dev = research.load_all(["evals/datasets/dev"])
    rng = np.random.default_rng(args.seed)
    total = {"all features": np.zeros(3), "absolute only": np.zeros(3)}
    by_size: dict[tuple[int, int], dict[str, np.ndarray]] = defaultdict(
        lambda: {k: np.zeros(3) for k in total}
    )
    for test in dev:
        train = [o for o in dev if o is not test]
        cals = {
            "all features": research.fit_links(train, embed, calibration.DEFAULT),
            "absolute only": research.fit_links(
                train, embed, calibration.SMALL_ORG, only=calibration.ABSOLUTE
            ),
        }
        for _ in range(args.draws):
            k, n = int(rng.integers(1, 4)), int(rng.integers(1, 6))
            objectives = list(rng.choice(test.objectives, size=k, replace=False))
            okrs = list(rng.choice(test.okrs, size=n, replace=False))
            gold = np.array(
                [[o.id in test.labels["links"][x.id] for o in objectives] for x in okrs]
            )
            x = link_features.pair_features(objectives, okrs, embed=embed).x
            for name, cal in cals.items():
                counts = _counts(calibration.label_links(calibration.calibrated(x, cal), cal), gold)
                total[name] += counts
                by_size[(k, n)][name] += counts
    embed.save()
    for name, c in total.items():
        print(f"{name:14} {_prf(c)}")
    print("by size (objectives, OKRs): F1 all features / absolute only")
    for size in sorted(by_size):
        f1 = [_prf(c).split("F1 ")[1] for c in by_size[size].values()]
        print(f"  {size}: {f1[0]} / {f1[1]}")


if __name__ == "__main__":
    main()

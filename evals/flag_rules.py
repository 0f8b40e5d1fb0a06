"""Which rule should turn scores into the report's confident flags? (DB-free, leave-one-org-out)

    HF_HUB_OFFLINE=1 .venv/bin/python -m evals.flag_rules evals/datasets/dev \\
        evals/datasets/holdout evals/datasets/dev-styles

A finished study (2026-12-05/06), no longer in `make eval`: its rules read one calibration's
labels and scores, the plain one (calibration.PLAIN) since the links are ranked and labelled by
another (evals/README.md, "Two scores adopted"), so its "shipped" row is the orphan rule before
that change. Every organization passed must be development data. Each one with orphan or drift
labels is scored with a link and drift calibration fitted on the *other* such organizations (as
`evals.research` does), which makes its scores what the service would give an organization it
never saw; a ranking-only one (real plans: every OKR has a parent, so every orphan flag on it
is false) with the calibration fitted on all of them. Then, for each candidate rule and each
organization in turn, the rule's parameters are chosen on the other organizations only (highest
pooled precision with pooled recall >= the issue's 0.70 and at most 25% of OKRs in review;
highest F1 when no setting reaches that; with `--orphans-by-precision`, the orphan rules take
the highest recall whose precision reaches the issue's 0.80, as `evals.fit` chooses the shipped
share) and applied to the one left out. Printed: per dataset folder, the pooled precision /
recall of the report's `orphan_okr` and `checkin_drift` flags and the review share, per rule.

Known approximation: organization j's scores come from a calibration fitted with organization i
among others, so the scores used to choose i's parameters saw i's labels through that fit (one
organization in eighteen); the parameters themselves never did.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import pickle
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from statistics import median

import numpy as np

from alignment.scoring import calibration, drift, link_features
from evals import research
from evals.orphan_share import PRECISION_FLOOR, SHARES

CACHE_DIR = Path("/tmp/gt_flag_rules")
RECALL_FLOOR, REVIEW_CAP = 0.70, 0.25
QUADRATIC_C: float | None = None  # --quadratic: link fits with pairwise products (a study)


@dataclass
class Scored:
    """One organization scored leave-one-org-out: what the report's rules read."""

    name: str
    source: str
    okr_ids: list[str]
    probs: np.ndarray  # (okrs, objectives) calibrated link scores
    codes: np.ndarray  # 0 none, 1 weak, 2 aligned
    x: np.ndarray  # (okrs, objectives, features) link features
    orphan: dict[str, bool]  # labelled OKRs: is it an orphan?
    checkin_ids: list[str]
    checkin_okr: list[str]
    drift_p: np.ndarray  # drift scores
    drift_gold: dict[str, bool]
    drift_threshold: float


def _key(orgs: list[research.Org]) -> str:
    """Cache key: the organizations' records and labels, the code and constants scoring them."""
    records = [(o.name, o.objectives, o.okrs, o.checkins, json.dumps(o.labels)) for o in orgs]
    h = hashlib.sha1(repr(records).encode())
    for module in (research, drift, link_features, calibration):
        h.update(Path(module.__file__).read_bytes())
    h.update(calibration.FITTED_PATH.read_bytes())
    h.update(repr((research.DRIFT_FLAG_RECALL, QUADRATIC_C)).encode())
    return h.hexdigest()[:12]


def score_loo(orgs: list[research.Org], embed) -> list[Scored]:
    """Each fit organization scored with calibrations fitted on the other fit organizations;
    each ranking-only one (every OKR has a parent, so any orphan flag on it is false) with
    calibrations fitted on all of them."""
    cache = CACHE_DIR / f"loo-{_key(orgs)}.pkl"
    if cache.exists():
        return pickle.loads(cache.read_bytes())
    out = []
    fit = [o for o in orgs if o.fit]
    for org in orgs:
        rest = [o for o in fit if o is not org]
        # PLAIN: the calibration whose scores the orphan rule reads since two scores were
        # adopted; this study's rules all read one calibration's labels and scores.
        cal = research.fit_links(rest, embed, calibration.PLAIN, quadratic_c=QUADRATIC_C)
        dcal = research.fit_drift(rest, embed, drift.DEFAULT)
        if (
            calibration.calibration_for(len(org.objectives), len(org.okrs))
            is not calibration.DEFAULT
        ):
            cal = research.fit_links(rest, embed, calibration.SMALL_ORG, only=calibration.ABSOLUTE)
        pf = link_features.pair_features(
            org.objectives, org.okrs, embed=embed, full_weight=cal.full_weight
        )
        probs = calibration.calibrated(pf.x, cal)
        ds = drift.score_drift(org.checkins, embed=embed, okrs=org.okrs, calibration=dcal)
        links = org.labels.get("links") or {}
        out.append(
            Scored(
                org.name,
                org.source,
                [k.id for k in org.okrs],
                probs,
                calibration.label_codes(probs, cal),
                pf.x,
                {k: not v for k, v in links.items()},
                [c.id for c in org.checkins],
                [c.okr.id for c in org.checkins],
                np.asarray([d.score for d in ds]),
                {k: bool(v) for k, v in (org.labels.get("drift") or {}).items()},
                dcal.threshold,
            )
        )
        print(f"  scored {org.name} (leave-one-org-out)", flush=True)
    CACHE_DIR.mkdir(exist_ok=True)
    cache.write_bytes(pickle.dumps(out))
    return out


# ---- drift rules: a check-in is flagged, or not (unflagged ones stay readable as scores) ----

DriftRule = Callable[[Scored, dict], np.ndarray]


def drift_absolute(s: Scored, p: dict) -> np.ndarray:
    """The service's rule: score >= the fitted threshold (times a factor; 1 = as fitted)."""
    return s.drift_p >= s.drift_threshold * p["factor"]


def drift_org_outlier(s: Scored, p: dict) -> np.ndarray:
    """Absolute threshold AND an outlier in the organization's own scores (robust z)."""
    v = s.drift_p
    med = float(np.median(v))
    mad = max(float(np.median(np.abs(v - med))) * 1.4826, p["floor"])
    return (v >= s.drift_threshold * p["factor"]) & ((v - med) / mad >= p["z"])


def drift_org_top_share(s: Scored, p: dict) -> np.ndarray:
    """Absolute threshold AND among the organization's top `share` of check-ins."""
    v = s.drift_p
    cut = float(np.quantile(v, 1.0 - p["share"])) if len(v) else 0.0
    return (v >= s.drift_threshold * p["factor"]) & (v >= cut)


def drift_okr_outlier(s: Scored, p: dict) -> np.ndarray:
    """Absolute threshold AND above the median of its own OKR's other check-ins by `gap`."""
    v = s.drift_p
    by_okr: dict[str, list[int]] = {}
    for i, o in enumerate(s.checkin_okr):
        by_okr.setdefault(o, []).append(i)
    rel = np.zeros(len(v), dtype=bool)
    for idx in by_okr.values():
        for i in idx:
            others = [v[j] for j in idx if j != i]
            rel[i] = not others or v[i] - float(np.median(others)) >= p["gap"]
    return (v >= s.drift_threshold * p["factor"]) & rel


DRIFT_RULES: dict[str, tuple[DriftRule, dict[str, Iterable]]] = {
    "absolute, fitted threshold": (drift_absolute, {"factor": [1.0]}),
    "absolute, threshold chosen": (
        drift_absolute,
        {"factor": [0.75, 1.0, 1.125, 1.25, 1.375, 1.5, 1.625, 1.75, 2.0]},
    ),
    "absolute + org robust z": (
        drift_org_outlier,
        {"factor": [0.75, 1.0, 1.25, 1.5], "z": [1, 2, 3, 4, 6, 8], "floor": [0.01, 0.05]},
    ),
    "absolute + org top share": (
        drift_org_top_share,
        {"factor": [0.75, 1.0, 1.25, 1.5], "share": [0.05, 0.08, 0.1, 0.15, 0.2, 0.3]},
    ),
    "absolute + own-OKR outlier": (
        drift_okr_outlier,
        {"factor": [0.75, 1.0, 1.25, 1.5], "gap": [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6]},
    ),
}


def drift_counts(s: Scored, flags: np.ndarray) -> tuple[int, int, int, int, int]:
    """(true flags, flags, drifting, 0, 0) over the labelled check-ins."""
    tp = fl = pos = 0
    for cid, f in zip(s.checkin_ids, flags, strict=True):
        if cid not in s.drift_gold:
            continue
        g = s.drift_gold[cid]
        tp += int(f and g)
        fl += int(f)
        pos += int(g)
    return tp, fl, pos, 0, 0


# ---- orphan rules: verdict per OKR (aligned / needs_review / orphan) ----

OrphanRule = Callable[[Scored, dict], dict[str, str]]
_F = {name: i for i, name in enumerate(link_features.FEATURES)}


def _base(s: Scored) -> tuple[np.ndarray, float, np.ndarray, np.ndarray]:
    best = s.probs.max(axis=1) if s.probs.size else np.zeros(len(s.okr_ids))
    ref = median(best.tolist()) if len(best) else 0.0
    aligned = (s.codes == 2).any(axis=1)
    weak = (s.codes == 1).any(axis=1)
    return best, ref, aligned, weak


def orphan_shipped(s: Scored, p: dict) -> dict[str, str]:
    """Shipped: no weak link and best < share x the organization's median best score."""
    best, ref, aligned, weak = _base(s)
    out = {}
    for k, okr in enumerate(s.okr_ids):
        if aligned[k]:
            out[okr] = "aligned"
        elif weak[k] or best[k] >= p["share"] * ref:
            out[okr] = "needs_review"
        else:
            out[okr] = "orphan"
    return out


def orphan_with_evidence(s: Scored, p: dict) -> dict[str, str]:
    """Shipped rule, plus the OKR's own evidence: routine-output key results (org z) can make
    an unaligned OKR a confident orphan; key results supporting its best objective or a clear
    rank margin keep it in review."""
    best, ref, aligned, weak = _base(s)
    top = s.probs.argmax(axis=1)
    srt = np.sort(s.probs, axis=1)
    margin = srt[:, -1] - srt[:, -2] if s.probs.shape[1] > 1 else srt[:, -1]
    routine = s.x[:, 0, _F["routine"]] if s.x.size else np.zeros(len(s.okr_ids))
    kr_sup = s.x[np.arange(len(top)), top, _F["kr_support"]] if s.x.size else routine
    out = {}
    for k, okr in enumerate(s.okr_ids):
        if aligned[k]:
            out[okr] = "aligned"
            continue
        low = not weak[k] and best[k] < p["share"] * ref
        routine_orphan = not weak[k] and routine[k] >= p["routine"] and best[k] < p["rshare"] * ref
        vetoed = kr_sup[k] >= p["kr"] or margin[k] >= p["margin"]
        out[okr] = "orphan" if (low or routine_orphan) and not vetoed else "needs_review"
    return out


ORPHAN_RULES: dict[str, tuple[OrphanRule, dict[str, Iterable]]] = {
    "median share 0.25 (until 2026-12-06)": (orphan_shipped, {"share": [0.25]}),
    "median share 0.12 (evals.fit's choice)": (orphan_shipped, {"share": [0.12]}),
    "median share chosen": (orphan_shipped, {"share": [0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5]}),
    "median share chosen, fine": (
        orphan_shipped,
        {"share": list(SHARES)},
    ),
    "share + own evidence": (
        orphan_with_evidence,
        {
            "share": [0.15, 0.25, 0.4],
            "routine": [1.0, 1.5, 2.0, 99.0],
            "rshare": [0.5, 0.75, 1.0],
            "kr": [0.5, 1.0, 2.0, 99.0],
            "margin": [0.1, 0.2, 99.0],
        },
    ),
}


def orphan_counts(s: Scored, verdict: dict[str, str]) -> tuple[int, int, int, int, int]:
    """(true flags, flags, orphans, in review, labelled OKRs) over the labelled OKRs."""
    tp = fl = pos = rev = n = 0
    for okr, is_orphan in s.orphan.items():
        v = verdict.get(okr, "needs_review")
        tp += int(v == "orphan" and is_orphan)
        fl += int(v == "orphan")
        pos += int(is_orphan)
        rev += int(v == "needs_review")
        n += 1
    return tp, fl, pos, rev, n


# ---- choosing on the other organizations, applying to the one left out ----


def _grid(space: dict[str, Iterable]) -> list[dict]:
    keys = list(space)
    return [dict(zip(keys, vals, strict=True)) for vals in itertools.product(*space.values())]


def _figures(c: np.ndarray) -> tuple[float | None, float | None, float | None]:
    tp, fl, pos, rev, n = (int(v) for v in c)
    return (tp / fl if fl else None, tp / pos if pos else None, rev / n if n else None)


def _objective(c: np.ndarray) -> tuple:
    if BY_PRECISION:
        return _precision_first(c)
    prec, rec, review = _figures(c)
    prec, rec = prec or 0.0, rec or 0.0
    ok = rec >= RECALL_FLOOR and (review is None or review <= REVIEW_CAP)
    f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
    return (ok, prec if ok else f1)


BY_PRECISION = False


def _precision_first(c: np.ndarray) -> tuple:
    """Recall among the settings whose precision reaches PRECISION_FLOOR, else precision: a
    false orphan flag costs the report its readers (the brief's lesson), a missed one waits in
    the review queue."""
    prec, rec, _ = _figures(c)
    prec, rec = prec or 0.0, rec or 0.0
    ok = prec >= PRECISION_FLOOR
    return (ok, rec if ok else prec, prec)


def loo(scored: list[Scored], rule, space, counter) -> tuple[dict[str, np.ndarray], list]:
    grid = _grid(space)
    table = np.asarray([[counter(s, rule(s, p)) for p in grid] for s in scored])  # (org, p, 5)
    total = table.sum(axis=0)
    by_source: dict[str, np.ndarray] = {}
    chosen = []
    for i, s in enumerate(scored):
        others = total - table[i]
        best = max(range(len(grid)), key=lambda g: _objective(others[g]))
        chosen.append((s.name, grid[best]))
        by_source[s.source] = by_source.get(s.source, np.zeros(5)) + table[i, best]
    all_best = max(range(len(grid)), key=lambda g: _objective(total[g]))
    by_source["(all, in-sample choice)"] = total[all_best]
    chosen.append(("all organizations", grid[all_best]))
    return by_source, chosen


def _fmt(v: float | None) -> str:
    return f"{v:.2f}" if v is not None else "-"


def report(scored: list[Scored], rules: dict, counter, what: str, verbose: bool) -> None:
    print(f"\n{what}: precision / recall / review share, pooled over each folder's organizations")
    for name, (rule, space) in rules.items():
        by_source, chosen = loo(scored, rule, space, counter)
        cells = []
        for source, c in by_source.items():
            prec, rec, review = _figures(c)
            extra = (
                f" rev {_fmt(review)}" if review is not None and counter is orphan_counts else ""
            )
            cells.append(f"{source}: {_fmt(prec)}/{_fmt(rec)}{extra} ({int(c[1])} flags)")
        print(f"  {name:<30} " + " | ".join(cells))
        if verbose:
            print(f"    chosen: {chosen}")


def main(argv: list[str] | None = None) -> None:
    global RECALL_FLOOR, BY_PRECISION, QUADRATIC_C
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sources", nargs="+", help="development dataset folders (never held-out)")
    ap.add_argument("-v", "--verbose", action="store_true", help="print the chosen parameters")
    ap.add_argument("--recall-floor", type=float, default=RECALL_FLOOR, help="for choosing rules")
    ap.add_argument(
        "--fit-drift-recall",
        type=float,
        default=research.DRIFT_FLAG_RECALL,
        help="recall the drift fit's threshold must keep; above 1: highest F1 (the rule before "
        "2026-12-05)",
    )
    ap.add_argument(
        "--orphans-by-precision",
        action="store_true",
        help=f"choose orphan rules by recall at precision >= {PRECISION_FLOOR} (else: the "
        "recall floor, then F1)",
    )
    ap.add_argument(
        "--quadratic", type=float, help="study: link fits with pairwise products, penalty C"
    )
    args = ap.parse_args(argv)
    QUADRATIC_C = args.quadratic
    RECALL_FLOOR = args.recall_floor
    BY_PRECISION = args.orphans_by_precision
    research.DRIFT_FLAG_RECALL = args.fit_drift_recall
    orgs = research.load_all(args.sources)
    embed = research.CachedEmbedder()
    scored = score_loo(orgs, embed)
    embed.save()
    drift_scored = [s for s in scored if s.drift_gold]
    BY_PRECISION = False  # the drift rules keep their criterion
    report(drift_scored, DRIFT_RULES, drift_counts, "drift", args.verbose)
    BY_PRECISION = args.orphans_by_precision
    report([s for s in scored if s.orphan], ORPHAN_RULES, orphan_counts, "orphans", args.verbose)


if __name__ == "__main__":
    main()

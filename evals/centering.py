"""Common component removed before similarity (centering): does the link engine gain? (DB-free)

    HF_HUB_OFFLINE=1 .venv/bin/python -m evals.centering DEV_DIR...

MiniLM vectors are anisotropic: every text of one organization shares a large common component
(its domain words, its writing style), which compresses the differences between cosines. Each
variant maps every vector the link features read (OKR and objective fields, whole texts, team
missions and check-ins, the routine phrases) by v -> normalize((v - m) - P (v - m)), with m a
mean vector and P the projection on D principal directions, then recomputes all nine features
and refits the calibration:

    plain          the engine as shipped (no map)
    obj_mean       A: m = mean of the organization's objective field vectors (stable: adding
                   OKRs does not move it)
    all_mean       B: m = mean of all its field vectors, OKRs and objectives (moves when OKRs
                   are added)
    abtt_obj_D     C: "all-but-the-top" (Mu & Viswanath 2018) on the objective field vectors:
                   their mean, and their top D principal directions removed (D = 1, 2, 3)
    abtt_all_D     C on all field vectors
    global_mean    D: one constant, the mean over organizations of each organization's mean
                   field vector; the scored organization's own texts never enter it (the mean
                   of the other organizations' means), so it is what the engine would use on
                   an organization it had not seen
    obj_mean_rel   A for the relative features only (col_z, row_z, gap, team, context,
                   kr_support); `sim` and `routine` stay plain (added after the first run)

Every variant is fitted and scored as `evals.research` does: each organization with orphan or
drift labels by a link calibration fitted on the other such organizations, the others (ranking
only) by the fit on all of them; the shipped lexical re-ranking weight throughout; no drift
(the map does not touch it). Printed per folder, mean over organizations: top1, mrr, link F1,
review share, confident-orphan precision / recall, OKRs gained / lost at rank 1 against plain
and the orphan flags pooled (right / made of the labelled orphans; false flags where nothing
is an orphan). A map moves the scores' level, so the orphan rule's share (alignment/verdicts.py,
0.12 shipped) is also re-chosen per organization by `evals.fit`'s rule (evals/orphan_share.py)
on the other organizations' leave-one-org-out scores, as `evals.flag_rules
--orphans-by-precision` does; both are printed. Research only: nothing here changes what the
service runs (measured, not adopted: evals/README.md).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from alignment import verdicts
from alignment.scoring import calibration, link_features, link_scores
from evals import metrics, orphan_share, research

PLAIN_PREPARE = link_features._prepare


@dataclass(frozen=True)
class Centering:
    """v -> (v - mean) with the `directions` (orthonormal rows) projected out, renormalized."""

    mean: np.ndarray  # (dim,)
    directions: np.ndarray  # (D, dim)

    def __call__(self, vectors) -> np.ndarray:
        v = np.asarray(vectors, dtype=np.float64) - self.mean
        if len(self.directions):
            v = v - (v @ self.directions.T) @ self.directions
        norm = np.linalg.norm(v, axis=1, keepdims=True)
        return (v / np.maximum(norm, 1e-9)).astype(np.float32)


def centering(vectors: np.ndarray, top: int = 0) -> Centering:
    """The mean of `vectors` and their `top` principal directions (fewer when they span less)."""
    v = np.asarray(vectors, dtype=np.float64)
    mean = v.mean(axis=0)
    if top <= 0:
        return Centering(mean, np.zeros((0, v.shape[1])))
    _, s, vt = np.linalg.svd(v - mean, full_matrices=False)
    top = min(top, int((s > 1e-9 * max(float(s[0]), 1e-12)).sum()))
    return Centering(mean, vt[:top])


def field_texts(objectives, okrs) -> tuple[list[str], list[str]]:
    """The objective field texts and the OKR field texts, as link_features collects them."""
    objective_side = link_features._collect(objectives, link_features._objective_fields).texts
    okr_side = link_features._collect(okrs, link_features._okr_fields).texts
    return objective_side, okr_side


# Variant -> how it builds an organization's map from (objective field vectors, OKR field
# vectors, the organization's key); None is the plain engine.
Builder = Callable[[np.ndarray, np.ndarray, tuple], Centering]
GLOBAL: dict[tuple, np.ndarray] = {}  # organization key -> the other organizations' mean


def _key(objectives, okrs) -> tuple:
    return tuple((o.id, o.title) for o in objectives), tuple((k.id, k.title) for k in okrs)


VARIANTS: dict[str, Builder | None] = {
    "plain": None,
    "obj_mean": lambda obj, okr, key: centering(obj),
    "all_mean": lambda obj, okr, key: centering(np.concatenate([obj, okr])),
}
for _d in (1, 2, 3):
    VARIANTS[f"abtt_obj_{_d}"] = lambda obj, okr, key, d=_d: centering(obj, d)
for _d in (1, 2, 3):
    VARIANTS[f"abtt_all_{_d}"] = lambda obj, okr, key, d=_d: centering(
        np.concatenate([obj, okr]), d
    )
VARIANTS["global_mean"] = lambda obj, okr, key: Centering(GLOBAL[key], np.zeros((0, obj.shape[1])))
# Added after reading the first run (A lost confident orphans on dev): A's map for the relative
# features only; `sim` and `routine`, the absolute levels orphans are told by, stay plain.
VARIANTS["obj_mean_rel"] = VARIANTS["obj_mean"]
ABSOLUTE_PLAIN = {"obj_mean_rel": ("sim", "routine")}


def use_variant(name: str) -> None:
    """Install the variant's map in front of every embedding the link features read."""
    build = VARIANTS[name]

    def prepare(objectives, okrs, embed, full_weight, words):
        obj_texts, okr_texts = field_texts(objectives, okrs)
        obj, okr = embed(obj_texts), embed(okr_texts)
        transform = build(np.asarray(obj), np.asarray(okr), _key(objectives, okrs))
        mapped = lambda texts: transform(embed(texts))  # noqa: E731
        p = PLAIN_PREPARE(objectives, okrs, mapped, full_weight, words)
        if name in ABSOLUTE_PLAIN:
            plain = PLAIN_PREPARE(objectives, okrs, embed, full_weight, words)
            for feature in ABSOLUTE_PLAIN[name]:
                p.cache[feature] = plain.feature(feature)
        return p

    link_features._prepare = PLAIN_PREPARE if build is None else prepare
    research._FEATURES.clear()  # the per-organization feature tensors of another variant


def set_global_means(orgs, embed) -> None:
    """Each organization's constant: the mean of the other organizations' mean field vectors."""
    means = []
    for org in orgs:
        obj_texts, okr_texts = field_texts(org.objectives, org.okrs)
        means.append(np.asarray(embed([*obj_texts, *okr_texts]), dtype=np.float64).mean(axis=0))
    total = np.sum(means, axis=0)
    for org, mean in zip(orgs, means, strict=True):
        GLOBAL[_key(org.objectives, org.okrs)] = (total - mean) / (len(orgs) - 1)
    if len(GLOBAL) != len(orgs):
        raise SystemExit("two organizations have the same objectives and OKRs")


def geometry(orgs, embed, name: str) -> tuple[float, float]:
    """Mean over organizations of the whole-text cosine of every (OKR, objective) pair and of
    its spread across each OKR's objectives, under the variant's map."""
    use_variant(name)
    mean_cos, spread = [], []
    for org in orgs:
        p = link_features._prepare(org.objectives, org.okrs, embed, 0.5, None)
        full = p.stack(p.k_full).astype(np.float64) @ p.stack(p.o_full).T
        mean_cos.append(float(full.mean()))
        spread.append(float(full.std(axis=1).mean()))
    return float(np.mean(mean_cos)), float(np.mean(spread))


def _top1_hits(preds, labels) -> dict[str, bool]:
    """OKR id -> its rank-1 objective is a gold one (OKRs with a gold link only)."""
    return {
        okr_id: bool(preds.get(okr_id)) and preds[okr_id][0].objective_id in set(gold)
        for okr_id, gold in labels["links"].items()
        if gold
    }


def _candidates(preds, labels) -> orphan_share.Candidates:
    """orphan_share.candidates from an organization's scored links."""
    gold = labels["links"]
    reference = verdicts.reference_score(preds)
    rows = [k for k in gold if not any(lk.label in ("aligned", "weak") for lk in preds[k])]
    return orphan_share.Candidates(
        np.array([max(lk.score for lk in preds[k]) / max(reference, 1e-12) for k in rows]),
        np.array([not gold[k] for k in rows], dtype=bool),
        sum(1 for links in gold.values() if not links),
    )


def _evaluate(preds, labels, share: float) -> dict:
    """metrics.evaluate with the orphan rule's share set to `share`, plus the flags counted."""
    shipped = verdicts.ORPHAN_SHARE_OF_MEDIAN
    verdicts.ORPHAN_SHARE_OF_MEDIAN = share
    try:
        m = metrics.evaluate(preds, labels)
        said = verdicts.verdicts({k: preds[k] for k in labels["links"]})
    finally:
        verdicts.ORPHAN_SHARE_OF_MEDIAN = shipped
    flagged = [k for k, v in said.items() if v == "orphan"]
    m["flags"] = len(flagged)
    m["flags_right"] = sum(1 for k in flagged if not labels["links"][k])
    m["orphans"] = sum(1 for links in labels["links"].values() if not links)
    m["share"] = share
    return m


def run(orgs, embed, fit_orgs, name: str, install=None) -> tuple[dict, dict, dict[tuple, bool]]:
    """Per folder, the metrics with the shipped orphan share and with the share chosen by
    evals.fit's rule on the other organizations' scores; and every OKR's rank-1 hit.
    `install`: what sets the variant up (`use_variant` unless given)."""
    (install or use_variant)(name)
    base = calibration.DEFAULT
    full_cal = research.fit_links(fit_orgs, embed, base)
    preds = {}
    for org in orgs:
        if org in fit_orgs and len(fit_orgs) > 1:  # leave-one-org-out, as research.main
            cal = research.fit_links([o for o in fit_orgs if o is not org], embed, base)
        else:
            cal = full_cal
        preds[org] = link_scores.score_links(org.objectives, org.okrs, embed=embed, calibration=cal)
    found = {org: _candidates(preds[org], org.labels) for org in orgs}
    shipped: dict[str, list[dict]] = {}
    chosen: dict[str, list[dict]] = {}
    hits: dict[tuple, bool] = {}
    for org in orgs:
        share = orphan_share.choose([found[o] for o in orgs if o is not org])
        shipped.setdefault(org.source, []).append(
            _evaluate(preds[org], org.labels, verdicts.ORPHAN_SHARE_OF_MEDIAN)
        )
        chosen.setdefault(org.source, []).append(_evaluate(preds[org], org.labels, share))
        for okr_id, hit in _top1_hits(preds[org], org.labels).items():
            hits[(org.source, org.name, okr_id)] = hit
    return shipped, chosen, hits


SHOWN = ("top1", "mrr", "orphan_auc", "link_f1", "review_rate")
SHOWN += ("confident_orphan_precision", "confident_orphan_recall")


def _flags(rows: list[dict]) -> str:
    """Pooled orphan flags: right / made (of the labelled orphans), or false flags."""
    right, made, orphans = (sum(r[c] for r in rows) for c in ("flags_right", "flags", "orphans"))
    return f"{right}/{made} of {orphans}" if orphans else f"{made - right} false"


def main(argv: list[str] | None = None) -> None:
    t0 = time.perf_counter()
    orgs = research.organizations_from_argv(__doc__, argv)
    if len(orgs) < 2:
        raise SystemExit("give at least two organizations (the global mean leaves one out)")
    embed = research.CachedEmbedder()
    fit_orgs = [o for o in orgs if o.fit]
    set_global_means(orgs, embed)
    results = {}
    print(f"{'variant':<14}{'seconds':>9}{'mean cosine':>13}{'per-OKR sd':>12}  (whole texts)")
    for name in VARIANTS:
        t = time.perf_counter()
        results[name] = run(orgs, embed, fit_orgs, name)
        cos, sd = geometry(orgs, embed, name)
        print(f"{name:<14}{time.perf_counter() - t:>9.1f}{cos:>13.3f}{sd:>12.3f}", flush=True)
    use_variant("plain")
    embed.save()
    report(orgs, results)
    print(f"time: {time.perf_counter() - t0:.1f} s")


def report(orgs, results: dict[str, tuple[dict, dict, dict[tuple, bool]]]) -> None:
    """The per-folder tables of `run`'s results, each variant against "plain" (one of them)."""
    plain_hits = results["plain"][2]
    sources = list(dict.fromkeys(o.source for o in orgs))
    head = "".join(f"{c[:13]:>14}" for c in SHOWN)
    print(f"\nmean over organizations, orphan share {verdicts.ORPHAN_SHARE_OF_MEDIAN} (shipped)")
    print(f"{'folder / variant':<26}{head}{'rank 1 +/-':>12}{'orphan flags':>16}")
    for src in sources:
        for name, (rows, _, hits) in results.items():
            m = research._mean(rows[src])
            cells = [f"{m[c]:.3f}" if m.get(c) is not None else "-" for c in SHOWN]
            keys = [k for k in hits if k[0] == src]
            gained = sum(hits[k] and not plain_hits[k] for k in keys)
            lost = sum(plain_hits[k] and not hits[k] for k in keys)
            label = f"{src} {name}"
            print(
                f"{label:<26}" + "".join(f"{c:>14}" for c in cells)
                + f"{gained:>6} /{lost:>3}{_flags(rows[src]):>16}"
            )  # fmt: skip
    print("\norphan share chosen by evals.fit's rule on the other organizations' scores")
    shown = ("review_rate", "confident_orphan_precision", "confident_orphan_recall")
    head = "".join(f"{c[:13]:>14}" for c in shown)
    print(f"{'folder / variant':<26}{head}{'orphan flags':>16}{'shares':>12}")
    for src in sources:
        for name, (_, rows, _) in results.items():
            m = research._mean(rows[src])
            cells = [f"{m[c]:.3f}" if m.get(c) is not None else "-" for c in shown]
            shares = [r["share"] for r in rows[src]]
            label = f"{src} {name}"
            print(
                f"{label:<26}" + "".join(f"{c:>14}" for c in cells)
                + f"{_flags(rows[src]):>16}{min(shares):>6.2f}-{max(shares):.2f}"
            )  # fmt: skip
    # The worst-folder view: each variant's top1 change on its worst folder, and the mean
    # change of top1 and link F1 over folders.
    print(f"\n{'variant':<14}{'worst folder top1':>26}{'mean dtop1':>12}{'mean dF1':>10}")
    plain_means = {s: research._mean(results["plain"][0][s]) for s in sources}
    for name, (rows, _, _) in results.items():
        means = {s: research._mean(rows[s]) for s in sources}
        d_top1 = {s: means[s]["top1"] - plain_means[s]["top1"] for s in sources}
        d_f1 = [
            means[s]["link_f1"] - plain_means[s]["link_f1"]
            for s in sources
            if means[s].get("link_f1") is not None
        ]
        worst = min(sources, key=d_top1.get)
        print(
            f"{name:<14}{worst[-14:]:>16} {d_top1[worst]:+.3f}"
            f"{np.mean(list(d_top1.values())):>+12.3f}{np.mean(d_f1):>+10.3f}"
        )


if __name__ == "__main__":
    main(sys.argv[1:])

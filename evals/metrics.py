"""Evaluation metrics for alignment predictions against a `goldenthread.labels/v1` file.

Pure functions: predictions in, a flat dict of numbers out. A prediction for an OKR is its ranked
list of links; each item may be an `scoring.documents.Link`, a mapping with `objective_id`,
`score`, `label`, or a plain `(objective_id, score)` pair (baselines, which carry no label).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np
from sklearn.metrics import roc_auc_score

from alignment.verdicts import verdicts as okr_verdicts


def _triplet(item: Any) -> tuple[str, float, str | None]:
    """(objective_id, score, label) from any supported link shape."""
    if isinstance(item, Mapping):
        return str(item["objective_id"]), float(item.get("score", 0.0)), item.get("label")
    if isinstance(item, tuple | list):
        return str(item[0]), float(item[1]), (str(item[2]) if len(item) > 2 else None)
    return str(item.objective_id), float(item.score), getattr(item, "label", None)


def roc_auc(scores: Sequence[float], positives: Sequence[bool]) -> float | None:
    """ROC AUC (ties count half); None when only one class is present."""
    y = np.asarray(positives, dtype=bool)
    if y.all() or not y.any():
        return None
    return float(roc_auc_score(y, np.asarray(scores, dtype=np.float64)))


class _Scored(NamedTuple):
    score: float
    label: str


def _ratio(num: int, den: int) -> float:
    return num / den if den else 0.0


def link_metrics(
    predictions: Mapping[str, Sequence[Any]],
    labels: Mapping[str, Any],
    orphan_scores: Mapping[str, float] | None = None,
) -> dict[str, float | int | None]:
    """top1, mrr, orphan and link metrics over the OKRs present in `labels["links"]`.
    `orphan_scores`: each OKR's orphan score (link_scores.Scored), which the orphan AUC and
    the verdicts read; without them, its best link score."""
    gold: Mapping[str, Sequence[str]] = labels.get("links", {})
    rr: list[float] = []
    hits: list[float] = []
    orphan_score: list[float] = []
    orphan_gold: list[bool] = []
    pred_orphan: list[bool] = []
    ranked_by_okr: dict[str, list[_Scored]] = {}
    tp = n_pred = n_gold = 0
    labelled = False
    for okr_id, gold_ids in gold.items():
        ranked = [_triplet(x) for x in predictions.get(okr_id, [])]
        gold_set = set(gold_ids)
        if gold_set:
            rank = next((i + 1 for i, (oid, _, _) in enumerate(ranked) if oid in gold_set), None)
            rr.append(1.0 / rank if rank else 0.0)
            hits.append(1.0 if rank == 1 else 0.0)
        best = max((score for _, score, _ in ranked), default=0.0)
        if orphan_scores is not None and okr_id in orphan_scores:
            best = orphan_scores[okr_id]
        orphan_score.append(1.0 - best)
        orphan_gold.append(not gold_set)
        aligned = {oid for oid, _, label in ranked if label == "aligned"}
        labelled = labelled or any(label is not None for _, _, label in ranked)
        pred_orphan.append(not aligned)
        ranked_by_okr[okr_id] = [_Scored(score, label or "none") for _, score, label in ranked]
        tp += len(aligned & gold_set)
        n_pred += len(aligned)
        n_gold += len(gold_set)
    out: dict[str, float | int | None] = {
        "okrs": len(gold),
        "top1": float(np.mean(hits)) if hits else None,
        "mrr": float(np.mean(rr)) if rr else None,
        "orphan_auc": roc_auc(orphan_score, orphan_gold),
    }
    if not labelled:  # unlabelled rankings (baselines) have no link decisions to score
        out.update(
            orphan_precision=None,
            orphan_recall=None,
            link_precision=None,
            link_recall=None,
            link_f1=None,
            review_rate=None,
            confident_orphan_precision=None,
            confident_orphan_recall=None,
        )
        return out
    po, go = np.asarray(pred_orphan), np.asarray(orphan_gold)
    # The report's rule (alignment.verdicts): relative to this organization's median orphan
    # score (the best link score when no orphan scores are given).
    verdict = okr_verdicts(ranked_by_okr, orphan_scores=orphan_scores)
    verdicts = [verdict[k] for k in gold]
    co, any_go = np.asarray([v == "orphan" for v in verdicts], dtype=bool), bool(go.any())
    p, r = _ratio(tp, n_pred), _ratio(tp, n_gold)
    out.update(
        orphan_precision=_ratio(int((po & go).sum()), int(po.sum())) if go.any() else None,
        orphan_recall=_ratio(int((po & go).sum()), int(go.sum())) if go.any() else None,
        link_precision=p,
        link_recall=r,
        link_f1=(2 * p * r / (p + r)) if p + r else 0.0,
        # Three verdicts: only confident orphans are reported, the unsure go to review.
        review_rate=_ratio(verdicts.count("needs_review"), len(verdicts)),
        confident_orphan_precision=_ratio(int((co & go).sum()), int(co.sum())) if any_go else None,
        confident_orphan_recall=_ratio(int((co & go).sum()), int(go.sum())) if any_go else None,
    )
    return out


def drift_auc(drift_scores: Mapping[str, float], labels: Mapping[str, Any]) -> float | None:
    """ROC AUC of drift scores vs `labels["drift"]`; None when the labels have no drift."""
    gold: Mapping[str, bool] = labels.get("drift") or {}
    if not gold:
        return None
    ids = list(gold)
    return roc_auc([float(drift_scores.get(i, 0.0)) for i in ids], [bool(gold[i]) for i in ids])


def evaluate(
    predictions: Mapping[str, Sequence[Any]],
    labels: Mapping[str, Any],
    drift_scores: Mapping[str, float] | None = None,
    orphan_scores: Mapping[str, float] | None = None,
) -> dict[str, float | int | None]:
    """All metrics of the eval contract in one flat dict."""
    out = link_metrics(predictions, labels, orphan_scores)
    # No drift scores at all (a ranking-only method) is "not measured", not AUC 0.5.
    out["drift_auc"] = drift_auc(drift_scores, labels) if drift_scores is not None else None
    return out

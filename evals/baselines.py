"""Reference rankers the engine must beat: TF-IDF cosine and plain whole-text embedding cosine.

Both return okr id -> [(objective_id, score), ...] ranked by score, highest first. They make no
aligned/weak decisions, so only ranking metrics (top1, mrr) and orphan AUC apply to them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from alignment.scoring.documents import Embed, ObjectiveDoc, OkrDoc
from alignment.scoring.drift import DriftItem
from alignment.scoring.link_features import objective_text, okr_text

Ranking = dict[str, list[tuple[str, float]]]


def _rank(okrs: Sequence[OkrDoc], objectives: Sequence[ObjectiveDoc], sim: np.ndarray) -> Ranking:
    out: Ranking = {}
    for k, okr in enumerate(okrs):
        order = np.argsort(-sim[k], kind="stable")
        out[okr.id] = [(objectives[o].id, float(sim[k, o])) for o in order]
    return out


def tfidf_rankings(objectives: Sequence[ObjectiveDoc], okrs: Sequence[OkrDoc]) -> Ranking:
    """Cosine of TF-IDF vectors (fitted on this organization's texts) of OKR vs objective."""
    k_texts = [okr_text(k) for k in okrs]
    o_texts = [objective_text(o) for o in objectives]
    vec = TfidfVectorizer(stop_words="english", sublinear_tf=True)
    m = vec.fit_transform(k_texts + o_texts)
    sim = (m[: len(k_texts)] @ m[len(k_texts) :].T).toarray()
    return _rank(okrs, objectives, sim)


def embedding_rankings(
    objectives: Sequence[ObjectiveDoc], okrs: Sequence[OkrDoc], *, embed: Embed
) -> Ranking:
    """Cosine of one embedding of the whole OKR text vs one of the whole objective text."""
    k_texts = [okr_text(k) for k in okrs]
    o_texts = [objective_text(o) for o in objectives]
    unique = list(dict.fromkeys(k_texts + o_texts))
    vectors = np.asarray(embed(unique), dtype=np.float64)
    index = {t: i for i, t in enumerate(unique)}
    sim = vectors[[index[t] for t in k_texts]] @ vectors[[index[t] for t in o_texts]].T
    # Map cosine to [0, 1] so "1 - best score" is a valid orphan score for the metrics.
    return _rank(okrs, objectives, (sim + 1.0) / 2.0)


def drift_cosine(items: Sequence[DriftItem], *, embed: Embed) -> dict[str, float]:
    """Check-in id -> 1 - cosine(check-in text, whole text of the OKR it is filed under)."""
    c_texts = [it.text for it in items]
    k_texts = [okr_text(it.okr) for it in items]
    unique = list(dict.fromkeys(c_texts + k_texts))
    vectors = np.asarray(embed(unique), dtype=np.float64) if unique else np.zeros((0, 384))
    index = {t: i for i, t in enumerate(unique)}
    return {
        it.id: 1.0 - float(vectors[index[c]] @ vectors[index[k]])
        for it, c, k in zip(items, c_texts, k_texts, strict=True)
    }

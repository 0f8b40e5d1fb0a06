"""Drift scoring: is a check-in's text about other work than the OKR it is filed under?

Pure: check-ins, their OKRs and an `embed` callable in, one `DriftScore` per check-in out.
A check-in is compared with its own OKR (title, description, its key result and the sibling
key results) and with every other OKR of the organization. Drift is likely when the text is
far from its own OKR in absolute terms, far relative to the organization's other check-ins
(z-scored per organization, since writing styles differ), and closer to some other OKR than to
its own. A logistic map fitted on development organizations turns these into [0, 1].
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from alignment import lexical
from alignment.matching import Embed, KeyResultDoc, OkrDoc

FEATURES = ("own", "own_z", "gap", "lex_gap")


@dataclass(frozen=True)
class DriftItem:
    id: str  # check-in id
    text: str
    okr: OkrDoc
    key_result: KeyResultDoc | None = None


@dataclass(frozen=True)
class DriftScore:
    checkin_id: str
    score: float  # 1 = about other work than its OKR
    drifting: bool
    own_similarity: float  # best cosine to its own OKR's title/description/key results
    own_field: str  # which own field that was ("title", "description", "key_result:<id>")
    nearest_okr_id: str | None  # the other OKR it is closest to, if any
    nearest_similarity: float
    shared_terms: tuple[str, ...]  # with its own OKR


@dataclass(frozen=True)
class DriftCalibration:
    weights: tuple[float, ...] = (-0.676, -1.837, 1.739, -1.587)
    bias: float = -1.847
    threshold: float = 0.5
    kr_bonus: float = 0.05  # the filed key result counts a bit more than sibling fields


DEFAULT = DriftCalibration()


def _fields(okr: OkrDoc) -> list[tuple[str, str]]:
    out = [("title", okr.title)]
    if okr.description:
        out.append(("description", okr.description))
    out += [(f"key_result:{kr.id}", kr.title) for kr in okr.key_results]
    return out


def drift_features(
    items: Sequence[DriftItem],
    *,
    embed: Embed,
    okrs: Sequence[OkrDoc] = (),
    kr_bonus: float = DEFAULT.kr_bonus,
) -> tuple[np.ndarray, list[dict]]:
    """(n_items, len(FEATURES)) features and per-item details for evidence."""
    pool: dict[str, OkrDoc] = {o.id: o for o in okrs}
    for it in items:
        pool.setdefault(it.okr.id, it.okr)
    okr_list = list(pool.values())
    rows = [(i, name, text) for i, o in enumerate(okr_list) for name, text in _fields(o)]
    texts = list(dict.fromkeys([it.text for it in items] + [t for _, _, t in rows]))
    vectors = np.asarray(embed(texts), dtype=np.float64)
    index = {t: i for i, t in enumerate(texts)}
    c_vec = vectors[[index[it.text] for it in items]]
    f_vec = vectors[[index[t] for _, _, t in rows]]
    sim = c_vec @ f_vec.T  # (items, all OKR fields)
    owner = np.asarray([i for i, _, _ in rows])
    pos = {o.id: i for i, o in enumerate(okr_list)}
    idf = lexical.Idf(lexical.stems(t) for t in texts)
    okr_stems = [set(lexical.stems(" ".join(t for _, t in _fields(o)))) for o in okr_list]
    lex_all = lexical.overlap_matrix([set(lexical.stems(it.text)) for it in items], okr_stems, idf)

    feats, details = [], []
    for n, it in enumerate(items):
        own_i = pos[it.okr.id]
        own_cols = np.flatnonzero(owner == own_i)
        own_sims = sim[n, own_cols].copy()
        if it.key_result is not None:  # the filed KR is the most specific statement of the work
            kr_name = f"key_result:{it.key_result.id}"
            own_sims += np.array([kr_bonus if rows[c][1] == kr_name else 0.0 for c in own_cols])
        best = int(np.argmax(own_sims))
        own = float(own_sims[best])
        other_cols = np.flatnonzero(owner != own_i)
        if other_cols.size:
            per_okr = np.full(len(okr_list), -1.0)
            np.maximum.at(per_okr, owner[other_cols], sim[n, other_cols])
            near = int(np.argmax(per_okr))
            near_sim = float(per_okr[near])
        else:
            near, near_sim = -1, own  # nothing to drift to: rely on the absolute level only
        lex = lex_all[n]
        lex_other = max((lex[j] for j in range(len(okr_list)) if j != own_i), default=0.0)
        feats.append([own, 0.0, near_sim - own, lex[own_i] - lex_other])
        details.append(
            dict(
                own_field=rows[own_cols[best]][1],
                own=own,
                nearest=okr_list[near].id if near >= 0 else None,
                near=near_sim,
                terms=lexical.shared_terms(
                    lexical.stem_set_with_surface(it.text),
                    lexical.stem_set_with_surface(" ".join(t for _, t in _fields(it.okr))),
                    idf,
                ),
            )
        )
    x = np.asarray(feats, dtype=np.float64).reshape(len(items), len(FEATURES))
    if len(items) > 1:  # per-organization normalization of how close check-ins usually are
        own_col = x[:, 0]
        x[:, 1] = (own_col - own_col.mean()) / max(float(own_col.std()), 0.05)
    return x, details


def score_drift(
    items: Sequence[DriftItem],
    *,
    embed: Embed,
    okrs: Sequence[OkrDoc] = (),
    calibration: DriftCalibration = DEFAULT,
) -> list[DriftScore]:
    """Score check-ins in one batch; pass the organization's OKRs as `okrs` for comparison."""
    if not items:
        return []
    x, details = drift_features(items, embed=embed, okrs=okrs, kr_bonus=calibration.kr_bonus)
    z = x @ np.asarray(calibration.weights) + calibration.bias
    probs = 1.0 / (1.0 + np.exp(-z))
    return [
        DriftScore(
            it.id,
            round(float(p), 4),
            bool(p >= calibration.threshold),
            round(d["own"], 4),
            d["own_field"],
            d["nearest"],
            round(d["near"], 4),
            d["terms"],
        )
        for it, p, d in zip(items, probs, details, strict=True)
    ]

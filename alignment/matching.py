"""Link scoring: rank an organization's strategic objectives for each OKR, calibrated to [0, 1].

Pure: documents and an `embed` callable in, ranked `Link`s out (no database, no web).
Method: every text field is embedded once; for each (OKR, objective) pair the similarity is
a blend of the whole-text cosine and the best field-to-field cosine (OKR title, description,
each key result vs objective title, description, each KPI). Because some objectives are close
to everything, each objective's similarities are z-scored across the organization's OKRs and
each OKR's across the objectives. These, plus IDF-weighted shared stems, go through a logistic
map fitted on labelled development organizations; labels come from fixed thresholds and a
margin relative to the OKR's best objective.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from alignment import lexical

Embed = Callable[[Sequence[str]], np.ndarray]


@dataclass(frozen=True)
class ObjectiveDoc:
    id: str
    title: str
    description: str | None
    perspective: str | None
    kpis: tuple[str, ...]  # KPI names


@dataclass(frozen=True)
class KeyResultDoc:
    id: str
    title: str


@dataclass(frozen=True)
class OkrDoc:
    id: str
    title: str
    description: str | None
    key_results: tuple[KeyResultDoc, ...]
    checkins: tuple[str, ...]
    team_mission: str | None


@dataclass(frozen=True)
class Evidence:
    okr_field: str  # "title" | "description" | "key_result:<id>" | "checkin" | "mission"
    okr_text: str
    objective_field: str  # "title" | "description" | "kpi"
    objective_text: str
    similarity: float
    shared_terms: tuple[str, ...]


@dataclass(frozen=True)
class Link:
    objective_id: str
    score: float  # calibrated probability that the OKR serves this objective
    label: str  # "aligned" | "weak" | "none"
    evidence: tuple[Evidence, ...]


FEATURES = ("sim", "col_z", "row_z", "lex", "gap")


@dataclass(frozen=True)
class Calibration:
    """Logistic map over FEATURES plus label thresholds (fitted by evals/research.py)."""

    weights: tuple[float, ...] = (4.0, 1.0, 0.8, 2.0, 6.0)
    bias: float = -4.0
    aligned: float = 0.5  # score needed for "aligned"
    weak: float = 0.2  # score needed for "weak"
    margin: float = 0.5  # an aligned link also needs score >= margin * the OKR's best score
    full_weight: float = 0.5  # blend: full-text cosine vs best field-pair cosine


DEFAULT = Calibration()


def _okr_fields(okr: OkrDoc) -> list[tuple[str, str]]:
    """(field name, text) of the OKR parts that state what the OKR is about."""
    out = [("title", okr.title)]
    if okr.description:
        out.append(("description", okr.description))
    out += [(f"key_result:{kr.id}", kr.title) for kr in okr.key_results]
    return out


def _objective_fields(obj: ObjectiveDoc) -> list[tuple[str, str]]:
    out = [("title", obj.title)]
    if obj.description:
        out.append(("description", obj.description))
    out += [("kpi", k) for k in obj.kpis if k]
    return out


def okr_text(okr: OkrDoc) -> str:
    return ". ".join(t for _, t in _okr_fields(okr))


def objective_text(obj: ObjectiveDoc) -> str:
    return ". ".join(t for _, t in _objective_fields(obj))


def _zscore(x: np.ndarray, axis: int) -> np.ndarray:
    mu = x.mean(axis=axis, keepdims=True)
    sd = x.std(axis=axis, keepdims=True)
    # Floor the spread so a near-constant row/column does not explode into huge z values.
    return (x - mu) / np.maximum(sd, 0.05)


@dataclass
class _Fields:
    owner: np.ndarray  # field row -> document index
    names: list[str]
    texts: list[str]
    starts: np.ndarray  # first row of each document (fields of one document are contiguous)


def _collect(docs: Sequence, fields: Callable) -> _Fields:
    owner, names, texts, starts = [], [], [], []
    for i, doc in enumerate(docs):
        starts.append(len(texts))
        for name, text in fields(doc):
            owner.append(i)
            names.append(name)
            texts.append(text)
    return _Fields(np.asarray(owner), names, texts, np.asarray(starts, dtype=np.int64))


def _embed_all(embed: Embed, texts: Sequence[str]) -> dict[str, np.ndarray]:
    """One batched call over de-duplicated texts."""
    unique = list(dict.fromkeys(texts))
    vectors = np.asarray(embed(unique), dtype=np.float32) if unique else np.zeros((0, 384))
    return {t: vectors[i] for i, t in enumerate(unique)}


@dataclass
class PairFeatures:
    """Per-(OKR, objective) feature tensor plus what is needed to explain a score."""

    x: np.ndarray  # (n_okrs, n_objectives, len(FEATURES))
    field_sim: np.ndarray  # (okr field rows, objective field rows)
    okr_fields: _Fields
    obj_fields: _Fields


def pair_features(
    objectives: Sequence[ObjectiveDoc],
    okrs: Sequence[OkrDoc],
    *,
    embed: Embed,
    full_weight: float = DEFAULT.full_weight,
) -> PairFeatures:
    kf = _collect(okrs, _okr_fields)
    of = _collect(objectives, _objective_fields)
    k_full = [okr_text(k) for k in okrs]
    o_full = [objective_text(o) for o in objectives]
    vec = _embed_all(embed, [*kf.texts, *of.texts, *k_full, *o_full])
    stack = lambda ts: np.stack([vec[t] for t in ts]).astype(np.float64)  # noqa: E731
    field_sim = stack(kf.texts) @ stack(of.texts).T
    full = stack(k_full) @ stack(o_full).T
    # Best objective field for every OKR field, then best OKR field for every OKR.
    per_obj = np.maximum.reduceat(field_sim, of.starts, axis=1)
    best_pair = np.maximum.reduceat(per_obj, kf.starts, axis=0)
    sim = full_weight * full + (1.0 - full_weight) * best_pair

    idf = lexical.Idf([lexical.stems(t) for t in [*k_full, *o_full]])
    lex = lexical.overlap_matrix(
        [set(lexical.stems(t)) for t in k_full], [set(lexical.stems(t)) for t in o_full], idf
    )
    col_z = _zscore(sim, axis=0) if len(okrs) > 1 else np.zeros_like(sim)
    row_z = _zscore(sim, axis=1) if len(objectives) > 1 else np.zeros_like(sim)
    gap = sim - sim.max(axis=1, keepdims=True)
    x = np.stack([sim, col_z, row_z, lex, gap], axis=-1)
    return PairFeatures(x, field_sim, kf, of)


def calibrated(x: np.ndarray, cal: Calibration) -> np.ndarray:
    z = x @ np.asarray(cal.weights, dtype=np.float64) + cal.bias
    return 1.0 / (1.0 + np.exp(-z))


def _evidence(
    pf: PairFeatures, k: int, o: int, idf: lexical.Idf, limit: int = 3
) -> tuple[Evidence, ...]:
    rows = np.flatnonzero(pf.okr_fields.owner == k)
    cols = np.flatnonzero(pf.obj_fields.owner == o)
    block = pf.field_sim[np.ix_(rows, cols)]
    order = np.argsort(-block, axis=None)[:limit]
    out = []
    for flat in order:
        r, c = rows[flat // len(cols)], cols[flat % len(cols)]
        a, b = pf.okr_fields.texts[r], pf.obj_fields.texts[c]
        terms = lexical.shared_terms(
            lexical.stem_set_with_surface(a), lexical.stem_set_with_surface(b), idf
        )
        sim = round(float(pf.field_sim[r, c]), 4)
        out.append(Evidence(pf.okr_fields.names[r], a, pf.obj_fields.names[c], b, sim, terms))
    return tuple(out)


def label_links(scores: np.ndarray, cal: Calibration) -> np.ndarray:
    """Labels for one OKR's scores: aligned needs the threshold and to be near the best."""
    best = scores.max() if scores.size else 0.0
    aligned = (scores >= cal.aligned) & (scores >= cal.margin * best)
    weak = ~aligned & (scores >= cal.weak)
    return np.where(aligned, "aligned", np.where(weak, "weak", "none"))


def score_links(
    objectives: Sequence[ObjectiveDoc],
    okrs: Sequence[OkrDoc],
    *,
    embed: Embed,
    calibration: Calibration = DEFAULT,
) -> dict[str, list[Link]]:
    """okr id -> every objective as a Link, ranked by calibrated score (highest first)."""
    if not okrs:
        return {}
    if not objectives:
        return {k.id: [] for k in okrs}
    pf = pair_features(objectives, okrs, embed=embed, full_weight=calibration.full_weight)
    probs = calibrated(pf.x, calibration)
    idf = lexical.Idf(lexical.stems(t) for t in [*pf.okr_fields.texts, *pf.obj_fields.texts])
    out: dict[str, list[Link]] = {}
    for k, okr in enumerate(okrs):
        labels = label_links(probs[k], calibration)
        order = np.argsort(-probs[k], kind="stable")
        out[okr.id] = [
            Link(objectives[o].id, round(float(probs[k, o]), 4), str(labels[o]),
                 _evidence(pf, k, int(o), idf))
            for o in order
        ]
    return out

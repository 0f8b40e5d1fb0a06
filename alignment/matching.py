"""Link scoring: rank an organization's strategic objectives for each OKR, calibrated to [0, 1].

Pure: documents and an `embed` callable in, ranked `Link`s out (no database, no web).
Method: every text field is embedded in one batch; a pair's similarity blends the whole-text
cosine with the best field-to-field cosine (OKR title, description, each key result vs the
objective's title, description, each KPI). Some objectives are close to everything, so each
objective's similarities are z-scored across the organization's OKRs, and each OKR's across the
objectives. With IDF-weighted shared stems, the teammates' mean (OKRs of one team tend to serve
the same objectives) and the team mission/check-ins, they go through a logistic map fitted on
labelled organizations (evals/research.py). "aligned" needs a threshold and to be near the OKR's
best score; "weak" a lower threshold.
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
    team: str | None = None  # team id: OKRs of one team tend to serve the same objectives


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


FEATURES = ("sim", "col_z", "row_z", "lex", "gap", "team", "context")


@dataclass(frozen=True)
class Calibration:
    """Logistic map over FEATURES plus label thresholds (fitted by evals/research.py)."""

    weights: tuple[float, ...] = (0.272, 1.431, 1.627, 0.301, 0.222, 1.031, 0.147)
    bias: float = -3.879
    aligned: float = 0.4  # score needed for "aligned"
    weak: float = 0.2  # score needed for "weak"
    margin: float = 0.5  # an aligned link also needs score >= margin * the OKR's best score
    full_weight: float = 0.5  # blend: full-text cosine vs best field-pair cosine


DEFAULT = Calibration()


def _okr_fields(okr: OkrDoc) -> list[tuple[str, str]]:
    """(field name, text) of the OKR parts that state what the OKR is about."""
    desc = [("description", okr.description)] if okr.description else []
    return [
        ("title", okr.title),
        *desc,
        *((f"key_result:{r.id}", r.title) for r in okr.key_results),
    ]


def _objective_fields(obj: ObjectiveDoc) -> list[tuple[str, str]]:
    desc = [("description", obj.description)] if obj.description else []
    return [("title", obj.title), *desc, *(("kpi", k) for k in obj.kpis if k)]


def okr_text(okr: OkrDoc) -> str:
    return ". ".join(t for _, t in _okr_fields(okr))


def objective_text(obj: ObjectiveDoc) -> str:
    return ". ".join(t for _, t in _objective_fields(obj))


def _zscore(x: np.ndarray, axis: int) -> np.ndarray:
    # Floor the spread so a near-constant row/column does not explode into huge z values.
    sd = np.maximum(x.std(axis=axis, keepdims=True), 0.05)
    return (x - x.mean(axis=axis, keepdims=True)) / sd


@dataclass
class _Fields:
    owner: np.ndarray  # field row -> document index
    names: list[str]
    texts: list[str]
    starts: np.ndarray  # first row of each document (fields of one document are contiguous)


def _collect(docs: Sequence, fields: Callable) -> _Fields:
    rows = [(i, name, text) for i, doc in enumerate(docs) for name, text in fields(doc)]
    owner = np.asarray([i for i, _, _ in rows])
    starts = np.searchsorted(owner, np.arange(len(docs)))  # every document has a title row
    return _Fields(owner, [n for _, n, _ in rows], [t for _, _, t in rows], starts)


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
    context = [[t for t in (k.team_mission, *k.checkins) if t] for k in okrs]
    ctx_texts = [t for texts in context for t in texts]
    # One embed call over de-duplicated texts (the pipeline serves them from stored vectors).
    unique = list(dict.fromkeys([*kf.texts, *of.texts, *k_full, *o_full, *ctx_texts]))
    vectors, row = np.asarray(embed(unique), dtype=np.float64), {t: i for i, t in enumerate(unique)}
    stack = lambda ts: vectors[[row[t] for t in ts]]  # noqa: E731
    field_sim = stack(kf.texts) @ stack(of.texts).T
    full = stack(k_full) @ stack(o_full).T
    # Best objective field for every OKR field, then best OKR field for every OKR.
    per_obj = np.maximum.reduceat(field_sim, of.starts, axis=1)
    best_pair = np.maximum.reduceat(per_obj, kf.starts, axis=0)
    sim = full_weight * full + (1.0 - full_weight) * best_pair
    # Context (team mission, check-ins) as one mean vector; only its row-z pattern is used.
    ctx = np.zeros_like(sim)
    for k, texts in enumerate(context):
        if texts and len(objectives) > 1:
            ctx[k] = _zscore(stack(texts).mean(axis=0) @ stack(o_full).T, axis=0)

    idf = lexical.Idf([lexical.stems(t) for t in [*k_full, *o_full]])
    lex = lexical.overlap_matrix(
        [set(lexical.stems(t)) for t in k_full], [set(lexical.stems(t)) for t in o_full], idf
    )
    col_z = _zscore(sim, axis=0) if len(okrs) > 1 else np.zeros_like(sim)
    row_z = _zscore(sim, axis=1) if len(objectives) > 1 else np.zeros_like(sim)
    gap = sim - sim.max(axis=1, keepdims=True)
    x = np.stack([sim, col_z, row_z, lex, gap, _team(okrs, col_z), ctx], axis=-1)
    return PairFeatures(x, field_sim, kf, of)


def _team(okrs: Sequence[OkrDoc], score: np.ndarray) -> np.ndarray:
    """Mean score of the *other* OKRs of the same team (0 without a team or teammates)."""
    out = np.zeros_like(score)
    teams = [k.team for k in okrs]
    for team in set(teams) - {None}:
        idx = [i for i, t in enumerate(teams) if t == team]
        if len(idx) > 1:
            total = score[idx].sum(axis=0)
            out[idx] = (total - score[idx]) / (len(idx) - 1)
    return out


def calibrated(x: np.ndarray, cal: Calibration) -> np.ndarray:
    z = x @ np.asarray(cal.weights, dtype=np.float64) + cal.bias
    return 1.0 / (1.0 + np.exp(-z))


def _evidence(pf: PairFeatures, k: int, o: int, idf: lexical.Idf) -> tuple[Evidence, ...]:
    """The 1-3 most similar (OKR field, objective field) pairs, with their shared terms."""
    rows = np.flatnonzero(pf.okr_fields.owner == k)
    cols = np.flatnonzero(pf.obj_fields.owner == o)
    block = pf.field_sim[np.ix_(rows, cols)]
    order = np.argsort(-block, axis=None)[:3]
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
        p, labels = probs[k], label_links(probs[k], calibration)
        out[okr.id] = [
            Link(objectives[o].id, round(float(p[o]), 4), str(labels[o]), _evidence(pf, k, o, idf))
            for o in map(int, np.argsort(-p, kind="stable"))
        ]
    return out

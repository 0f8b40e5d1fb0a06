"""Link scoring: rank an organization's strategic objectives for each OKR, calibrated to [0, 1].

Pure: documents and an `embed` callable in, ranked `Link`s out (no database, no web).
Method: every text field is embedded in one batch; a pair's similarity blends the whole-text
cosine with the best field-to-field cosine (OKR title, description, each key result vs the
objective's title, description, each KPI). Some objectives are close to everything, so each
objective's similarities are z-scored across the organization's OKRs, and each OKR's across the
objectives. Added to these: IDF-weighted shared stems, the teammates' pattern (OKRs of one team
tend to serve the same objectives), the team mission/check-ins, how much the OKR's key
results read like routine outputs (posters, newsletters, award entries) rather than outcomes,
and how well its key results, taken one by one, support each objective (a title can borrow an
objective's words while the key results measure something else).
A logistic map fitted on labelled organizations (evals/research.py) turns them into a score;
"aligned" needs a threshold and to be near the OKR's best score, "weak" a lower threshold.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse

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
    adjudication: dict | None = None  # an LLM's second opinion on a close call (adjudicate.py)


FEATURES = ("sim", "col_z", "row_z", "lex", "gap", "team", "context", "routine", "kr_support")

# Activities that fill an OKR without moving an outcome. Orphans that sound strategic ("world-class
# culture") give themselves away in key results like these, whatever the organization's domain.
ROUTINE_OUTPUTS = (
    "Design posters, T-shirts, a new logo or merchandise.",
    "Publish a newsletter, blog posts or a video.",
    "Submit award nominations and give conference talks.",
    "Hold an offsite, happy hour, party or team lunch.",
    "Host a speaker series, brainstorming sessions or lunch-and-learns.",
    "Write a white paper and explore a new technology with demos.",
    "Grow followers on the staff social media page.",
)
EVIDENCE_TOP = 3  # objectives per OKR that get evidence (plus any labelled aligned)


@dataclass(frozen=True)
class Calibration:
    """Logistic map over FEATURES plus label thresholds (fitted by evals/research.py)."""

    weights: tuple[float, ...] = (-0.925, 0.548, 0.821, 2.698, 2.04, 0.224, 0.493, -0.53, 0.618)
    bias: float = -3.334
    aligned: float = 0.35  # score needed for "aligned"
    weak: float = 0.175  # score needed for "weak"
    margin: float = 0.7  # an aligned link also needs score >= margin * the OKR's best score
    full_weight: float = 0.5  # blend: full-text cosine vs best field-pair cosine


DEFAULT = Calibration()

# Per-organization z-scores need a population to compare against: with one objective, or a
# handful of OKRs, they are noise (measured on dev organizations cut down to 1-3 objectives and
# 1-5 OKRs, `python -m evals.small_orgs`: link F1 0.50 with all features, 0.63 on these alone).
# Such organizations are scored with SMALL_ORG, fitted on the dev organizations with only these.
ABSOLUTE = ("sim", "lex", "gap")
SMALL_ORG = Calibration(  # `python -m evals.research evals/datasets/dev --fit` prints it
    weights=(6.86, 0.0, 0.0, 6.263, 5.539, 0.0, 0.0, 0.0, 0.0),
    bias=-3.941,
    aligned=0.25,
    weak=0.125,
    margin=0.5,
)
MIN_OBJECTIVES, MIN_OKRS = 2, 4


def calibration_for(n_objectives: int, n_okrs: int) -> Calibration:
    """DEFAULT, or SMALL_ORG for an organization too small for per-organization z-scores."""
    return DEFAULT if n_objectives >= MIN_OBJECTIVES and n_okrs >= MIN_OKRS else SMALL_ORG


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


# Spread floor for an OKR's row: an OKR that matches nothing has a flat, low row, and dividing
# by its tiny spread would turn "least unrelated objective" into a confident pick.
ROW_FLOOR = 0.08


def _zscore(x: np.ndarray, axis: int, floor: float = 0.05) -> np.ndarray:
    # Floor the spread so a near-constant row/column does not explode into huge z values.
    sd = np.maximum(x.std(axis=axis, keepdims=True), floor)
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


def _org_z(v: np.ndarray) -> np.ndarray:
    """z-score of one value per OKR across the organization (0 when there is no spread)."""
    return (v - v.mean()) / max(float(v.std()), 0.02) if v.size > 1 else np.zeros_like(v)


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
    unique = list(
        dict.fromkeys([*kf.texts, *of.texts, *k_full, *o_full, *ctx_texts, *ROUTINE_OUTPUTS])
    )
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
    owners = np.asarray([k for k, texts in enumerate(context) for _ in texts], dtype=int)
    if len(objectives) > 1 and owners.size:
        mean = np.zeros((len(okrs), vectors.shape[1]))
        np.add.at(mean, owners, stack(ctx_texts))
        has = np.bincount(owners, minlength=len(okrs)) > 0
        ctx[has] = _zscore(mean[has] @ stack(o_full).T, axis=1)  # the mean's scale cancels

    idf = lexical.Idf([lexical.stems(t) for t in [*k_full, *o_full]])
    lex = lexical.overlap_matrix(
        [set(lexical.stems(t)) for t in k_full], [set(lexical.stems(t)) for t in o_full], idf
    )
    col_z = _zscore(sim, axis=0) if len(okrs) > 1 else np.zeros_like(sim)
    row_z = _zscore(sim, axis=1, floor=ROW_FLOOR) if len(objectives) > 1 else np.zeros_like(sim)
    gap = sim - sim.max(axis=1, keepdims=True)
    # A per-OKR signal, broadcast over objectives: it moves all of an OKR's scores together,
    # which is what separates orphans from OKRs that serve something.
    kr_rows = np.asarray(
        [i for i, name in enumerate(kf.names) if name.startswith("key_result:")], dtype=int
    )
    routine_field = (stack(kf.texts) @ stack(list(ROUTINE_OUTPUTS)).T).max(axis=1)
    routine = np.zeros(len(okrs))
    counts = np.zeros(len(okrs))
    use = kr_rows if kr_rows.size else np.arange(len(kf.texts))
    np.add.at(routine, kf.owner[use], routine_field[use])
    np.add.at(counts, kf.owner[use], 1.0)
    has_kr = counts > 0  # an OKR without key results is judged on its title
    routine[~has_kr] = routine_field[kf.starts[~has_kr]]
    routine = routine / np.maximum(counts, 1.0)
    routine_z = np.broadcast_to(_org_z(routine)[:, None], sim.shape)
    team = _team(okrs, row_z + col_z)
    # Mean over the key results of their best match per objective: a title can reuse an
    # objective's words while the key results measure something else.
    pick = sparse.csr_matrix(
        (np.ones(use.size), (kf.owner[use], use)), shape=(len(okrs), len(kf.texts))
    )
    kr_mean = np.asarray(pick @ per_obj) / np.maximum(counts, 1.0)[:, None]
    kr_mean[~has_kr] = per_obj[kf.starts[~has_kr]]
    kr_support = _zscore(kr_mean, axis=0) if len(okrs) > 1 else np.zeros_like(sim)
    x = np.stack([sim, col_z, row_z, lex, gap, team, ctx, routine_z, kr_support], axis=-1)
    return PairFeatures(x, field_sim, kf, of)


def _team(okrs: Sequence[OkrDoc], score: np.ndarray) -> np.ndarray:
    """Mean score of the *other* OKRs of the same team (0 for a team of one).

    An OKR with no team at all (a draft typed into the parent-suggestion box) gets its own
    score instead: 0 would read as "teammates serve none of this" and hold a clear match below
    the aligned threshold.
    """
    out = np.zeros_like(score)
    groups: dict[str, list[int]] = {}
    for i, k in enumerate(okrs):
        if k.team is None:
            out[i] = score[i]
        else:
            groups.setdefault(k.team, []).append(i)
    for idx in groups.values():
        if len(idx) > 1:
            total = score[idx].sum(axis=0)
            out[idx] = (total - score[idx]) / (len(idx) - 1)
    return out


def calibrated(x: np.ndarray, cal: Calibration) -> np.ndarray:
    z = x @ np.asarray(cal.weights, dtype=np.float64) + cal.bias
    return 1.0 / (1.0 + np.exp(-z))


class _Explainer:
    """Evidence for chosen pairs: the 1-3 most similar (OKR field, objective field) pairs."""

    def __init__(self, pf: PairFeatures) -> None:
        self.pf = pf
        texts = [*pf.okr_fields.texts, *pf.obj_fields.texts]
        self.idf = lexical.Idf(lexical.stems(t) for t in texts)
        self.k_ends = np.append(pf.okr_fields.starts[1:], len(pf.okr_fields.texts))
        self.o_ends = np.append(pf.obj_fields.starts[1:], len(pf.obj_fields.texts))
        self.surface: dict[str, dict[str, str]] = {}

    def _surface(self, text: str) -> dict[str, str]:
        if text not in self.surface:
            self.surface[text] = lexical.stem_set_with_surface(text)
        return self.surface[text]

    def __call__(self, k: int, o: int) -> tuple[Evidence, ...]:
        pf = self.pf
        r0, c0 = int(pf.okr_fields.starts[k]), int(pf.obj_fields.starts[o])
        block = pf.field_sim[r0 : self.k_ends[k], c0 : self.o_ends[o]]
        width = block.shape[1]
        out = []
        for flat in np.argsort(-block, axis=None)[:3]:
            r, c = r0 + int(flat) // width, c0 + int(flat) % width
            a, b = pf.okr_fields.texts[r], pf.obj_fields.texts[c]
            terms = lexical.shared_terms(self._surface(a), self._surface(b), self.idf)
            sim = round(float(pf.field_sim[r, c]), 4)
            out.append(Evidence(pf.okr_fields.names[r], a, pf.obj_fields.names[c], b, sim, terms))
        return tuple(out)


def label_links(scores: np.ndarray, cal: Calibration) -> np.ndarray:
    """Labels for one OKR's scores (or a matrix, one OKR per row): aligned needs the threshold
    and to be near that OKR's best score."""
    best = scores.max(axis=-1, keepdims=True) if scores.size else 0.0
    aligned = (scores >= cal.aligned) & (scores >= cal.margin * best)
    weak = ~aligned & (scores >= cal.weak)
    return np.where(aligned, "aligned", np.where(weak, "weak", "none"))


def score_links(
    objectives: Sequence[ObjectiveDoc],
    okrs: Sequence[OkrDoc],
    *,
    embed: Embed,
    calibration: Calibration | None = None,
) -> dict[str, list[Link]]:
    """okr id -> every objective as a Link, ranked by calibrated score (highest first).

    Evidence is computed for the EVIDENCE_TOP best objectives of each OKR and for any link
    labelled aligned; the rest carry an empty tuple (nobody reads why rank 40 is low,
    and computing it would dominate the cost on large organizations).
    """
    if not okrs:
        return {}
    if not objectives:
        return {k.id: [] for k in okrs}
    calibration = calibration or calibration_for(len(objectives), len(okrs))
    pf = pair_features(objectives, okrs, embed=embed, full_weight=calibration.full_weight)
    probs = calibrated(pf.x, calibration)
    order = np.argsort(-probs, axis=1, kind="stable")
    labels = label_links(probs, calibration)
    explain = _Explainer(pf)
    ids = [o.id for o in objectives]
    out: dict[str, list[Link]] = {}
    for k, okr in enumerate(okrs):
        row = order[k].tolist()
        scores, names = np.round(probs[k], 4).tolist(), labels[k].tolist()
        out[okr.id] = [
            Link(
                ids[o],
                scores[o],
                names[o],
                explain(k, o) if rank < EVIDENCE_TOP or names[o] == "aligned" else (),
            )
            for rank, o in enumerate(row)
        ]
    return out

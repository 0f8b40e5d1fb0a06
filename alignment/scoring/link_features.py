"""Link features: what is measured for every (OKR, objective) pair before calibration."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from alignment.scoring import lexical
from alignment.scoring.calibration import DEFAULT
from alignment.scoring.documents import Embed, ObjectiveDoc, OkrDoc

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

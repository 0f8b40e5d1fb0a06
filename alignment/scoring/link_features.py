"""Link features: what is measured for every (OKR, objective) pair before calibration."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.special import expit

from alignment.scoring import lexical
from alignment.scoring.calibration import DEFAULT, Calibration, quadratic_pairs
from alignment.scoring.documents import Embed, ObjectiveDoc, OkrDoc

FEATURES = ("sim", "col_z", "row_z", "lex", "gap", "team", "context", "routine", "kr_support")
# The nine, plus col_z and row_z read after the organization's common component is removed
# (`_Pairs.centered`): what calibration.DEFAULT weighs. calibration.PLAIN weighs FEATURES.
CENTERED_FEATURES = (*FEATURES, "col_z_c", "row_z_c")

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


def _add_by_slot(
    out: np.ndarray,
    x: np.ndarray,
    rows: np.ndarray,
    starts: np.ndarray,
    counts: np.ndarray,
    slots: range,
) -> None:
    """For each slot s in order: `out[i] += x[rows[starts[i] + s]]` for every run i longer than s.

    Runs of rows (a document's fields) taken slot by slot: every run's first row, then every
    run's second, ... Each run is still added in its own order, and NumPy works on whole
    blocks of rows instead of walking down the columns of a row-major array run by run as
    `reduceat(..., axis=0)` does (0.10 s against 0.01 s for 20,000 x 384). The rows are read
    where they are (`rows`), not copied together first.
    """
    for slot in slots:
        longer = counts > slot
        block = x[rows[starts[longer] + slot]]
        if longer.all():
            out += block
        else:
            out[longer] += block


def _max_over_runs(x: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """`np.maximum.reduceat(x, starts, axis=0)` for runs of rows that are never empty, slot by
    slot (a maximum is the same in any order). A shorter run repeats its last row, which cannot
    change a maximum, unless that would add more than half the rows."""
    counts = np.diff(np.append(starts, len(x)))
    if len(starts) * int(counts.max()) > 1.5 * len(x):
        return np.maximum.reduceat(x, starts, axis=0)
    out = x[starts]
    for slot in range(1, int(counts.max())):
        np.maximum(out, x[starts + np.minimum(slot, counts - 1)], out=out)
    return out


@dataclass
class FieldMatches:
    """The field vectors of both sides: what field-level similarities (and evidence) read.

    The full (OKR field x objective field) matrix is never kept: 50,000 x 1,000 float64 for
    10,000 OKRs x 200 objectives is 400 MB, and only its per-objective maxima and a few blocks
    (evidence) are used.
    """

    okr_vectors: np.ndarray  # (OKR field rows, dim)
    obj_vectors: np.ndarray  # (objective field rows, dim)
    okr_fields: _Fields
    obj_fields: _Fields

    def best_per_objective(self, chunk: int = 2048) -> np.ndarray:
        """(OKR field rows, objectives): each OKR field's best match among an objective's fields.

        Objectives usually have about as many fields each (title, description, a KPI or two).
        Then their fields are laid out slot by slot (every objective's first field, then every
        objective's second, ...; one with fewer fields repeats its title, which cannot change a
        maximum), and each chunk's product is reduced over a middle axis: 0.10 s for 10,000 x
        200, against 0.25 s for `np.maximum.reduceat` over uneven column runs. When padding
        would add more than half the columns (one objective with many KPIs), reduceat it is.
        """
        starts, total = self.obj_fields.starts, len(self.obj_fields.texts)
        counts = np.diff(np.append(starts, total))
        slot = np.arange(int(counts.max()))[:, None]
        layout = starts[None, :] + np.where(slot < counts[None, :], slot, 0)  # (slots, objs)
        padded = layout.size <= 1.5 * total
        right = np.ascontiguousarray(self.obj_vectors[layout.reshape(-1)].T if padded
                                     else self.obj_vectors.T)  # fmt: skip
        # float32 like the products it holds (exact: a maximum of float32 values), half the
        # memory of float64 for a 10,000-OKR organization; arithmetic on it is float64.
        out = np.empty((len(self.okr_vectors), len(starts)), dtype=np.float32)
        for start in range(0, len(self.okr_vectors), chunk):
            block = self.okr_vectors[start : start + chunk] @ right
            if padded:
                by_slot = block.reshape(len(block), *layout.shape)
                np.max(by_slot, axis=1, out=out[start : start + chunk])
            else:
                out[start : start + chunk] = np.maximum.reduceat(block, starts, axis=1)
        return out


@dataclass
class PairFeatures:
    """Per-(OKR, objective) feature tensor plus what is needed to explain a score."""

    x: np.ndarray  # (n_okrs, n_objectives, len(FEATURES))
    fields: FieldMatches


def _org_z(v: np.ndarray) -> np.ndarray:
    """z-score of one value per OKR across the organization (0 when there is no spread)."""
    return (v - v.mean()) / max(float(v.std()), 0.02) if v.size > 1 else np.zeros_like(v)


@dataclass
class _Pairs:
    """What the named features share: vectors and similarities computed once per organization."""

    okrs: Sequence[OkrDoc]
    objectives: Sequence[ObjectiveDoc]
    kf: _Fields
    of: _Fields
    k_full: list[str]
    o_full: list[str]
    context: list[list[str]]
    words: lexical.Words  # of k_full, then o_full
    vectors: np.ndarray
    row: dict[str, int]
    fields: FieldMatches
    per_obj: np.ndarray  # best objective-field match, per (OKR field, objective)
    sim: np.ndarray
    kr_rows: np.ndarray  # the OKR field rows that are key results (else every row)
    kr_counts: np.ndarray
    cache: dict[str, np.ndarray]
    full_weight: float

    def stack(self, texts: Sequence[str]) -> np.ndarray:
        return self.vectors[[self.row[t] for t in texts]]

    def feature(self, name: str) -> np.ndarray:
        # Some features build on others (team on row_z + col_z): compute each once.
        if name not in self.cache:
            self.cache[name] = LINK_FEATURES[name](self)
        return self.cache[name]


def _prepare(
    objectives: Sequence[ObjectiveDoc],
    okrs: Sequence[OkrDoc],
    embed: Embed,
    full_weight: float,
    words: lexical.Words | None,
) -> _Pairs:
    kf = _collect(okrs, _okr_fields)
    of = _collect(objectives, _objective_fields)
    k_full = [okr_text(k) for k in okrs]
    o_full = [objective_text(o) for o in objectives]
    if words is None:
        words = lexical.Words.of([*k_full, *o_full])
    context = [[t for t in (k.team_mission, *k.checkins) if t] for k in okrs]
    ctx_texts = [t for texts in context for t in texts]
    # One embed call over de-duplicated texts (the pipeline serves them from stored vectors).
    unique = list(
        dict.fromkeys([*kf.texts, *of.texts, *k_full, *o_full, *ctx_texts, *ROUTINE_OUTPUTS])
    )
    # float32 as the model and pgvector hold them: half the memory traffic of float64, and the
    # per-pair arithmetic below is float64 again.
    vectors, row = np.asarray(embed(unique), dtype=np.float32), {t: i for i, t in enumerate(unique)}
    stack = lambda ts: vectors[[row[t] for t in ts]]  # noqa: E731
    fields = FieldMatches(stack(kf.texts), stack(of.texts), kf, of)
    full = (stack(k_full) @ stack(o_full).T).astype(np.float64)
    per_obj = fields.best_per_objective()
    best_pair = _max_over_runs(per_obj, kf.starts).astype(np.float64)
    sim = full_weight * full + (1.0 - full_weight) * best_pair
    kr_rows = np.asarray(
        [i for i, name in enumerate(kf.names) if name.startswith("key_result:")], dtype=int
    )
    use = kr_rows if kr_rows.size else np.arange(len(kf.texts))
    counts = np.bincount(kf.owner[use], minlength=len(okrs)).astype(np.float64)
    return _Pairs(
        okrs, objectives, kf, of, k_full, o_full, context, words, vectors, row, fields, per_obj,
        sim, use, counts, {}, full_weight,
    )  # fmt: skip


def similarity(p: _Pairs) -> np.ndarray:
    """Blend of whole-text cosine and the best field-to-field cosine."""
    return p.sim


def objective_z(p: _Pairs) -> np.ndarray:
    """The similarity z-scored across the organization's OKRs (some objectives match all)."""
    return _zscore(p.sim, axis=0) if len(p.okrs) > 1 else np.zeros_like(p.sim)


def okr_z(p: _Pairs) -> np.ndarray:
    """The similarity z-scored across the objectives, for each OKR."""
    if len(p.objectives) <= 1:
        return np.zeros_like(p.sim)
    return _zscore(p.sim, axis=1, floor=ROW_FLOOR)


def centered_rows(rows: np.ndarray, mean: np.ndarray, chunk: int = 4096) -> np.ndarray:
    """float32 unit vectors of `rows - mean`, the arithmetic in float64.

    Chunk by chunk: the float64 copies of a 50,000-row field matrix are 150 MB, which a fresh
    process pays for in first-touch page faults (0.4 s of a 2.2 s first scoring call,
    benchmarks/scoring.py); a chunk's stay in cache. Each row's arithmetic is the same as
    in one pass, so the values are identical (tests/alignment/test_centered_features.py).
    """
    out = np.empty(rows.shape, dtype=np.float32)
    for start in range(0, len(rows), chunk):
        shifted = rows[start : start + chunk].astype(np.float64) - mean
        norms = np.maximum(np.linalg.norm(shifted, axis=1, keepdims=True), 1e-9)
        out[start : start + chunk] = shifted / norms
    return out


def centered_similarity(p: _Pairs) -> np.ndarray:
    """The similarity after the organization's common component is removed from every vector:
    minus the mean of its objectives' field vectors, renormalized (evals/README.md, "Two
    scores adopted"). Kept in the feature cache (as "sim_c") for the two z-scores that read it.

    MiniLM vectors of one organization share a large common component (its domain words, its
    style), so all its cosines sit in a narrow band (0.23 on average, 0.10 apart across one
    OKR's objectives); without it the objectives stand further apart. The mean is over the
    objectives only, so adding or editing OKRs does not move it (stable verdicts).
    """
    if "sim_c" not in p.cache:
        mean = p.fields.obj_vectors.astype(np.float64).mean(axis=0)
        center = lambda rows: centered_rows(rows, mean)  # noqa: E731
        fields = FieldMatches(
            center(p.fields.okr_vectors), center(p.fields.obj_vectors), p.kf, p.of
        )
        full = (center(p.stack(p.k_full)) @ center(p.stack(p.o_full)).T).astype(np.float64)
        best_pair = _max_over_runs(fields.best_per_objective(), p.kf.starts).astype(np.float64)
        p.cache["sim_c"] = p.full_weight * full + (1.0 - p.full_weight) * best_pair
    return p.cache["sim_c"]


def centered_objective_z(p: _Pairs) -> np.ndarray:
    """objective_z of the centered similarity."""
    sim = centered_similarity(p)
    return _zscore(sim, axis=0) if len(p.okrs) > 1 else np.zeros_like(sim)


def centered_okr_z(p: _Pairs) -> np.ndarray:
    """okr_z of the centered similarity."""
    sim = centered_similarity(p)
    return _zscore(sim, axis=1, floor=ROW_FLOOR) if len(p.objectives) > 1 else np.zeros_like(sim)


def shared_stems(p: _Pairs) -> np.ndarray:
    """IDF-weighted overlap of word stems (the exact-term signal)."""
    return lexical.stem_overlap(p.words, len(p.okrs))


def gap_to_best(p: _Pairs) -> np.ndarray:
    """How far below the OKR's best objective this one is (0 for the best)."""
    return p.sim - p.sim.max(axis=1, keepdims=True)


def teammates(p: _Pairs) -> np.ndarray:
    """The other OKRs of the same team: they tend to serve the same objectives."""
    return _team(p.okrs, p.feature("row_z") + p.feature("col_z"))


def team_context(p: _Pairs) -> np.ndarray:
    """Team mission and check-ins as one mean vector; only its row-z pattern is used."""
    ctx = np.zeros_like(p.sim)
    owners = np.asarray([k for k, texts in enumerate(p.context) for _ in texts], dtype=int)
    if len(p.objectives) > 1 and owners.size:
        # Each OKR's context rows are contiguous: sum them per OKR in one pass.
        with_context, first = np.unique(owners, return_index=True)
        sums = np.add.reduceat(p.stack([t for texts in p.context for t in texts]), first, axis=0)
        ctx[with_context] = _zscore(sums @ p.stack(p.o_full).T, axis=1)  # scale cancels
    return ctx


def routine_outputs(p: _Pairs) -> np.ndarray:
    """How much the key results read like routine outputs, z-scored in the organization.

    A per-OKR signal broadcast over objectives: it moves all of an OKR's scores together,
    which is what separates orphans from OKRs that serve something.
    """
    kf, use, counts = p.kf, p.kr_rows, p.kr_counts
    routine_field = (p.fields.okr_vectors @ p.stack(list(ROUTINE_OUTPUTS)).T).max(axis=1)
    routine = np.bincount(kf.owner[use], weights=routine_field[use], minlength=len(p.okrs))
    has_kr = counts > 0  # an OKR without key results is judged on its title
    routine[~has_kr] = routine_field[kf.starts[~has_kr]]
    routine = routine / np.maximum(counts, 1.0)
    return np.broadcast_to(_org_z(routine)[:, None], p.sim.shape)


def key_result_support(p: _Pairs) -> np.ndarray:
    """Mean over the key results of their best match per objective, z-scored per objective:
    a title can reuse an objective's words while the key results measure something else."""
    kf, use, counts = p.kf, p.kr_rows, p.kr_counts
    # Summed in float64 from zero, each OKR's key results in order: the sums the sparse (OKR x
    # key-result row) product this replaced made, to the bit (evals.fit still reproduces
    # calibration.json: tests/evals/test_fit.py), without its 72 MB of copies on 10,000 OKRs.
    owners = kf.owner[use]  # grouped by OKR, as the field rows are
    per_okr = np.bincount(owners, minlength=len(p.okrs))
    first = np.searchsorted(owners, np.arange(len(p.okrs)))
    kr_mean = np.zeros(p.sim.shape)
    _add_by_slot(kr_mean, p.per_obj, use, first, per_okr, range(int(per_okr.max())))
    kr_mean /= np.maximum(counts, 1.0)[:, None]
    has_kr = counts > 0
    kr_mean[~has_kr] = p.per_obj[kf.starts[~has_kr]]
    return _zscore(kr_mean, axis=0) if len(p.okrs) > 1 else np.zeros_like(p.sim)


# Feature name -> function; the calibration's weights follow this order (FEATURES).
LINK_FEATURES: dict[str, Callable[[_Pairs], np.ndarray]] = {
    "sim": similarity,
    "col_z": objective_z,
    "row_z": okr_z,
    "lex": shared_stems,
    "gap": gap_to_best,
    "team": teammates,
    "context": team_context,
    "routine": routine_outputs,
    "kr_support": key_result_support,
    "col_z_c": centered_objective_z,
    "row_z_c": centered_okr_z,
}
assert tuple(LINK_FEATURES) == CENTERED_FEATURES
# The features a feature reads through `p.feature` (computed once, kept while one needs them).
FEATURE_INPUTS = {"team": ("row_z", "col_z"), "col_z_c": ("sim_c",), "row_z_c": ("sim_c",)}


def feature_names(calibration: Calibration) -> tuple[str, ...]:
    """The features a calibration's weights read, in order."""
    return calibration.features or FEATURES


def pair_features(
    objectives: Sequence[ObjectiveDoc],
    okrs: Sequence[OkrDoc],
    *,
    embed: Embed,
    full_weight: float = DEFAULT.full_weight,
    features: Sequence[str] | None = None,
) -> PairFeatures:
    """`features`: the names to compute, in order (FEATURES, the plain nine, when None)."""
    p = _prepare(objectives, okrs, embed, full_weight, None)
    x = np.stack([p.feature(name) for name in (features or FEATURES)], axis=-1)
    return PairFeatures(x, p.fields)


def pair_scores(
    objectives: Sequence[ObjectiveDoc],
    okrs: Sequence[OkrDoc],
    *,
    embed: Embed,
    calibration: Calibration,
    words: lexical.Words | None = None,
) -> tuple[np.ndarray, FieldMatches]:
    """Calibrated scores, (n_okrs, n_objectives), as `calibrated(pair_features(...).x, cal)`
    but summed feature by feature: the tensor is 10,000 x 200 x 9 floats on a large organization
    and building it cost more than the sums. `words`: the words of the OKRs' and objectives'
    whole texts (lexical_rank.org_words), when the caller splits them for the re-ranking too."""
    (probs,), fields = pair_scores_by([calibration], objectives, okrs, embed=embed, words=words)
    return probs, fields


def pair_scores_by(
    calibrations: Sequence[Calibration],
    objectives: Sequence[ObjectiveDoc],
    okrs: Sequence[OkrDoc],
    *,
    embed: Embed,
    words: lexical.Words | None = None,
) -> tuple[list[np.ndarray], FieldMatches]:
    """pair_scores under each calibration, the features computed once (they share the blend
    weight `full_weight`: the similarities are the same)."""
    if len({c.full_weight for c in calibrations}) != 1:
        raise ValueError("calibrations scored together must share full_weight")
    p = _prepare(objectives, okrs, embed, calibrations[0].full_weight, words)
    order = list(dict.fromkeys(n for c in calibrations for n in feature_names(c)))
    logits = [np.full(p.sim.shape, c.bias) for c in calibrations]
    weights = [dict(zip(feature_names(c), c.weights, strict=True)) for c in calibrations]
    z: list[dict[str, np.ndarray]] = [{} for _ in calibrations]  # standardized, for products
    for i, name in enumerate(order):
        value = p.feature(name)
        for c, logit, w, zc in zip(calibrations, logits, weights, z, strict=True):
            if name in w:
                logit += w[name] * value
                if c.quadratic:
                    k = feature_names(c).index(name)
                    zc[name] = (value - c.center[k]) / c.scale[k]
        # Each feature is a 16 MB array on 10,000 x 200: let go of it once no later one reads
        # it (fewer fresh pages to fault in: a first call's 0.3-0.5 s over later ones).
        needed = {n for later in order[i + 1 :] for n in (later, *FEATURE_INPUTS.get(later, ()))}
        for done in [n for n in p.cache if n not in needed]:
            del p.cache[done]
    for c, logit, zc in zip(calibrations, logits, z, strict=True):
        names = feature_names(c)
        pairs = quadratic_pairs(len(names)) if c.quadratic else []
        for (i, j), q in zip(pairs, c.quadratic, strict=True):
            logit += q * zc[names[i]] * zc[names[j]]
    return [expit(logit, out=logit) for logit in logits], p.fields


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

"""Drift scoring: is a check-in's text about other work than the OKR it is filed under?

Pure: check-ins, their OKRs and an `embed` callable in, one `DriftScore` per check-in out.
A check-in is compared with its own OKR (title, description, its key result and the sibling
key results) and with every other OKR of the organization. Drift is likely when the text is
far from its own OKR in absolute terms, far relative to the organization's other check-ins
(z-scored per organization, since writing styles differ), and closer to some other OKR than to
its own, and closer to generic housekeeping (office moves, expenses, socials, building repairs)
than to its own OKR; that last gap is z-scored per organization too. Whether the text quotes a
figure (a number, a percentage) counts against drift: progress reports carry figures. A
logistic map fitted on development organizations turns these into [0, 1].
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from alignment import lexical
from alignment.matching import Embed, KeyResultDoc, OkrDoc

FEATURES = ("own", "own_z", "gap", "lex_gap", "housekeeping", "number", "percent", "direction")

# Work every organization has and no OKR is about. A check-in nearer to these than to its own
# OKR is usually filed under the wrong OKR, whatever words it reuses from it.
HOUSEKEEPING = (
    "Moving offices, desks, furniture and the seating plan.",
    "Personal admin: my expenses, leave forms, payroll and benefits paperwork.",
    "A team social event, party, lunch, celebration or sports game.",
    "Building upkeep: the roof, heating, plumbing, cleaning or parking lot.",
    "Booking travel, flights and hotels for a conference.",
    "Office IT: laptops, phones, printers, accounts and badge access.",
    "Helping another department with their own project.",
    "Attending meetings, workshops and committee sessions.",
    "Renewing a supplier contract for office supplies or services.",
    "Mandatory compliance training courses for staff.",
    "A staff charity fundraiser or volunteering day.",
    "Onboarding new team members: laptops, badges and accounts.",
)


# Unit vector (per mille, in DIRECTION_MODEL's space) from the mean on-topic to the mean drifting
# check-in of the development organizations; refit with `python -m evals.research --fit`, which
# prints this block. The score stage drops it for any other embedding model.
DIRECTION_MODEL = "all-MiniLM-L6-v2"
_DIRECTION = """
-89 82 49 -1 41 39 16 -124 -4 -13 -25 29 -15 13 36 -76 -64 104 64 26 53 -4 -101 47
-99 73 -11 13 -7 7 49 -74 -7 43 82 56 86 -5 29 -27 -33 6 58 -4 -6 20 78 -96
19 -11 51 -70 17 -38 -12 137 99 -6 14 -10 -46 -45 -4 59 -69 7 -7 92 -3 -73 -4 -37
22 -21 67 66 -36 -39 35 8 -51 69 -26 56 -26 70 -38 -51 33 -18 35 -35 -45 18 -61 -104
22 10 60 49 19 24 39 -58 -2 -49 -37 -53 32 -65 6 49 -28 13 -28 135 -73 0 -38 -106
27 0 -50 24 -47 -30 43 0 -24 29 41 29 128 8 50 -18 -33 13 97 74 11 -70 -100 11
-73 6 19 43 76 -31 30 17 17 75 -6 -49 108 29 -4 10 19 63 13 16 -41 -39 -29 -30
66 -69 27 17 39 -23 7 42 121 -59 21 -49 46 -74 14 -74 14 1 1 -98 22 46 -14 40
-35 -117 -54 -26 106 -107 20 60 -3 72 -18 43 -144 46 -33 -63 77 -6 49 53 25 -32 -29 13
20 1 -57 71 -14 20 44 0 92 -102 -20 -123 54 -20 -66 -102 47 32 19 -1 -45 -35 46 -39
-32 34 -35 33 -9 57 0 -64 -10 -39 138 40 42 66 -35 -1 -72 15 105 19 -31 -45 -37 -18
-29 26 59 55 60 -38 -109 -10 13 9 -50 -42 -10 -104 -34 46 22 -39 52 -42 -102 -44 23 8
-50 -39 12 -55 -2 53 -52 -20 13 20 22 0 -23 5 -65 -10 60 26 18 27 50 51 -9 64
-77 -63 -8 -47 68 33 54 0 -9 24 -12 -30 18 -149 -14 -38 16 0 -97 2 82 54 30 64
-15 -80 -28 -15 -53 -79 13 60 5 -45 -51 -42 81 67 11 48 -27 2 -71 -64 -37 -2 67 -8
-43 19 6 15 -11 31 50 8 -23 63 -114 -63 -5 -25 -35 -8 8 21 69 12 -38 38 -64 21
"""
DIRECTION: tuple[float, ...] = tuple(int(v) / 1000 for v in _DIRECTION.split())


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
    weights: tuple[float, ...] = (-0.437, -1.279, 0.776, -0.83, 0.851, 0.058, -0.048, 2.5)
    bias: float = -3.698
    threshold: float = 0.35
    kr_bonus: float = 0.05  # the filed key result counts a bit more than sibling fields
    direction: tuple[float, ...] = field(default=DIRECTION, repr=False)


DEFAULT = DriftCalibration()
# Progress reports quote figures ("NPS 41, up from 38"; "94% of routes"); a check-in about
# the office move or a bowling night rarely does.
_NUMBER = re.compile(r"\d")
_PERCENT = re.compile(r"\d\s*%|\bpercent\b|\d\s*(?:pts|points|pp)\b", re.IGNORECASE)
_CHUNK = 512


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
    direction: Sequence[float] = DEFAULT.direction,
) -> tuple[np.ndarray, list[dict]]:
    """(n_items, len(FEATURES)) features and per-item details for evidence."""
    pool: dict[str, OkrDoc] = {o.id: o for o in okrs}
    for it in items:
        pool.setdefault(it.okr.id, it.okr)
    okr_list = list(pool.values())
    okr_index = {o.id: i for i, o in enumerate(okr_list)}
    rows = [(i, name, text) for i, o in enumerate(okr_list) for name, text in _fields(o)]
    texts = list(dict.fromkeys([it.text for it in items] + [t for _, _, t in rows]))
    embedded = list(dict.fromkeys([*texts, *HOUSEKEEPING]))
    vectors = np.asarray(embed(embedded), dtype=np.float64)
    index = {t: i for i, t in enumerate(embedded)}
    c_vec = vectors[[index[it.text] for it in items]]
    f_vec = vectors[[index[t] for _, _, t in rows]]
    chores = (c_vec @ vectors[[index[t] for t in HOUSEKEEPING]].T).max(axis=1)
    toward = np.asarray(direction, dtype=np.float64)
    lean = c_vec @ toward if toward.shape == (c_vec.shape[1],) else np.zeros(len(items))
    starts = np.searchsorted(np.asarray([i for i, _, _ in rows]), np.arange(len(okr_list)))
    ends = np.append(starts[1:], len(rows))
    own_pos = [okr_index[it.okr.id] for it in items]
    idf = lexical.Idf(lexical.stems(t) for t in texts)
    okr_stems = [set(lexical.stems(" ".join(t for _, t in _fields(o)))) for o in okr_list]
    item_stems = [set(lexical.stems(it.text)) for it in items]

    feats, details = [], []
    for lo in range(0, len(items), _CHUNK):  # bounded memory: (chunk, OKR fields) at a time
        hi = min(lo + _CHUNK, len(items))
        sim = c_vec[lo:hi] @ f_vec.T
        per_okr = np.maximum.reduceat(sim, starts, axis=1)
        lex = lexical.overlap_matrix(item_stems[lo:hi], okr_stems, idf)
        for n in range(lo, hi):
            it, own_i, s_row = items[n], int(own_pos[n]), sim[n - lo]
            own_sims = s_row[starts[own_i] : ends[own_i]].copy()
            if it.key_result is not None:  # the filed KR is the most specific statement
                kr_name = f"key_result:{it.key_result.id}"
                names = [rows[c][1] for c in range(starts[own_i], ends[own_i])]
                own_sims += np.array([kr_bonus if name == kr_name else 0.0 for name in names])
            best = int(np.argmax(own_sims))
            own = float(own_sims[best])
            others, lex_row = per_okr[n - lo].copy(), lex[n - lo].copy()
            others[own_i], lex_own, lex_row[own_i] = -np.inf, lex_row[own_i], -np.inf
            if len(okr_list) > 1:
                near = int(np.argmax(others))
                near_sim, lex_other = float(others[near]), float(lex_row.max())
            else:  # nothing to drift to: rely on the absolute level only
                near, near_sim, lex_other = -1, own, 0.0
            gaps = [near_sim - own, lex_own - lex_other, chores[n] - own]
            feats.append([own, 0.0, *gaps, *_figures(it.text), float(lean[n])])
            details.append(
                dict(
                    own_field=rows[starts[own_i] + best][1],
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
    if len(items) > 1:  # per-organization normalization: writing styles differ in how close
        own_col, chore_gap = x[:, 0], x[:, 4].copy()
        x[:, 1] = (own_col - own_col.mean()) / max(float(own_col.std()), 0.05)
        x[:, 4] = (chore_gap - chore_gap.mean()) / max(float(chore_gap.std()), 0.05)
        x[:, 7] = (lean - lean.mean()) / max(float(lean.std()), 0.05)
    else:
        x[:, 4] = x[:, 7] = 0.0
    return x, details


def format_direction(direction: Sequence[float]) -> str:
    """`direction` as the `_DIRECTION` block of this module's source, to paste after a refit."""
    vals = [str(round(v * 1000)) for v in direction]
    lines = [" ".join(vals[i : i + 24]) for i in range(0, len(vals), 24)]
    return '_DIRECTION = """\n' + "\n".join(lines) + '\n"""'


def _figures(text: str) -> list[float]:
    return [1.0 if _NUMBER.search(text) else 0.0, 1.0 if _PERCENT.search(text) else 0.0]


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
    x, details = drift_features(
        items,
        embed=embed,
        okrs=okrs,
        kr_bonus=calibration.kr_bonus,
        direction=calibration.direction,
    )
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

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
from typing import Any

import numpy as np
from scipy.special import expit

from alignment.scoring import lexical
from alignment.scoring.calibration import FITTED
from alignment.scoring.documents import Embed, KeyResultDoc, OkrDoc

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


# The drift direction is a unit vector in DIRECTION_MODEL's space (from the mean on-topic to
# the mean drifting check-in of the fit organizations), stored with the other fitted constants
# in calibration.json; the score stage drops it for any other embedding model.
DIRECTION_MODEL = "all-MiniLM-L6-v2"


@dataclass(frozen=True)
class DriftItem:
    id: str  # check-in id
    text: str
    okr: OkrDoc
    key_result: KeyResultDoc | None = None


VERDICTS = ("drifting", "needs_review", "on_topic")


@dataclass(frozen=True)
class DriftScore:
    checkin_id: str
    score: float  # 1 = about other work than its OKR
    drifting: bool  # the confident verdict: the report's `checkin_drift` finding
    own_similarity: float  # best cosine to its own OKR's title/description/key results
    own_field: str  # which own field that was ("title", "description", "key_result:<id>")
    nearest_okr_id: str | None  # the other OKR it is closest to, if any
    nearest_similarity: float
    shared_terms: tuple[str, ...]  # with its own OKR
    verdict: str = "on_topic"  # VERDICTS: "needs_review" between the review and flag levels
    decided_by: str | None = None  # a person's verdict replaced the engine's (drift_decisions)


def verdict(score: float, calibration: DriftCalibration) -> str:
    if score >= calibration.threshold:
        return "drifting"
    return "needs_review" if score >= calibration.review else "on_topic"


@dataclass(frozen=True)
class DriftCalibration:
    weights: tuple[float, ...]
    bias: float
    threshold: float = 0.4  # a drift finding from here (precise: what the report asserts)
    review: float = 0.3  # from here up to `threshold` a person decides (evals.research)
    kr_bonus: float = 0.05  # the filed key result counts a bit more than sibling fields
    direction: tuple[float, ...] = field(default=(), repr=False)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DriftCalibration:
        return cls(**{**d, "weights": tuple(d["weights"]), "direction": tuple(d["direction"])})


DEFAULT = DriftCalibration.from_dict(FITTED["drift"])
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
            number, percent = _figures(it.text)
            feats.append(
                {
                    "own": own,
                    "own_z": 0.0,  # filled below, from the whole batch
                    "gap": near_sim - own,
                    "lex_gap": lex_own - lex_other,
                    "housekeeping": chores[n] - own,
                    "number": number,
                    "percent": percent,
                    "direction": float(lean[n]),
                }
            )
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
    cols = {name: np.asarray([f[name] for f in feats], dtype=np.float64) for name in FEATURES}
    # Per-organization normalization: writing styles differ in how close check-ins sit to
    # their OKRs, to housekeeping and to the drift direction.
    if len(items) > 1:
        cols["own_z"] = _batch_z(cols["own"])
        cols["housekeeping"] = _batch_z(cols["housekeeping"])
        cols["direction"] = _batch_z(cols["direction"])
    else:
        cols["housekeeping"] = np.zeros(len(items))
        cols["direction"] = np.zeros(len(items))
    x = np.stack([cols[name] for name in FEATURES], axis=-1).reshape(len(items), len(FEATURES))
    return x, details


def _batch_z(v: np.ndarray) -> np.ndarray:
    return (v - v.mean()) / max(float(v.std()), 0.05)


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
    # Verdicts from the stored (rounded) score, so a reader comparing it with the levels agrees.
    probs = np.round(expit(x @ np.asarray(calibration.weights) + calibration.bias), 4)
    return [
        DriftScore(
            it.id,
            float(p),
            bool(p >= calibration.threshold),
            round(d["own"], 4),
            d["own_field"],
            d["nearest"],
            round(d["near"], 4),
            d["terms"],
            verdict(float(p), calibration),
        )
        for it, p, d in zip(items, probs, details, strict=True)
    ]

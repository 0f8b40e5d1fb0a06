"""Drift features: what is measured for every check-in before the drift calibration.

A check-in is compared with its own OKR (title, description, its key result and the sibling
key results) and with every other OKR of the organization. Drift is likely when the text is
far from its own OKR in absolute terms, far relative to the organization's other check-ins,
closer to some other OKR than to its own (by embedding and by shared words), closer to generic
housekeeping than to its own OKR, and leans toward the learned drift direction. Quoting a
figure counts against drift. `drift` turns the features into a score and a verdict.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from alignment.scoring import lexical
from alignment.scoring.calibration import FITTED
from alignment.scoring.documents import Embed, OkrDoc

if TYPE_CHECKING:  # only a type here: `drift` imports this module
    from alignment.scoring.drift import DriftItem

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

# Progress reports quote figures ("NPS 41, up from 38"; "94% of routes"); a check-in about
# the office move or a bowling night rarely does.
_NUMBER = re.compile(r"\d")
_PERCENT = re.compile(r"\d\s*%|\bpercent\b|\d\s*(?:pts|points|pp)\b", re.IGNORECASE)
# Bounded memory: the (check-ins x OKR fields) similarities of a large organization are never
# held at once, only this many check-ins' rows of them.
_CHUNK = 512
# The shipped calibration's values (`drift.DEFAULT`), read from the file here because `drift`
# imports this module.
_SHIPPED = FITTED["drift"]


def _fields(okr: OkrDoc) -> list[tuple[str, str]]:
    """(field name, text) of the OKR parts a check-in is compared with."""
    out = [("title", okr.title)]
    if okr.description:
        out.append(("description", okr.description))
    out += [(f"key_result:{kr.id}", kr.title) for kr in okr.key_results]
    return out


def _okr_words(okr: OkrDoc) -> str:
    return " ".join(t for _, t in _fields(okr))


@dataclass
class _Batch:
    """What the features share: vectors, each OKR's field rows and stems, computed once."""

    items: Sequence[DriftItem]
    okrs: list[OkrDoc]  # the organization's, then each item's own OKR not among them
    own: list[int]  # each item's own OKR (index into `okrs`)
    field_names: list[str]  # one row per OKR field; an OKR's fields are contiguous
    starts: np.ndarray  # each OKR's first field row
    ends: np.ndarray  # and the row after its last
    item_vectors: np.ndarray
    field_vectors: np.ndarray
    housekeeping_vectors: np.ndarray
    direction: np.ndarray
    kr_bonus: float
    idf: lexical.Idf
    item_stems: list[set[str]]
    okr_stems: list[set[str]]


def _okr_pool(items: Sequence[DriftItem], okrs: Sequence[OkrDoc]) -> list[OkrDoc]:
    pool: dict[str, OkrDoc] = {o.id: o for o in okrs}
    for it in items:
        pool.setdefault(it.okr.id, it.okr)
    return list(pool.values())


def _prepare(
    items: Sequence[DriftItem],
    embed: Embed,
    okrs: Sequence[OkrDoc],
    kr_bonus: float,
    direction: Sequence[float],
) -> _Batch:
    okr_list = _okr_pool(items, okrs)
    okr_index = {o.id: i for i, o in enumerate(okr_list)}
    rows = [(i, name, text) for i, o in enumerate(okr_list) for name, text in _fields(o)]
    texts = list(dict.fromkeys([it.text for it in items] + [t for _, _, t in rows]))
    # One embed call over de-duplicated texts (the pipeline serves them from stored vectors).
    embedded = list(dict.fromkeys([*texts, *HOUSEKEEPING]))
    vectors = np.asarray(embed(embedded), dtype=np.float64)
    index = {t: i for i, t in enumerate(embedded)}
    starts = np.searchsorted(np.asarray([i for i, _, _ in rows]), np.arange(len(okr_list)))
    return _Batch(
        items=items,
        okrs=okr_list,
        own=[okr_index[it.okr.id] for it in items],
        field_names=[name for _, name, _ in rows],
        starts=starts,
        ends=np.append(starts[1:], len(rows)),
        item_vectors=vectors[[index[it.text] for it in items]],
        field_vectors=vectors[[index[t] for _, _, t in rows]],
        housekeeping_vectors=vectors[[index[t] for t in HOUSEKEEPING]],
        direction=np.asarray(direction, dtype=np.float64),
        kr_bonus=kr_bonus,
        idf=lexical.Idf(lexical.stems(t) for t in texts),
        item_stems=[set(lexical.stems(it.text)) for it in items],
        okr_stems=[set(lexical.stems(_okr_words(o))) for o in okr_list],
    )


class _Match(NamedTuple):
    """One check-in against the OKRs: its best own field and the nearest other OKR."""

    own: float  # best cosine to an own field (the filed key result's plus `kr_bonus`)
    own_row: int  # the field row that was
    nearest: int  # the nearest other OKR (index into `okrs`); -1 when there is none
    near: float  # its best field cosine (`own` when there is none)
    lex_own: float  # IDF-weighted shared stems with its own OKR
    lex_other: float  # with the other OKR sharing the most (0 when there is none)


def _own_field(b: _Batch, n: int, sims: np.ndarray) -> tuple[int, float]:
    """(field row, cosine) of the item's closest own-OKR field."""
    item, first, end = b.items[n], b.starts[b.own[n]], b.ends[b.own[n]]
    own_sims = sims[first:end].copy()
    if item.key_result is not None:  # the filed KR is the most specific statement
        kr_name = f"key_result:{item.key_result.id}"
        names = b.field_names[first:end]
        own_sims += np.array([b.kr_bonus if name == kr_name else 0.0 for name in names])
    best = int(np.argmax(own_sims))
    return int(first) + best, float(own_sims[best])


def _without(row: np.ndarray, i: int) -> np.ndarray:
    out = row.copy()
    out[i] = -np.inf
    return out


def _match(b: _Batch, n: int, sims: np.ndarray, per_okr: np.ndarray, lex: np.ndarray) -> _Match:
    own_i = b.own[n]
    own_row, own = _own_field(b, n, sims)
    if len(b.okrs) > 1:
        others = _without(per_okr, own_i)
        nearest = int(np.argmax(others))
        near, lex_other = float(others[nearest]), float(_without(lex, own_i).max())
    else:  # nothing to drift to: rely on the absolute level only
        nearest, near, lex_other = -1, own, 0.0
    return _Match(own, own_row, nearest, near, lex[own_i], lex_other)


def _matches(b: _Batch) -> list[_Match]:
    """Every check-in's `_Match`, `_CHUNK` check-ins' similarities at a time."""
    out = []
    for lo in range(0, len(b.items), _CHUNK):
        hi = min(lo + _CHUNK, len(b.items))
        sims = b.item_vectors[lo:hi] @ b.field_vectors.T
        per_okr = np.maximum.reduceat(sims, b.starts, axis=1)
        lex = lexical.overlap_matrix(b.item_stems[lo:hi], b.okr_stems, b.idf)
        out += [_match(b, n, sims[n - lo], per_okr[n - lo], lex[n - lo]) for n in range(lo, hi)]
    return out


def _batch_z(v: np.ndarray) -> np.ndarray:
    """Per-organization normalization (the batch is one organization's check-ins): writing
    styles differ in how close check-ins sit to their OKRs, to housekeeping and to the drift
    direction. 0 for a batch of one."""
    if len(v) <= 1:
        return np.zeros(len(v))
    return (v - v.mean()) / max(float(v.std()), 0.05)


def own_similarity(b: _Batch, ms: list[_Match]) -> np.ndarray:
    """Best cosine to the own OKR's title, description or key results; the key result the
    check-in is filed under counts `kr_bonus` more."""
    return np.asarray([m.own for m in ms], dtype=np.float64)


def own_similarity_z(b: _Batch, ms: list[_Match]) -> np.ndarray:
    """The own-OKR similarity z-scored across the organization's check-ins."""
    return _batch_z(own_similarity(b, ms))


def gap_to_nearest(b: _Batch, ms: list[_Match]) -> np.ndarray:
    """How much closer the nearest other OKR is than its own (by best field cosine)."""
    return np.asarray([m.near - m.own for m in ms], dtype=np.float64)


def lexical_gap(b: _Batch, ms: list[_Match]) -> np.ndarray:
    """Shared stems with its own OKR minus those with the other OKR sharing the most."""
    return np.asarray([m.lex_own - m.lex_other for m in ms], dtype=np.float64)


def housekeeping(b: _Batch, ms: list[_Match]) -> np.ndarray:
    """How much closer it is to generic housekeeping work than to its own OKR, z-scored."""
    chores = (b.item_vectors @ b.housekeeping_vectors.T).max(axis=1)
    return _batch_z(np.asarray([c - m.own for c, m in zip(chores, ms, strict=True)]))


def quotes_number(b: _Batch, ms: list[_Match]) -> np.ndarray:
    """1 when the text has a digit."""
    return np.asarray([1.0 if _NUMBER.search(it.text) else 0.0 for it in b.items])


def quotes_percent(b: _Batch, ms: list[_Match]) -> np.ndarray:
    """1 when the text quotes a percentage or points."""
    return np.asarray([1.0 if _PERCENT.search(it.text) else 0.0 for it in b.items])


def drift_direction(b: _Batch, ms: list[_Match]) -> np.ndarray:
    """Projection on the learned drift direction, z-scored; 0 for a direction of another
    width (another embedding model)."""
    if b.direction.shape != (b.item_vectors.shape[1],):
        return np.zeros(len(b.items))
    return _batch_z(b.item_vectors @ b.direction)


# Feature name -> function; the drift calibration's weights follow this order (FEATURES).
DRIFT_FEATURES: dict[str, Callable[[_Batch, list[_Match]], np.ndarray]] = {
    "own": own_similarity,
    "own_z": own_similarity_z,
    "gap": gap_to_nearest,
    "lex_gap": lexical_gap,
    "housekeeping": housekeeping,
    "number": quotes_number,
    "percent": quotes_percent,
    "direction": drift_direction,
}
assert tuple(DRIFT_FEATURES) == FEATURES


def _evidence(b: _Batch, item: DriftItem, m: _Match, typical: float, chores: np.ndarray) -> dict:
    """What a drift finding shows: the closest own field, the nearest other OKR, shared words,
    and what a reason can cite when neither explains the score: how close the organization's
    check-ins typically come to their own OKR, and the routine work it reads most like."""
    chore = int(np.argmax(chores))
    return dict(
        own_field=b.field_names[m.own_row],
        own=m.own,
        nearest=b.okrs[m.nearest].id if m.nearest >= 0 else None,
        near=m.near,
        terms=lexical.shared_terms(
            lexical.stem_set_with_surface(item.text),
            lexical.stem_set_with_surface(_okr_words(item.okr)),
            b.idf,
        ),
        typical=typical,
        chore=HOUSEKEEPING[chore],
        chore_similarity=float(chores[chore]),
    )


def drift_features(
    items: Sequence[DriftItem],
    *,
    embed: Embed,
    okrs: Sequence[OkrDoc] = (),
    kr_bonus: float = _SHIPPED["kr_bonus"],
    direction: Sequence[float] = tuple(_SHIPPED["direction"]),
) -> tuple[np.ndarray, list[dict]]:
    """(n_items, len(FEATURES)) features and per-item details for evidence."""
    b = _prepare(items, embed, okrs, kr_bonus, direction)
    ms = _matches(b)
    x = np.stack([DRIFT_FEATURES[name](b, ms) for name in FEATURES], axis=-1)
    typical = float(np.median([m.own for m in ms]))
    chores = b.item_vectors @ b.housekeeping_vectors.T
    details = [
        _evidence(b, it, m, typical, chores[n])
        for n, (it, m) in enumerate(zip(items, ms, strict=True))
    ]
    return x.reshape(len(items), len(FEATURES)), details

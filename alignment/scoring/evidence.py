"""Evidence for chosen links: the 1-3 most similar (OKR field, objective field) pairs.

Built lazily: `score_links` only asks for it (`Explainer.request`), and the first time any
link's evidence is read, every requested pair is resolved in one vectorized pass over the
field similarities. Ranking 10,000 OKRs therefore does not pay for explaining them, and a
caller that reads one OKR's links pays for the batch once, not per link.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from alignment.scoring import lexical
from alignment.scoring.documents import Evidence
from alignment.scoring.link_features import FieldMatches

PER_LINK = 3  # field pairs shown per link
_CHUNK = 1024  # pairs per vectorized block: bounds memory when an OKR has many key results


class LazyEvidence(Sequence[Evidence]):
    """A link's evidence, computed on first read; compares equal to the tuple it stands for."""

    __slots__ = ("_explainer", "_slot")

    def __init__(self, explainer: Explainer, slot: int) -> None:
        self._explainer = explainer
        self._slot = slot

    def _items(self) -> tuple[Evidence, ...]:
        return self._explainer.resolved(self._slot)

    def __getitem__(self, index):  # type: ignore[override]
        return self._items()[index]

    def __len__(self) -> int:
        return len(self._items())

    def __iter__(self) -> Iterator[Evidence]:
        return iter(self._items())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, LazyEvidence):
            other = other._items()
        return isinstance(other, tuple) and self._items() == other

    def __hash__(self) -> int:
        return hash(self._items())

    def __repr__(self) -> str:
        return repr(self._items())


class Explainer:
    """Collects (OKR, objective) index pairs, then explains them all at once when first read."""

    def __init__(self, fields: FieldMatches) -> None:
        self.fields = fields
        self.pairs: list[tuple[int, int]] = []
        self.done: list[tuple[Evidence, ...]] = []

    def request(self, k: int, o: int) -> LazyEvidence:
        self.pairs.append((k, o))
        return LazyEvidence(self, len(self.pairs) - 1)

    def resolved(self, slot: int) -> tuple[Evidence, ...]:
        if slot >= len(self.done):
            self._resolve_pending()
        return self.done[slot]

    def _resolve_pending(self) -> None:
        fields = self.fields
        pending = np.asarray(self.pairs[len(self.done) :], dtype=np.int64).reshape(-1, 2)
        rows, cols, sims = _best_field_pairs(fields, pending[:, 0], pending[:, 1])
        texts = [*fields.okr_fields.texts, *fields.obj_fields.texts]
        idf = lexical.Idf(lexical.stems(t) for t in texts)
        surface: dict[str, dict[str, str]] = {}

        def words(text: str) -> dict[str, str]:
            if text not in surface:
                surface[text] = lexical.stem_set_with_surface(text)
            return surface[text]

        k_texts, k_names = fields.okr_fields.texts, fields.okr_fields.names
        o_texts, o_names = fields.obj_fields.texts, fields.obj_fields.names
        rounded = np.round(sims, 4).tolist()
        for r_row, c_row, s_row in zip(rows.tolist(), cols.tolist(), rounded, strict=True):
            self.done.append(
                tuple(
                    Evidence(
                        k_names[r],
                        k_texts[r],
                        o_names[c],
                        o_texts[c],
                        s,
                        lexical.shared_terms(words(k_texts[r]), words(o_texts[c]), idf),
                    )
                    for r, c, s in zip(r_row, c_row, s_row, strict=True)
                    if r >= 0
                )
            )


def _best_field_pairs(
    fields: FieldMatches, okr_index: np.ndarray, obj_index: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(pairs, PER_LINK) field rows, columns and similarities of each pair's best field
    matches; rows and columns are -1 where a pair has fewer field combinations."""
    k_rows = _padded_rows(fields.okr_fields.starts, len(fields.okr_fields.texts))
    o_rows = _padded_rows(fields.obj_fields.starts, len(fields.obj_fields.texts))
    width = o_rows.shape[1]
    rows = np.full((len(okr_index), PER_LINK), -1, dtype=np.int64)
    cols = np.full_like(rows, -1)
    sims = np.zeros(rows.shape)
    for start in range(0, len(okr_index), _CHUNK):
        chunk = slice(start, start + _CHUNK)
        kr_block, ob_block = k_rows[okr_index[chunk]], o_rows[obj_index[chunk]]
        okr_vecs = fields.okr_vectors[np.maximum(kr_block, 0)]  # (pairs, fields, dim)
        obj_vecs = fields.obj_vectors[np.maximum(ob_block, 0)]
        block = (okr_vecs @ obj_vecs.transpose(0, 2, 1)).astype(np.float64)
        block[(kr_block < 0)[:, :, None] | (ob_block < 0)[:, None, :]] = -np.inf
        flat = block.reshape(len(kr_block), -1)
        take = min(PER_LINK, flat.shape[1])
        best = np.argsort(-flat, axis=1, kind="stable")[:, :take]
        top = np.take_along_axis(flat, best, axis=1)
        valid = top > -np.inf
        r = np.take_along_axis(kr_block, best // width, axis=1)
        c = np.take_along_axis(ob_block, best % width, axis=1)
        rows[chunk, :take] = np.where(valid, r, -1)
        cols[chunk, :take] = np.where(valid, c, -1)
        sims[chunk, :take] = np.where(valid, top, 0.0)
    return rows, cols, sims


def _padded_rows(starts: np.ndarray, total: int) -> np.ndarray:
    """(documents, most fields) field rows of each document, -1 where it has fewer fields."""
    counts = np.diff(np.append(starts, total))
    offsets = np.arange(int(counts.max()) if counts.size else 0)
    rows = starts[:, None] + offsets[None, :]
    return np.where(offsets[None, :] < counts[:, None], rows, -1)

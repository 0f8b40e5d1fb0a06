"""Lexical re-ranking: the order of an OKR's links within a label, never the labels.

`link_scores` ranks an OKR's objectives by calibrated score. Character and word TF-IDF catch
what the vectors blur on terse or non-native text ("D30 ret." and "retention"), so among the
links that share a label the order is the fused score `logit(p) + w * z(lexical)`, where
`lexical` is the sum of the character (3-5-grams inside word boundaries) and word TF-IDF
cosines, each z-scored across the OKR's objectives and fitted on the organization's own texts.
"label first": aligned links first, then weak ones, each block in fused order, then the "none"
links in score order. Scores, labels and so verdicts are untouched, and an OKR with no aligned
or weak link keeps its best score at rank 1, which the report reads as the OKR's best score.
Measured and chosen on development data only (evals/README.md, "lexical fusion"); the weight
`w` is fitted by `python -m evals.fit` into calibration.json ("rank_fusion").

The TF-IDF matrices are what scikit-learn's `TfidfVectorizer` (sublinear tf, smoothed IDF, l2
rows; `analyzer="char_wb", ngram_range=(3, 5)` and `stop_words="english"`) gives, to 1e-12
(tests/alignment/test_lexical_rank.py), built faster: character n-grams never cross a word, so
they are cut once per distinct word and summed into documents with one sparse product; fitting
scikit-learn's vectorizer on 10,000 OKRs took 3.7 s.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
from scipy import sparse
from scipy.special import logit
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from alignment.scoring.calibration import FITTED
from alignment.scoring.documents import ObjectiveDoc, OkrDoc
from alignment.scoring.lexical import Words, count_matrix, flatten
from alignment.scoring.link_features import objective_text, okr_text

RANK_WEIGHT: float = FITTED["rank_fusion"]["weight"]
CHAR_GRAMS = (3, 4, 5)
_WORD = re.compile(r"(?u)\b\w\w+\b")  # scikit-learn's default token pattern
_P_CLIP = 1e-6  # logit of a score of exactly 0 or 1 is infinite


def _grams(padded: str) -> list[str]:
    return [padded[i : i + n] for n in CHAR_GRAMS for i in range(len(padded) - n + 1)]


def char_counts(words: Words) -> sparse.csr_matrix:
    """(texts, character n-grams), as scikit-learn's `char_wb` analyzer cuts them."""
    grams, _ = count_matrix(*flatten(_grams(f" {w} ") for w in words.words))
    return (words.by_word @ grams).tocsr()


def word_counts(words: Words) -> sparse.csr_matrix:
    """(texts, words), as scikit-learn's default word analyzer with English stop words."""
    tokens = ([t for t in _WORD.findall(w) if t not in ENGLISH_STOP_WORDS] for w in words.words)
    counts, _ = count_matrix(*flatten(tokens))
    return (words.by_word @ counts).tocsr()


def _tfidf_rows(counts: sparse.csr_matrix, rows: np.ndarray, idf: np.ndarray) -> sparse.csr_matrix:
    """Sublinear tf x IDF, unit rows, for the chosen rows of `counts`."""
    x = counts[rows]
    x.data = (np.log(x.data) + 1.0) * idf[x.indices]
    lengths = np.diff(x.indptr)
    sums = np.add.reduceat(x.data**2, x.indptr[:-1][lengths > 0]) if x.nnz else np.zeros(0)
    norms = np.ones(len(lengths))
    norms[lengths > 0] = np.sqrt(sums)
    x.data /= np.repeat(norms, lengths)
    return x


def _cosines(counts: sparse.csr_matrix, n_okrs: int, rows: np.ndarray) -> np.ndarray:
    """TF-IDF cosine of OKR `rows` (the first n_okrs documents) against every objective (the
    rest); IDF over all documents, as the vectorizer fitted on them would have it. Only the
    terms some objective has can add to a cosine: the product runs over those (a few thousand
    of 34,000 character n-grams on 10,000 OKRs) with the objectives' side dense, 0.2 -> 0.1 s."""
    n_docs = counts.shape[0]
    df = np.bincount(counts.indices, minlength=counts.shape[1])
    idf = np.log((n_docs + 1) / (df + 1)) + 1.0
    right = _tfidf_rows(counts, np.arange(n_okrs, n_docs), idf)
    shared = np.unique(right.indices)
    left = _tfidf_rows(counts, rows, idf)[:, shared]
    return np.asarray(left @ right[:, shared].toarray().T)


def org_words(objectives: Sequence[ObjectiveDoc], okrs: Sequence[OkrDoc]) -> Words:
    """The words of every OKR's whole text, then every objective's: what both TF-IDFs are cut
    from, and the stem overlap (link_features.py) too."""
    return Words.of([*(okr_text(k) for k in okrs), *(objective_text(o) for o in objectives)])


def _rows(okrs: Sequence[OkrDoc], rows: np.ndarray | None) -> np.ndarray:
    return np.arange(len(okrs)) if rows is None else rows


def char_tfidf(objectives, okrs, rows: np.ndarray | None = None) -> np.ndarray:
    """Character-n-gram TF-IDF cosine, (OKR rows, objectives), fitted on the organization."""
    counts = char_counts(org_words(objectives, okrs))
    return _cosines(counts, len(okrs), _rows(okrs, rows))


def word_tfidf(objectives, okrs, rows: np.ndarray | None = None) -> np.ndarray:
    """Word TF-IDF cosine (English stop words out), as the TF-IDF baseline ranks."""
    counts = word_counts(org_words(objectives, okrs))
    return _cosines(counts, len(okrs), _rows(okrs, rows))


def row_z(m: np.ndarray) -> np.ndarray:
    """Each row z-scored across its objectives (a flat row stays 0)."""
    sd = np.maximum(m.std(axis=1, keepdims=True), 1e-6)
    return (m - m.mean(axis=1, keepdims=True)) / sd


def char_word(
    objectives, okrs, rows: np.ndarray | None = None, words: Words | None = None
) -> np.ndarray:
    """The lexical signal: row z of character TF-IDF plus row z of word TF-IDF. `words`: the
    organization's `org_words`, when the caller has them already."""
    words = org_words(objectives, okrs) if words is None else words
    rows = _rows(okrs, rows)
    char_cosines = _cosines(char_counts(words), len(okrs), rows)
    word_cosines = _cosines(word_counts(words), len(okrs), rows)
    return row_z(char_cosines) + row_z(word_cosines)


def fused(probs: np.ndarray, lexical: np.ndarray, weight: float) -> np.ndarray:
    """The re-ranking score: the score's logit plus `weight` times the lexical row z."""
    return _fuse(probs, row_z(lexical), weight)


def _fuse(probs: np.ndarray, lexical_z: np.ndarray, weight: float) -> np.ndarray:
    return logit(np.clip(probs, _P_CLIP, 1 - _P_CLIP)) + weight * lexical_z


def label_first_order(probs: np.ndarray, codes: np.ndarray, rank_score: np.ndarray) -> np.ndarray:
    """Each row's objectives, best first: aligned (code 2), then weak (1), each by `rank_score`,
    then "none" by score; ties by objective index, as a stable sort by score orders them."""
    within = np.where(codes >= 1, -rank_score, -probs)
    return np.lexsort((within, -codes.astype(np.int64)), axis=-1)


def rerank(
    order: np.ndarray,
    probs: np.ndarray,
    codes: np.ndarray,
    objectives: Sequence[ObjectiveDoc],
    okrs: Sequence[OkrDoc],
    *,
    weight: float,
    words: Words | None = None,
) -> np.ndarray:
    """`order` (each OKR's objectives by score) in `label_first_order` with the fused score.

    Only an OKR with two aligned links, or two weak ones, can move, so only those rows get a
    lexical score (the TF-IDF weights still come from every text of the organization). Labels
    follow scores, so `order` already has each row's aligned and weak links in front: only
    those leading columns are sorted again."""
    movable = ((codes == 2).sum(axis=1) >= 2) | ((codes == 1).sum(axis=1) >= 2)
    rows = np.flatnonzero(movable)
    if weight == 0.0 or rows.size == 0:
        return order
    lexical_z = row_z(char_word(objectives, okrs, rows, words))  # across each row's objectives
    labelled = (codes[rows] > 0).sum(axis=1)
    out = order.copy()
    # Rows in groups of about the same number of labelled links, each sorted in a window of its
    # widest: one window for all, as wide as the widest row's (94 links on 10,000 OKRs, 13 on
    # average), was most of the time spent here outside the TF-IDF.
    for group in _width_groups(labelled):
        r, width = rows[group], int(labelled[group].max())
        lead = order[r, :width]
        out[r, :width] = _resorted_front(
            lead, probs[r[:, None], lead], codes[r[:, None], lead], lexical_z[group[:, None], lead],
            weight,
        )  # fmt: skip
    return out


def _width_groups(widths: np.ndarray) -> list[np.ndarray]:
    """Positions of the widths that round up to the same power of two, group by group."""
    levels = np.ceil(np.log2(widths)).astype(np.int64)
    return [np.flatnonzero(levels == level) for level in np.unique(levels)]


def _resorted_front(
    lead: np.ndarray, probs: np.ndarray, codes: np.ndarray, lexical_z: np.ndarray, weight: float
) -> np.ndarray:
    """The leading objectives `lead` of some OKRs' rows in label-first order with the fused
    score (`probs`, `codes`, `lexical_z`: theirs, column for column)."""
    lead_scores = _fuse(probs, lexical_z, weight)
    # "none" links inside the window (rows with fewer labelled links) keep their places.
    within = np.where(codes >= 1, -lead_scores, np.arange(lead.shape[1], dtype=np.float64))
    resorted = np.lexsort((lead, within, -codes.astype(np.int64)), axis=-1)  # ties: objective
    return np.take_along_axis(lead, resorted, axis=1)

"""Lexical re-ranking within a label: TF-IDF as scikit-learn computes it, the label-first
order, and what it does (and must not do) to an organization's links with the real model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer

from alignment.scoring import lexical_rank
from alignment.scoring.documents import ObjectiveDoc, OkrDoc
from alignment.scoring.link_features import objective_text, okr_text
from alignment.scoring.link_scores import EVIDENCE_TOP, score_links
from evals import research
from tests.alignment.test_link_scores import OBJECTIVES, OKRS, embed, okr

DEV = Path(__file__).parents[2] / "evals" / "datasets" / "dev"

OKR_TEXTS = (
    "D30 ret. up 5pp on mobile — Q3",
    "Móveis: entregar   pedidos\tem 48h; reduzir devoluções",
    "a b c",  # one-letter words: one n-gram each
    "the and of",  # only stop words: an empty word row
    "Cut  nurse turnover\nto 12%, retain nurses",
)
OBJECTIVE_TEXTS = ("Retention of mobile users", "Entregas rápidas", "Keep our nurses")


def _docs(okr_texts, objective_texts) -> tuple[list[ObjectiveDoc], list[OkrDoc]]:
    objectives = [ObjectiveDoc(f"SO-{j}", t, None, None, ()) for j, t in enumerate(objective_texts)]
    okrs = [OkrDoc(f"O-{k}", t, None, (), (), None) for k, t in enumerate(okr_texts)]
    return objectives, okrs


@pytest.mark.parametrize(
    ("ours", "vectorizer"),
    [
        (
            lexical_rank.char_tfidf,
            TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True),
        ),
        (lexical_rank.word_tfidf, TfidfVectorizer(stop_words="english", sublinear_tf=True)),
    ],
)
def test_tfidf_cosines_are_scikit_learns(ours, vectorizer) -> None:
    objectives, okrs = _docs(OKR_TEXTS, OBJECTIVE_TEXTS)
    texts = [okr_text(k) for k in okrs] + [objective_text(o) for o in objectives]
    m = vectorizer.fit_transform(texts)
    expected = (m[: len(okrs)] @ m[len(okrs) :].T).toarray()
    got = ours(objectives, okrs)
    assert got.shape == (len(okrs), len(objectives))
    np.testing.assert_allclose(got, expected, atol=1e-12)
    assert got.max() > 0.1  # the texts do share n-grams / words: not a zero matrix
    # Only some OKR rows: the same values (IDF still over every text).
    rows = np.array([4, 0])
    np.testing.assert_allclose(ours(objectives, okrs, rows), expected[rows], atol=1e-12)


def test_an_organization_with_no_word_left_ranks_by_score() -> None:
    objectives, okrs = _docs(["the of", "and"], ["it", "a"])
    assert not lexical_rank.word_tfidf(objectives, okrs).any()  # scikit-learn would raise
    probs = np.array([[0.6, 0.5], [0.9, 0.1]])
    fused = lexical_rank.fused(probs, lexical_rank.char_word(objectives, okrs), 0.7)
    assert (np.argsort(-fused, axis=1) == np.argsort(-probs, axis=1)).all()


def test_label_first_reorders_aligned_and_weak_links_only_among_themselves() -> None:
    probs = np.array(
        [
            [0.9, 0.8, 0.3, 0.25, 0.05, 0.04],  # aligned, aligned, weak, weak, none, none
            [0.12, 0.1, 0.08, 0.05, 0.03, 0.01],  # every link "none"
        ]
    )
    codes = np.array([[2, 2, 1, 1, 0, 0], [0, 0, 0, 0, 0, 0]])
    # The fused score prefers the last objective everywhere, then the one before it, ...
    rank_score = np.tile(np.arange(6.0), (2, 1))
    order = lexical_rank.label_first_order(probs, codes, rank_score)
    assert order[0].tolist() == [1, 0, 3, 2, 4, 5]  # "none" links stay in score order
    assert order[1].tolist() == [0, 1, 2, 3, 4, 5]  # rank 1 is still the best score


def test_only_okrs_with_two_links_of_one_label_are_reranked() -> None:
    objectives, okrs = _docs(
        ["retain nurses", "retain nurses", "retain nurses"],
        ["Retention of mobile users", "Keep our nurses", "Retain nurses in wards"],
    )
    probs = np.array([[0.6, 0.3, 0.2], [0.6, 0.5, 0.1], [0.3, 0.2, 0.01]])
    codes = np.array([[2, 1, 1], [2, 1, 0], [1, 1, 0]])
    by_score = np.argsort(-probs, axis=1, kind="stable")
    got = lexical_rank.rerank(by_score, probs, codes, objectives, okrs, weight=5.0)
    assert got[0].tolist() == [0, 2, 1]  # two weak links: the one sharing words goes first
    assert got[1].tolist() == [0, 1, 2]  # one aligned, one weak: nothing can move
    assert got[2].tolist() == [1, 0, 2]  # "nurses" beats "retention" ~ "retain" (n-grams only)
    unweighted = lexical_rank.rerank(by_score, probs, codes, objectives, okrs, weight=0.0)
    assert (unweighted == by_score).all()


def test_the_aligned_objective_sharing_more_words_goes_first() -> None:
    # SO-6 paraphrases SO-1 ("recover at home instead of returning to hospital"); the OKR
    # serves both, SO-6 by a hair on the vectors, but its key result words SO-1's KPI
    # ("30-day readmission rate"), words SO-6 does not use.
    so6 = ObjectiveDoc(
        "SO-6",
        "Patients recover at home instead of returning to hospital",
        None,
        "customer",
        ("Return visits within a month",),
    )
    both = okr(
        "O-9",
        "Help patients recover at home",
        "Home visits for 500 discharged patients",
        "Readmission rate below 10% within 30 days",
    )
    objectives, okrs = (*OBJECTIVES, so6), (*OKRS, both)
    by_score = score_links(objectives, okrs, embed=embed, rank_weight=0.0)["O-9"]
    fused = score_links(objectives, okrs, embed=embed)["O-9"]
    assert [(lk.objective_id, lk.label) for lk in by_score[:2]] == [
        ("SO-6", "aligned"),
        ("SO-1", "aligned"),
    ]
    assert by_score[0].score > by_score[1].score
    lexical = lexical_rank.char_word(objectives, okrs, np.array([len(okrs) - 1]))[0]
    index = {o.id: j for j, o in enumerate(objectives)}
    assert lexical[index["SO-1"]] > lexical[index["SO-6"]] + 0.5
    assert [lk.objective_id for lk in fused[:2]] == ["SO-1", "SO-6"]
    assert fused[:2] == by_score[1::-1]  # the same links, scores, labels and evidence


@pytest.fixture(scope="module")
def retail() -> research.Org:
    return research.load_org(DEV / "hearth-home-retail.bundle.json")


def test_fusion_moves_links_only_within_their_label(retail: research.Org) -> None:
    plain = score_links(retail.objectives, retail.okrs, embed=embed, rank_weight=0.0)
    fused = score_links(retail.objectives, retail.okrs, embed=embed)
    order = {"aligned": 0, "weak": 1, "none": 2}
    moved = 0
    for okr_id, before in plain.items():
        after = fused[okr_id]
        key = lambda lk: (lk.objective_id, lk.score, lk.label)  # noqa: E731
        assert sorted(map(key, after)) == sorted(map(key, before))
        ranks = [order[lk.label] for lk in after]
        assert ranks == sorted(ranks)  # aligned, then weak, then none
        assert [lk for lk in after if lk.label == "none"] == [
            lk for lk in before if lk.label == "none"
        ]
        if all(lk.label == "none" for lk in before):
            assert after == before
        # Evidence: unchanged where the link had it, and the top of the new order has it.
        had = {lk.objective_id: lk.evidence for lk in before if lk.evidence}
        has = {lk.objective_id: lk.evidence for lk in after if lk.evidence}
        assert set(had) <= set(has)
        assert all(has[o] == had[o] for o in had)
        assert all(lk.evidence for lk in after[:EVIDENCE_TOP])
        moved += [lk.objective_id for lk in after] != [lk.objective_id for lk in before]
    assert moved >= 1
    # Where rank 1 moved, it never left a gold objective, and mostly moved onto one (measured:
    # 2 of 3 OKRs; the third went from one wrong objective to another).
    gold = retail.labels["links"]
    changed = [k for k in plain if plain[k][0].objective_id != fused[k][0].objective_id]
    assert changed
    assert not any(
        plain[k][0].objective_id in gold[k] and fused[k][0].objective_id not in gold[k]
        for k in changed
    )
    assert sum(fused[k][0].objective_id in gold[k] for k in changed) * 3 >= 2 * len(changed)


def test_rerank_sorts_only_the_labelled_front_and_agrees_with_the_full_sort() -> None:
    rng = np.random.default_rng(7)
    texts = ["retain nurses", "grow revenue", "cut waits", "nurse retention", "revenue growth"]
    objectives, okrs = _docs([texts[k % 5] + f" {k}" for k in range(40)], texts)
    probs = rng.random((40, 5)) ** 3
    probs[:5, 2] = probs[:5, 3]  # tied scores: ties go by objective index either way
    cal_codes = np.where(probs >= 0.5, 2, np.where(probs >= 0.1, 1, 0))
    by_score = np.argsort(-probs, axis=1, kind="stable")
    got = lexical_rank.rerank(by_score, probs, cal_codes, objectives, okrs, weight=2.0)
    rank_score = lexical_rank.fused(probs, lexical_rank.char_word(objectives, okrs), 2.0)
    expected = lexical_rank.label_first_order(probs, cal_codes, rank_score)
    assert (got == expected).all()
    assert (got != by_score).any(axis=1).sum() >= 5  # the sample does move some rows

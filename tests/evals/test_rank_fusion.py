"""The ranking study's orderings: what each way of fusing the ranking does to labels and rank 1."""

import numpy as np

from alignment.scoring.calibration import Calibration
from alignment.scoring.documents import ObjectiveDoc, OkrDoc
from evals import rank_fusion, research

CAL = Calibration(weights=(0.0,) * 9, bias=0.0, aligned=0.5, weak=0.25, margin=0.7)


def _scored(probs: list[list[float]], gold: dict[str, list[str]]) -> rank_fusion.Scored:
    objectives = [ObjectiveDoc(f"SO-{j}", f"objective {j}", None, None, ()) for j in range(3)]
    okrs = [OkrDoc(f"O-{k}", f"okr {k}", None, (), (), None) for k in range(len(probs))]
    org = research.Org("org", "dev", objectives, okrs, [], {"links": gold})
    return rank_fusion.Scored(org, np.asarray(probs), CAL, {})


def test_label_first_keeps_the_best_score_at_rank_1_when_no_link_is_even_weak() -> None:
    # O-0: one aligned link; the lexical side prefers a weak one. O-1: every link "none"; the
    # lexical side prefers the lowest score, which the report would then read as the best.
    s = _scored([[0.6, 0.3, 0.1], [0.2, 0.1, 0.05]], {"O-0": ["SO-1"], "O-1": ["SO-2"]})
    fused = np.array([[0.0, 5.0, 1.0], [0.0, 1.0, 5.0]])
    label_first, _ = rank_fusion.predictions(s, fused, "label_first")
    assert [oid for oid, _, _ in label_first["O-0"]] == ["SO-0", "SO-1", "SO-2"]
    assert label_first["O-1"][0][0] == "SO-0"  # the highest probability, not the fused winner
    aligned_first, _ = rank_fusion.predictions(s, fused, "aligned_first")
    assert aligned_first["O-1"][0][0] == "SO-2"  # what adds report orphans (evals/README.md)
    best_kept, _ = rank_fusion.predictions(s, fused, "best_kept")
    assert [oid for oid, _, _ in best_kept["O-1"]] == ["SO-0", "SO-2", "SO-1"]
    assert best_kept["O-0"][0][0] == "SO-0"  # aligned first


def test_keep_counts_a_contradiction_and_move_resolves_it() -> None:
    s = _scored([[0.6, 0.3, 0.1]], {"O-0": ["SO-1"]})
    fused = np.array([[0.0, 5.0, 1.0]])
    keep, contradictions = rank_fusion.predictions(s, fused, "keep")
    assert contradictions == 1 and keep["O-0"][0] == ("SO-1", 0.3, "weak")
    moved, _ = rank_fusion.predictions(s, fused, "move")
    assert moved["O-0"][0] == ("SO-1", 0.3, "aligned")


def test_scores_and_labels_never_move_with_the_order() -> None:
    # O-0 has two aligned links and the fused order prefers the second, the gold one.
    s = _scored([[0.6, 0.55, 0.1], [0.2, 0.1, 0.05]], {"O-0": ["SO-1"], "O-1": []})
    fused = np.array([[0.0, 5.0, 1.0], [0.0, 1.0, 5.0]])
    plain, _ = rank_fusion.predictions(s, s.probs, "keep")
    for mode in ("keep", "aligned_first", "label_first"):
        fused_preds, _ = rank_fusion.predictions(s, fused, mode)
        for okr, ranked in fused_preds.items():
            assert sorted(ranked) == sorted(plain[okr])
    m_plain = rank_fusion.evaluate(s, s.probs, "keep")
    m_fused = rank_fusion.evaluate(s, fused, "label_first")
    for key in ("link_f1", "confident_orphan_precision", "review_rate", "svc_orphans"):
        assert m_plain[key] == m_fused[key]
    assert m_fused["top1"] == 1.0 and m_plain["top1"] == 0.0


def test_sinkhorn_balancing_takes_rank_one_from_a_hub_objective() -> None:
    import numpy as np

    from evals.rank_fusion import sinkhorn

    # Objective 0 is close to everything; OKR 2 prefers objective 1 by a little less.
    probs = np.array([[0.9, 0.2, 0.1], [0.9, 0.1, 0.2], [0.8, 0.7, 0.1]])
    balanced = sinkhorn(probs, iterations=50, temperature=1.0)
    assert np.allclose(balanced.sum(axis=1), 1.0)
    assert np.allclose(balanced.sum(axis=0), 1.0, atol=1e-3)  # every objective the same mass
    assert probs[2].argmax() == 0 and balanced[2].argmax() == 1
    assert np.array_equal(sinkhorn(probs, iterations=0, temperature=1.0).argmax(axis=1), [0, 0, 0])

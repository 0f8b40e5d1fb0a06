"""evals.decisions: how the decision rule the service ships was chosen."""

from types import SimpleNamespace

import numpy as np

from evals import decisions


def counts(hits: int, f1_tp: int) -> np.ndarray:
    # top1 hits of 10, link F1 = 2 tp / 20; no orphan counts
    return np.array([hits, 10, f1_tp, 20, 0, 0, 0], dtype=np.float64)


def test_a_rule_is_chosen_by_its_worst_folder_on_the_other_organizations() -> None:
    orgs = [SimpleNamespace(name=n, source=s) for n, s in (("a", "ours"), ("b", "theirs"),
                                                            ("c", "theirs"))]  # fmt: skip
    results = {}
    for org in orgs:
        results[(org.name, "fitted")] = counts(5, 5)
    # "big" gains a lot on theirs and loses on ours; "small" gains a little on both.
    results[("a", "big")], results[("a", "small")] = counts(4, 5), counts(5, 6)
    for name in ("b", "c"):
        results[(name, "big")], results[(name, "small")] = counts(8, 8), counts(6, 5)
    assert decisions.choose(results, orgs, None, ["big", "small"]) == "small"
    # Without organization a, ours is not in the pool: the best mean is the best worst folder.
    assert decisions.choose(results, orgs, orgs[0], ["big", "small"]) == "big"


def test_capped_votes_lift_nothing_above_the_okrs_own_best_and_keep_what_they_lowered() -> None:
    before = np.array([[0.6, 0.4, 0.2], [0.3, 0.5, 0.1]])
    after = np.array([[0.5, 0.9, 0.2], [0.3, 0.55, 0.05]])  # a vote up, a vote down, each row
    capped = decisions.capped(before, after, cap=0.0)
    assert capped[0, 1] == 0.6  # lifted to the row's best, not past it
    assert capped[0, 0] == 0.5  # a rejection's lowering stands
    assert capped[1, 1] == 0.5 and capped[1, 2] == 0.05  # the best may not lift itself either
    assert decisions.capped(before, after, cap=10.0)[0, 1] == 0.9  # a loose cap binds nothing

"""evals.flag_rules: a rule's parameters are chosen without the organization they are applied to."""

import numpy as np
import pytest

from evals import flag_rules


def _org(name: str, drifting: list[float], clean: list[float]) -> flag_rules.Scored:
    ids = [f"{name}-{i}" for i in range(len(drifting) + len(clean))]
    gold = dict(zip(ids, [True] * len(drifting) + [False] * len(clean), strict=True))
    empty = np.zeros((0, 0))
    return flag_rules.Scored(
        name, "dev", [], empty, empty, np.zeros((0, 0, 9)), {}, ids, ["O-1"] * len(ids),
        np.asarray(drifting + clean), gold, 0.4,
    )  # fmt: skip


def test_parameters_for_an_organization_are_chosen_on_the_others_only() -> None:
    # On "a" alone a higher threshold is perfect; on b and c it would find nothing.
    a = _org("a", [0.5], [0.45])
    b, c = _org("b", [0.45], [0.3]), _org("c", [0.45], [0.3])
    space = {"factor": [1.0, 1.25]}
    by_source, chosen = flag_rules.loo([a, b, c], flag_rules.drift_absolute, space,
                                       flag_rules.drift_counts)  # fmt: skip
    assert dict(chosen)["a"] == {"factor": 1.0}
    tp, flags, positives = by_source["dev"][:3]
    assert (tp, flags, positives) == (3, 4, 3)  # a's clean check-in is the one false flag


def test_the_final_held_out_set_is_refused() -> None:
    with pytest.raises(SystemExit, match="holdout-2"):
        flag_rules.main(["evals/datasets/dev", "evals/datasets/holdout-2"])
    with pytest.raises(SystemExit, match="holdout-3 is a final held-out set"):
        flag_rules.main(["evals/datasets/dev", "evals/datasets/holdout-3/sprigbox.bundle.json"])

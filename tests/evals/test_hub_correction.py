import numpy as np

from evals.hub_correction import hub_corrected


def test_an_objective_close_to_every_okr_loses_rank_one_where_another_is_nearly_as_close() -> None:
    # Objective 0 is the hub: every OKR scores it highest. OKR 2 scores objective 1 nearly as
    # high, and nobody else does, so after the column correction objective 1 ranks first there.
    probs = np.array([[0.9, 0.1], [0.8, 0.1], [0.7, 0.65]])
    assert probs.argmax(axis=1).tolist() == [0, 0, 0]
    corrected = hub_corrected(probs, temperature=1.0)
    assert corrected.argmax(axis=1).tolist() == [0, 0, 1]
    # Within a column the order is the score's: the correction only weighs objectives.
    assert np.array_equal(np.argsort(corrected[:, 0]), np.argsort(probs[:, 0]))

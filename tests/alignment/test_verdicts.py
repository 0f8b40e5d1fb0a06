from alignment.scoring.verdicts import okr_verdict


def test_three_verdicts_from_link_labels():
    assert okr_verdict(["weak", "aligned", "none"]) == "aligned"
    assert okr_verdict(["weak", "none"]) == "needs_review"
    assert okr_verdict(["none", "none"]) == "orphan"
    assert okr_verdict([]) == "orphan"

"""The perspective study's patch: a gloss field for objectives with a perspective, whole texts
unchanged, everything restored afterwards."""

from alignment.scoring import lexical_rank, link_features
from alignment.scoring.documents import ObjectiveDoc
from evals.perspective_fields import GLOSS, perspective_fields


def test_patch_adds_the_gloss_keeps_whole_text_and_is_undone() -> None:
    costs = ObjectiveDoc("o1", "Earn a healthy margin", None, "financial", ("Gross margin",))
    untyped = ObjectiveDoc("o2", "Serve veterans", None, None, ())
    plain_text = link_features.objective_text(costs)
    plain_fields = link_features._objective_fields(costs)
    with perspective_fields():
        assert link_features._objective_fields(costs) == [
            *plain_fields,
            ("perspective", GLOSS["financial"]),
        ]
        assert link_features._objective_fields(untyped) == [("title", "Serve veterans")]
        assert link_features.objective_text(costs) == plain_text
        assert lexical_rank.objective_text(costs) == plain_text
    assert link_features._objective_fields(costs) == plain_fields
    assert lexical_rank.objective_text is link_features.objective_text

"""Two scores: aligned from the centered links, orphan only when the plain verdict is one."""

from typing import NamedTuple

from evals import centering_two_scores as two


class L(NamedTuple):
    label: str
    score: float


def _links(label: str, score: float) -> list[L]:
    return [L(label, score), L("none", score / 2)]


# Plain: x, y, z far under the median best score (0.9) with no link: confident orphans.
PLAIN = {k: _links("none", 0.01) for k in "xyz"}
PLAIN |= {k: _links("aligned", 0.9) for k in "wpqr"}
CENTERED = {
    "x": _links("aligned", 0.8),  # the centered fit finds a link: aligned, not orphan
    "y": _links("weak", 0.3),  # weak: orphan unless strict
    "z": _links("none", 0.2),  # both fits: nothing
    "w": _links("none", 0.1),  # plain aligned, centered nothing: a person decides
    "p": _links("aligned", 0.9),
    "q": _links("weak", 0.4),
    "r": _links("none", 0.05),
}


def test_the_combined_verdict() -> None:
    said = two.combined_verdicts(CENTERED, PLAIN)
    assert said == {
        "x": "aligned",
        "y": "orphan",
        "z": "orphan",
        "w": "needs_review",
        "p": "aligned",
        "q": "needs_review",
        "r": "needs_review",
    }
    strict = two.combined_verdicts(CENTERED, PLAIN, strict=True)
    assert strict == said | {"y": "needs_review"}


def test_the_orphan_rule_reads_the_plain_scores_at_the_share_given() -> None:
    # The centered scores of z (0.2) are not under 0.12 x their median; the plain ones are.
    none = two._with_share(0.0, two.combined_verdicts, CENTERED, PLAIN)
    assert "orphan" not in none.values()
    assert two._with_share(0.5, two.combined_verdicts, CENTERED, PLAIN)["z"] == "orphan"

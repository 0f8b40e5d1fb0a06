"""One verdict per OKR: `aligned`, `needs_review` (the engine is unsure) or `orphan`.

The score stage labels each (OKR, objective) link `aligned`, `weak` or `none`. An OKR with an
aligned link is aligned. One without is an `orphan` only when the engine is confident: its
orphan score is far below the organization's typical one (under ORPHAN_SHARE_OF_MEDIAN of the
median over the organization's OKRs). Everything else goes to people as `needs_review` instead
of a finding: a false orphan flag teaches a strategy office to ignore the report.

The orphan score is the OKR's best score under calibration.PLAIN (link_scores.Scored), not
under the calibration that ranks and labels its links: the links' calibration also reads the
similarities with the organization's common component removed, which tell its objectives
apart better, but that component is also what tells an OKR off the organization's business
from one on it (evals/README.md, "Two scores"). A plain link labelled weak scores at least
PLAIN.weak, which is above the share of any median (evals.fit checks it), so a far-below OKR
has no plain link either. Without orphan scores (an evaluation fitting one calibration) the
best link score is the orphan score.

Why relative to the organization: scores run low across the board on terse text (published
goal pages with one-line titles), where an absolute cut calls half of all OKRs orphans. An OKR
that matches nothing compared with its own organization's other OKRs is the confident case.

A person's verdict settles it: an OKR a person called an orphan ("serves none" in the review
queue: every candidate it showed rejected, `people_decisions.called_orphans`), leaving no
aligned or weak link, is an orphan; a confirmed link makes it aligned (the score stage applies
both to the labels). A rejection of one link is no such call: the link's label drops to
`none` and the engine decides on the rest, so dropping a team's declared link leaves an OKR
the engine was unsure of in the review queue, and names nobody as deciding it is an orphan.

Why the comparison with the median is stored (`compare_with_median`, table `okr_verdicts`): the
median moves whenever OKRs are added, so an untouched OKR near the cut would switch between
orphan and needs_review for reasons of other teams' making. The score stage keeps an OKR's
earlier comparison while its text and context are unchanged, as it keeps its labels
(scoring/stability.py); readers pass the stored comparisons as `far_below`.

How the share is chosen: `python -m evals.fit` writes it to calibration.json
(evals/orphan_share.py): the share with the highest recall among those whose orphan flags are
right at least 80% of the time, on development organizations of several writing styles and
real plans (where every flag is false), each scored as an organization the calibration never
saw. It was 0.25 until 2026-12-06, chosen by hand for dev recall (evals/verdicts.py); on the
styles we did not write half of those flags were wrong (evals/README.md).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from statistics import median
from typing import NamedTuple, Protocol

from alignment.scoring.calibration import FITTED

ORPHAN_SHARE_OF_MEDIAN: float = FITTED["verdicts"]["orphan_share_of_median"]
VERDICTS = ("aligned", "needs_review", "orphan")


class Link(Protocol):
    # Read-only: a NamedTuple or frozen dataclass row is a Link too.
    @property
    def label(self) -> str: ...
    @property
    def score(self) -> float: ...


def best_scores(
    links_by_okr: Mapping[str, Sequence[Link]], orphan_scores: Mapping[str, float] | None = None
) -> dict[str, float]:
    """Each scored OKR's orphan score: from `orphan_scores` where given, else its best link."""
    return {
        okr: orphan_scores[okr]
        if orphan_scores is not None and okr in orphan_scores
        else max(lk.score for lk in links)
        for okr, links in links_by_okr.items()
        if links
    }


def reference_score(
    links_by_okr: Mapping[str, Sequence[Link]], orphan_scores: Mapping[str, float] | None = None
) -> float:
    """The organization's median orphan score: what a typical OKR reaches."""
    best = list(best_scores(links_by_okr, orphan_scores).values())
    return median(best) if best else 0.0


def under_share(best_score: float, reference: float) -> bool:
    """Is an orphan score far under what a typical OKR of its organization reaches?"""
    return best_score < ORPHAN_SHARE_OF_MEDIAN * reference


def is_far_below(links: Sequence[Link], reference: float) -> bool:
    return bool(links) and under_share(max(lk.score for lk in links), reference)


class Comparison(NamedTuple):
    far_below: bool
    best_score: float  # its orphan score (or best link score, without orphan scores)
    reference: float  # the organization's median orphan score it was held to

    @classmethod
    def of(cls, best_score: float, reference: float) -> Comparison:
        """A stored orphan score and median held to today's share. What is kept is the median
        the OKR was compared with, not the share: a new share (evals.fit) applies to every
        stored comparison at once, and the evidence's cut always agrees with the verdict."""
        return cls(under_share(best_score, reference), best_score, reference)


def compare_with_median(
    links_by_okr: Mapping[str, Sequence[Link]],
    earlier: Mapping[str, Comparison],
    orphan_scores: Mapping[str, float] | None = None,
) -> dict[str, Comparison]:
    """Each scored OKR's comparison with its organization's median: the earlier one where given
    (the OKRs whose text and context did not change), otherwise against today's median."""
    best = best_scores(links_by_okr, orphan_scores)
    reference = median(best.values()) if best else 0.0
    return {okr: earlier.get(okr) or Comparison.of(score, reference) for okr, score in best.items()}


def okr_verdict(
    links: Sequence[Link],
    reference: float,
    *,
    called_orphan: bool = False,
    far_below: bool | None = None,
) -> str:
    """`called_orphan`: a person called it an orphan; `far_below`: the stored comparison of its
    orphan score with the median; without it, its best link against `reference`. A weak link
    does not save a far-below OKR: the links' calibration finds some objective on almost every
    OKR's row (evals/README.md, "Two scores")."""
    if any(lk.label == "aligned" for lk in links):
        return "aligned"
    if not links:
        return "needs_review"
    if called_orphan and not any(lk.label == "weak" for lk in links):
        return "orphan"
    if far_below is None:
        far_below = is_far_below(links, reference)
    return "orphan" if far_below else "needs_review"


def verdicts(
    links_by_okr: Mapping[str, Sequence[Link]],
    called_orphan: Collection[str] = (),
    far_below: Mapping[str, bool] | None = None,
    orphan_scores: Mapping[str, float] | None = None,
) -> dict[str, str]:
    """`called_orphan`: the OKRs people called orphans (OKR ids; not every OKR with a rejected
    link); `far_below`: the comparisons the score stage stored; an OKR missing from it (scored
    before they were stored) is compared with today's median, by `orphan_scores` where given
    (link_scores.Scored), else by its best link."""
    compared = compare_with_median(links_by_okr, {}, orphan_scores)
    stored = far_below or {}
    return {
        okr: okr_verdict(
            links,
            0.0,
            called_orphan=okr in called_orphan,
            far_below=stored[okr] if okr in stored else okr in compared and compared[okr].far_below,
        )
        for okr, links in links_by_okr.items()
    }

"""One verdict per OKR: `aligned`, `needs_review` (the engine is unsure) or `orphan`.

The score stage labels each (OKR, objective) link `aligned`, `weak` or `none`. An OKR with an
aligned link is aligned. One without is an `orphan` only when the engine is confident: its best
link is not even weak AND its best score is far below the organization's typical best score
(under ORPHAN_SHARE_OF_MEDIAN of the median over the organization's OKRs). Everything else goes
to people as `needs_review` instead of a finding: a false orphan flag teaches a strategy office
to ignore the report.

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


def reference_score(links_by_okr: Mapping[str, Sequence[Link]]) -> float:
    """The organization's median best score: what a typical OKR reaches."""
    best = [max(lk.score for lk in links) for links in links_by_okr.values() if links]
    return median(best) if best else 0.0


def under_share(best_score: float, reference: float) -> bool:
    """Is a best score far under what a typical OKR of its organization reaches?"""
    return best_score < ORPHAN_SHARE_OF_MEDIAN * reference


def is_far_below(links: Sequence[Link], reference: float) -> bool:
    return bool(links) and under_share(max(lk.score for lk in links), reference)


class Comparison(NamedTuple):
    far_below: bool
    best_score: float
    reference: float  # the organization's median best score it was held to

    @classmethod
    def of(cls, best_score: float, reference: float) -> Comparison:
        """A stored best score and median held to today's share. What is kept is the median
        the OKR was compared with, not the share: a new share (evals.fit) applies to every
        stored comparison at once, and the evidence's cut always agrees with the verdict."""
        return cls(under_share(best_score, reference), best_score, reference)


def compare_with_median(
    links_by_okr: Mapping[str, Sequence[Link]], earlier: Mapping[str, Comparison]
) -> dict[str, Comparison]:
    """Each scored OKR's comparison with its organization's median: the earlier one where given
    (the OKRs whose text and context did not change), otherwise against today's median."""
    reference = reference_score(links_by_okr)
    return {
        okr: earlier.get(okr) or Comparison.of(max(lk.score for lk in links), reference)
        for okr, links in links_by_okr.items()
        if links
    }


def okr_verdict(
    links: Sequence[Link],
    reference: float,
    *,
    called_orphan: bool = False,
    far_below: bool | None = None,
) -> str:
    """`called_orphan`: a person called it an orphan; `far_below`: the stored comparison with
    the median; without it, against `reference`."""
    if any(lk.label == "aligned" for lk in links):
        return "aligned"
    if not links:
        return "needs_review"
    if any(lk.label == "weak" for lk in links):
        return "needs_review"
    if called_orphan:
        return "orphan"
    if far_below is None:
        far_below = is_far_below(links, reference)
    return "orphan" if far_below else "needs_review"


def verdicts(
    links_by_okr: Mapping[str, Sequence[Link]],
    called_orphan: Collection[str] = (),
    far_below: Mapping[str, bool] | None = None,
) -> dict[str, str]:
    """`called_orphan`: the OKRs people called orphans (OKR ids; not every OKR with a rejected
    link); `far_below`: the comparisons the score stage stored; an OKR missing from it (scored
    before they were stored) is compared with today's median."""
    reference = reference_score(links_by_okr)
    stored = far_below or {}
    return {
        okr: okr_verdict(
            links, reference, called_orphan=okr in called_orphan, far_below=stored.get(okr)
        )
        for okr, links in links_by_okr.items()
    }

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

A person's verdict settles it: an OKR whose candidate links a person rejected, leaving no
aligned or weak link, is an orphan; a confirmed link makes it aligned (the score stage applies
both to the labels).

Why the comparison with the median is stored (`compare_with_median`, table `okr_verdicts`): the
median moves whenever OKRs are added, so an untouched OKR near the cut would switch between
orphan and needs_review for reasons of other teams' making. The score stage keeps an OKR's
earlier comparison while its text and context are unchanged, as it keeps its labels
(scoring/stability.py); readers pass the stored comparisons as `far_below`.

How the constant was chosen (`python -m evals.verdicts evals/datasets/dev evals/datasets/holdout
evals/datasets/real`, every dataset the team may fit on; the independent sets stay unseen):
0.25 keeps dev orphan precision/recall at 0.82/0.52 (the plateau from 0.25 to 0.5) while false
orphans on the real published pages fall from 50% of OKRs (every unaligned OKR flagged) to 7%.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from statistics import median
from typing import NamedTuple, Protocol

ORPHAN_SHARE_OF_MEDIAN = 0.25
VERDICTS = ("aligned", "needs_review", "orphan")


class Link(Protocol):
    label: str
    score: float


def reference_score(links_by_okr: Mapping[str, Sequence[Link]]) -> float:
    """The organization's median best score: what a typical OKR reaches."""
    best = [max(lk.score for lk in links) for links in links_by_okr.values() if links]
    return median(best) if best else 0.0


def is_far_below(links: Sequence[Link], reference: float) -> bool:
    """Is this OKR's best score far under what a typical OKR of its organization reaches?"""
    return bool(links) and max(lk.score for lk in links) < ORPHAN_SHARE_OF_MEDIAN * reference


class Comparison(NamedTuple):
    far_below: bool
    best_score: float
    reference: float  # the organization's median best score it was held to


def compare_with_median(
    links_by_okr: Mapping[str, Sequence[Link]], earlier: Mapping[str, Comparison]
) -> dict[str, Comparison]:
    """Each scored OKR's comparison with its organization's median: the earlier one where given
    (the OKRs whose text and context did not change), otherwise against today's median."""
    reference = reference_score(links_by_okr)
    return {
        okr: earlier.get(okr)
        or Comparison(is_far_below(links, reference), max(lk.score for lk in links), reference)
        for okr, links in links_by_okr.items()
        if links
    }


def okr_verdict(
    links: Sequence[Link],
    reference: float,
    *,
    person_rejected: bool = False,
    far_below: bool | None = None,
) -> str:
    """`far_below`: the stored comparison with the median; without it, against `reference`."""
    if any(lk.label == "aligned" for lk in links):
        return "aligned"
    if not links:
        return "needs_review"
    if any(lk.label == "weak" for lk in links):
        return "needs_review"
    if person_rejected:
        return "orphan"
    if far_below is None:
        far_below = is_far_below(links, reference)
    return "orphan" if far_below else "needs_review"


def verdicts(
    links_by_okr: Mapping[str, Sequence[Link]],
    rejected: Iterable[tuple[str, str]] = (),
    far_below: Mapping[str, bool] | None = None,
) -> dict[str, str]:
    """`far_below`: the comparisons the score stage stored; an OKR missing from it (scored
    before they were stored) is compared with today's median."""
    reference = reference_score(links_by_okr)
    decided = {okr for okr, _ in rejected}
    stored = far_below or {}
    return {
        okr: okr_verdict(
            links, reference, person_rejected=okr in decided, far_below=stored.get(okr)
        )
        for okr, links in links_by_okr.items()
    }

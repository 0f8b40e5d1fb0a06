"""One page of the review queues on a large organization: built whole then cut, or read a page.

    python -m benchmarks.review_queue_pages [--okrs 4000] [--rounds 5]

A synthetic organization (`benchmarks.synthetic`, one check-in per OKR) is imported, then its
scoring is written directly instead of computed (as the tests' factories write rows): scoring
4,000 OKRs would cost minutes on this machine and the queue reads only what scoring stored.
Each OKR gets 10 stored links and its comparison with the median; 9 in 10 have a weak best link
(`needs_review`, in the queue), one in 5 an LLM's opinion, and 3 in 4 check-ins a
`needs_review` drift score, rounded so that many tie (the queue breaks ties by check-in id).

"Before" is what `GET /orgs/{org}/review-queue` did until it read a page: build the whole queue
(`review.queue`, `check_in_review.queue`) and slice it. "After" is the paged read
(`review.queue_page`, `check_in_review.queue_page`). Both sides run in the same process on the
same rows, interleaved round by round; the page each returns is checked to be the same.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, insert
from sqlalchemy.orm import Session

from alignment import check_in_review, review
from alignment.imports import import_document
from alignment.models import CheckInDrift, OkrVerdict, ScoredLink
from alignment.scoring.reads import stored_verdicts
from benchmarks.harness import print_table, run_measured, scratch_org
from benchmarks.synthetic import make_bundle

ORG = "bench-review-pages"
OBJECTIVES = 40
LINKS_PER_OKR = 10
LIMIT = 50


def seed(session: Session, org: str, okrs: int) -> None:
    """The organization and the rows a scoring run would have stored for it."""
    import_document(session, make_bundle(org_id=org, okrs=okrs, objectives=OBJECTIVES))
    rng = random.Random(11)
    links, comparisons, drift = [], [], []
    for n in range(1, okrs + 1):
        okr = f"O-{n}"
        first = rng.randrange(OBJECTIVES)
        best = round(rng.uniform(0.3, 0.6), 3)
        for rank in range(1, LINKS_PER_OKR + 1):
            score = best - 0.02 * (rank - 1)
            label = ("aligned" if n % 10 == 0 else "weak") if rank == 1 else "none"
            evidence = [
                {"kind": "title", "okr_text": f"title of {okr}", "objective_text": "an objective"}
            ] * 3
            opinion = {"serves": rank == 2, "reason": "reads so"} if n % 5 == 0 else None
            links.append(
                {
                    "org_id": org,
                    "okr_id": okr,
                    "objective_id": f"SO-{(first + rank) % OBJECTIVES + 1}",
                    "rank": rank,
                    "score": score,
                    "label": label,
                    "evidence": evidence,
                    "okr_hash": "h" * 64,
                    "context_hash": "c" * 64,
                    "model": "bench",
                    "adjudication": opinion if rank <= 2 else None,
                }
            )
        comparisons.append(
            {
                "org_id": org,
                "okr_id": okr,
                "far_below": False,
                "best_score": best,
                "reference": 0.45,
                "okr_hash": "h" * 64,
                "context_hash": "c" * 64,
            }
        )
        unsure = n % 4 != 0
        drift.append(
            {
                "org_id": org,
                "check_in_id": f"{okr}-C0",
                "score": round(rng.uniform(0.4, 0.6), 1),  # few distinct values: many ties
                "drifting": False,
                "verdict": "needs_review" if unsure else "on_topic",
                "evidence": {"nearest_okr_id": f"O-{rng.randrange(1, okrs + 1)}"},
                "model": "bench",
            }
        )
    for table, rows in ((ScoredLink, links), (OkrVerdict, comparisons), (CheckInDrift, drift)):
        for start in range(0, len(rows), 5000):
            session.execute(insert(table), rows[start : start + 5000])


def _timed(work: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = work()
    return time.perf_counter() - start, result


def measure(engine: Engine, okrs: int, rounds: int) -> bool:
    with scratch_org(engine, ORG) as org:
        with Session(engine) as s, s.begin():
            took, _ = _timed(lambda: seed(s, org, okrs))
        with Session(engine) as s:
            in_queue = len(review.queue(s, org))
            check_ins = len(check_in_review.queue(s, org))
        print(
            f"organization: {okrs:,} OKRs x {LINKS_PER_OKR} stored links, {okrs:,} check-ins "
            f"(import + rows {took:.1f} s); in the queues: {in_queue:,} OKRs, "
            f"{check_ins:,} check-ins\n"
        )
        cases: list[tuple[str, Callable[[Session, int], Any], Callable[[Session, int], Any]]] = [
            (
                "OKR queue",
                lambda s, at: review.queue(s, org)[at : at + LIMIT],
                lambda s, at: review.queue_page(s, org, limit=LIMIT, offset=at)[0],
            ),
            (
                "check-in queue",
                lambda s, at: check_in_review.queue(s, org)[at : at + LIMIT],
                lambda s, at: check_in_review.queue_page(s, org, limit=LIMIT, offset=at)[0],
            ),
        ]
        rows, same = [], True
        for name, whole, paged in cases:
            size = in_queue if name == "OKR queue" else check_ins
            for label, at in (("page 1", 0), ("last page", (size - 1) // LIMIT * LIMIT)):
                before, after = [], []
                for n in range(rounds + 1):  # the first round warms and is not counted
                    with Session(engine) as s:
                        sides = [(before, whole), (after, paged)]
                        for times, side in sides if n % 2 else reversed(sides):
                            took, page = _timed(lambda side=side, at=at: side(s, at))
                            times.append(took) if n else None
                            same &= page == whole(s, at)
                b, a = statistics.median(before), statistics.median(after)
                rows.append(
                    (f"{name}, {label} (limit {LIMIT})", f"{b * 1000:.1f}", f"{a * 1000:.1f}",
                     f"{b / a:.1f}x")
                )  # fmt: skip
        print_table(["read", "before: whole + slice, ms", "after: paged, ms", "ratio"], rows)
        with Session(engine) as s:
            parts = [
                ("stored_verdicts (every OKR's verdict)", lambda: stored_verdicts(s, org)),
                ("candidates_by_okr (every OKR's top 3)", lambda: review.candidates_by_okr(s, org)),
            ]
            print("\nwhere the whole build's time goes (one run each):")
            print_table(["step", "ms"], [(n, f"{_timed(w)[0] * 1000:.1f}") for n, w in parts])
        print(f"\nthe same page on both sides, every round: {'yes' if same else 'NO'}")
        return same


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--okrs", type=int, default=4000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    run_measured(lambda engine: measure(engine, args.okrs, args.rounds))


if __name__ == "__main__":
    main()

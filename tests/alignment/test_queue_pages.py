"""A page of a review queue is read as a page: walking the pages gives the whole queue (same
order, same items, ties included), and a page loads only its own OKRs and check-ins."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session

from alignment import check_in_review, review
from alignment.models import CheckIn, Okr
from benchmarks.review_queue_pages import seed

OKRS = 40  # 36 in the OKR queue, 30 check-ins; drift scores take three values: many ties
QUEUES = {"okrs": (review, "okr_id"), "check-ins": (check_in_review, "check_in_id")}


@pytest.fixture
def org(session: Session) -> str:
    org_id = f"pages-{uuid.uuid4().hex[:8]}"
    seed(session, org_id, OKRS)
    session.flush()
    return org_id


def _walk(session: Session, module, org: str, limit: int) -> tuple[list[dict], set[int]]:
    items: list[dict] = []
    totals = set()
    while True:
        page, total = module.queue_page(session, org, limit=limit, offset=len(items))
        totals.add(total)
        items += page
        if len(page) < limit:
            return items, totals


@pytest.mark.parametrize("queue", QUEUES)
@pytest.mark.parametrize("limit", [1, 3, 7, 50])
def test_walking_the_pages_gives_the_whole_queue(
    session: Session, org: str, queue: str, limit: int
) -> None:
    module, key = QUEUES[queue]
    whole = module.queue(session, org)
    assert len(whole) > 7  # several pages at every limit but the last
    walked, totals = _walk(session, module, org, limit)
    assert walked == whole  # order and content
    assert totals == {len(whole)}
    if queue == "okrs":  # by OKR id; the aligned tenth is not in the queue
        assert [i[key] for i in walked] == sorted(i[key] for i in walked)
        assert len(walked) == OKRS - OKRS // 10
    else:  # likeliest drift first, ties (many here) by check-in id
        order = [(-i["score"], i[key]) for i in walked]
        assert order == sorted(order) and len({s for s, _ in order}) < len(order) // 3


@pytest.mark.parametrize("queue", QUEUES)
def test_a_page_past_the_end_or_cut_short_counts_the_whole_queue(
    session: Session, org: str, queue: str
) -> None:
    module, _ = QUEUES[queue]
    whole = module.queue(session, org)
    assert module.queue_page(session, org, limit=5, offset=len(whole)) == ([], len(whole))
    assert module.queue_page(session, org, limit=5, offset=len(whole) + 99) == ([], len(whole))
    last = module.queue_page(session, org, limit=5, offset=len(whole) - 2)
    assert last == (whole[-2:], len(whole))
    assert module.queue_page(session, org) == (whole, len(whole))
    assert module.queue_page(session, org, offset=len(whole) + 1) == ([], len(whole))
    assert module.queue_page(session, org, offset=3) == (whole[3:], len(whole))


@pytest.mark.parametrize(("queue", "model"), [("okrs", Okr), ("check-ins", CheckIn)])
def test_a_page_loads_only_its_own_records(
    session: Session, org: str, queue: str, model: type
) -> None:
    module, key = QUEUES[queue]
    session.expunge_all()
    loaded: list[str] = []

    def on_load(target, context) -> None:
        loaded.append(target.id)

    event.listen(model, "load", on_load)  # each row the read brings into the session
    try:
        page, total = module.queue_page(session, org, limit=2, offset=4)
    finally:
        event.remove(model, "load", on_load)
    assert len(page) == 2 and total > 20
    assert sorted(loaded) == sorted(i[key] for i in page)  # the page's, not the whole queue's

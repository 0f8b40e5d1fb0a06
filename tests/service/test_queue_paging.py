"""The review queues and the webhook list page like every list (`limit`, `offset`, the same
envelope): a large organization's queue no longer comes back whole, and pages never overlap."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from alignment.imports import import_document
from alignment.models import WebhookSubscription
from alignment.settings import get_settings
from tests.factories import small_bundle

QUEUES = ("review-queue", "review-queue/check-ins")
ENVELOPE = {"items", "total", "limit", "offset"}


def _walk(client: TestClient, url: str, limit: int) -> tuple[list[dict], int]:
    """Every page of a list, `limit` at a time, and the total each page reported."""
    items: list[dict] = []
    totals = set()
    offset = 0
    while True:
        answer = client.get(url, params={"limit": limit, "offset": offset})
        assert answer.status_code == 200, answer.text
        page = answer.json()
        assert set(page) == ENVELOPE and (page["limit"], page["offset"]) == (limit, offset)
        totals.add(page["total"])
        items += page["items"]
        if len(page["items"]) < limit:
            break
        offset += limit
    [total] = totals
    return items, total


def test_each_review_queue_pages_in_its_order_without_overlap(
    client: TestClient, scored_sample: str
) -> None:
    for queue, key in zip(QUEUES, ("okr_id", "check_in_id"), strict=True):
        url = f"/orgs/{scored_sample}/{queue}"
        whole = client.get(url, params={"limit": get_settings().service.page_limit_max}).json()
        assert whole["total"] == len(whole["items"]) > 1, queue  # enough to page through
        paged, total = _walk(client, url, 1)
        assert total == whole["total"]
        assert [i[key] for i in paged] == [i[key] for i in whole["items"]], queue
        assert len({i[key] for i in paged}) == total  # no item twice, none left out


def test_a_page_of_a_queue_is_the_same_envelope_as_other_lists(
    client: TestClient, scored_sample: str
) -> None:
    for queue in QUEUES:
        first = client.get(f"/orgs/{scored_sample}/{queue}", params={"limit": 1}).json()
        assert set(first) == ENVELOPE and len(first["items"]) == 1
        assert (first["limit"], first["offset"]) == (1, 0) and first["total"] > 1
        default = client.get(f"/orgs/{scored_sample}/{queue}").json()
        assert (default["limit"], default["offset"]) == (50, 0)
        past = client.get(f"/orgs/{scored_sample}/{queue}", params={"offset": 10_000}).json()
        assert past["items"] == [] and past["total"] == first["total"]


def test_the_queues_refuse_a_page_past_the_largest_as_other_lists_do(
    client: TestClient, scored_sample: str
) -> None:
    largest = get_settings().service.page_limit_max
    for queue in QUEUES:
        for params in ({"limit": largest + 1}, {"limit": 0}, {"offset": -1}):
            answer = client.get(f"/orgs/{scored_sample}/{queue}", params=params)
            assert answer.status_code == 422, (queue, params, answer.text)
            [detail] = answer.json()["error"]["details"]
            assert detail["path"] == f"query.{next(iter(params))}"
            assert "unknown query parameter" not in detail["message"]  # a known one, refused
        above = client.get(f"/orgs/{scored_sample}/{queue}", params={"limit": largest + 1})
        assert "above the largest page" in above.json()["error"]["details"][0]["message"]


def test_the_webhook_list_pages_oldest_first(client: TestClient, session: Session) -> None:
    org = f"hookpage-{uuid.uuid4().hex[:8]}"
    import_document(session, small_bundle(org))
    subs = [
        WebhookSubscription(
            org_id=org,
            url=f"https://hooks.example/{n}",
            events=["report.completed"],
            secret="whsec_t",
            created_by="t",
        )
        for n in range(3)
    ]
    session.add_all(subs)
    session.flush()
    url = f"/orgs/{org}/webhooks"
    first = client.get(url, params={"limit": 1}).json()
    assert set(first) == ENVELOPE and (first["total"], first["limit"]) == (3, 1)
    assert "secret" not in first["items"][0]  # shown only when subscribing
    paged, total = _walk(client, url, 1)
    assert total == 3 and [s["id"] for s in paged] == [s.id for s in subs]
    assert client.get(url).json()["total"] == 3

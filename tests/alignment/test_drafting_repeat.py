"""Asking twice for the same suggestions, while the first identical draft still waits, answers
with that draft: two pending drafts with the same content would be two things to approve."""

from __future__ import annotations

from sqlalchemy import func, select

from alignment.drafting import approve
from alignment.drafting.draft import draft_suggestions
from alignment.drafting.offline import OfflineDrafter
from alignment.drafting.schemas import SuggestionRequest
from alignment.drafting.store import Draft
from tests.alignment import drafting_support as support
from tests.alignment.drafting_support import ORG

drafting_connection, dsession, llm_server = (
    support.drafting_connection,
    support.dsession,
    support.llm_server,
)


def _drafts(session) -> int:
    return session.scalar(select(func.count()).where(Draft.org_id == ORG)) or 0


def test_a_repeated_request_answers_with_the_identical_pending_draft(dsession, embedder):
    request = SuggestionRequest(team="T-9", objectives=["SO-9"])  # the default cycle
    before = _drafts(dsession)
    first = draft_suggestions(dsession, ORG, request, drafter=OfflineDrafter(), embedder=embedder)
    assert first.status == "pending" and not first.repeated
    again = draft_suggestions(dsession, ORG, request, drafter=OfflineDrafter(), embedder=embedder)
    assert again.id == first.id and again.repeated
    assert _drafts(dsession) == before + 1
    # Once decided, the draft no longer waits: asking again drafts anew.
    approve.reject_draft(dsession, ORG, first.id, decided_by="lead", reason="not now")
    third = draft_suggestions(dsession, ORG, request, drafter=OfflineDrafter(), embedder=embedder)
    assert third.id != first.id and third.status == "pending"
    assert _drafts(dsession) == before + 2


def test_another_request_is_no_repeat(dsession, embedder):
    one = SuggestionRequest(team="T-9", objectives=["SO-9"])
    other = SuggestionRequest(team="T-9", objectives=["SO-9", "SO-5"])
    first = draft_suggestions(dsession, ORG, one, drafter=OfflineDrafter(), embedder=embedder)
    second = draft_suggestions(dsession, ORG, other, drafter=OfflineDrafter(), embedder=embedder)
    assert second.id != first.id and not second.repeated


def test_a_paid_repeat_is_stored_so_its_tokens_count_against_the_budget(
    dsession, llm_server, embedder
) -> None:
    """An LLM drafter can write the same content twice (temperature 0, a caching gateway).
    Answering the repeat with its twin would drop the tokens it cost from the month's spend
    (store.tokens_spent reads stored drafts), and repeating one request would draft past the
    organization's budget."""
    from alignment.drafting import store
    from tests.alignment.drafting_support import llm_drafter, valid_suggestion

    request = SuggestionRequest(team="T-9", cycle="2026-Q4", objectives=["SO-9"])
    since = store.month_start()
    before = store.tokens_spent(dsession, ORG, since=since)
    drafter = llm_drafter(llm_server, token_budgets={ORG: 25_000})
    ids = []
    for _ in range(2):
        llm_server.reply(valid_suggestion(), usage=(9000, 1000))
        ids.append(draft_suggestions(dsession, ORG, request, drafter=drafter, embedder=embedder).id)
    assert len(llm_server.requests) == 2 and ids[0] != ids[1]
    assert store.tokens_spent(dsession, ORG, since=since) - before == 20_000

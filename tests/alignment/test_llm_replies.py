"""Provider replies the LLM layer must survive: cut short, refused, not a chat completion at all,
trickled out byte by byte, without usage, with NaN. Over real HTTP (LangChain `ChatOpenAI` ->
openai client) to the tests' scripted OpenAI-compatible server; drafts and adjudication verdicts
land in the embedded PostgreSQL."""

from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from alignment.adapters.openai_chat import OpenAIChatModel
from alignment.adjudicate import Adjudicator, Case, close_calls
from alignment.drafting import store
from alignment.drafting.draft import draft_suggestions
from alignment.drafting.offline import OfflineDrafter
from alignment.drafting.schemas import SuggestionRequest
from alignment.embed import VectorCache
from alignment.errors import Unavailable
from alignment.models import LlmUsage, ScoredLink
from alignment.scoring.link_scores import score_links
from alignment.scoring.org_documents import load_docs
from alignment.scoring.stage import score_organization
from alignment.settings import LLMSettings
from tests.alignment import drafting_support as support
from tests.alignment.drafting_support import (
    MODEL,
    ORG,
    FakeOpenAI,
    Reply,
    llm_drafter,
    valid_suggestion,
)
from tests.conftest import make_client

drafting_connection, dsession, llm_server = (
    support.drafting_connection,
    support.dsession,
    support.llm_server,
)

REQUEST = SuggestionRequest(team="T-9", cycle="2026-Q4", objectives=["SO-9"])


def _suggest(session: Session, server: FakeOpenAI, embedder, **settings) -> store.Draft:
    return draft_suggestions(
        session, ORG, REQUEST, drafter=llm_drafter(server, **settings), embedder=embedder
    )


def _drafts(session: Session) -> int:
    return session.scalar(select(func.count()).where(store.Draft.org_id == ORG)) or 0


def _completion(content: str, **changes) -> bytes:
    """A chat completion body written out by hand, for what `Reply` cannot say."""
    body = {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": 0,
        "model": MODEL,
        "choices": [
            {
                "index": 0,
                "finish_reason": "stop",
                "message": {"role": "assistant", "content": content},
            }
        ],
        "usage": {"prompt_tokens": 5, "completion_tokens": 5, "total_tokens": 10},
    }
    body.update(changes)
    return json.dumps({k: v for k, v in body.items() if v is not None}).encode()


# --- replies stopped short: a failed draft with the reason, the tokens counted ---------------


@pytest.mark.parametrize(
    ("finish_reason", "reason"),
    [
        ("length", "the model's output was cut off at max_tokens"),
        ("content_filter", "the provider's content filter stopped the model's output"),
    ],
)
def test_a_reply_stopped_short_is_a_failed_draft_with_its_reason_and_tokens(
    dsession, llm_server, embedder, finish_reason, reason
):
    cut = json.dumps(valid_suggestion())[:60]
    llm_server.reply(cut, finish_reason=finish_reason, usage=(3000, 800))
    before = _drafts(dsession)

    draft = _suggest(dsession, llm_server, embedder)

    assert draft.status == "failed" and _drafts(dsession) == before + 1
    [attempt] = draft.attempts
    [problem] = attempt["problems"]
    assert problem["gate"] == "schema" and problem["message"].startswith(reason)
    assert attempt["raw"] == cut  # kept for the audit trail
    assert draft.total_tokens == 3800  # paid for, so counted against the budget
    assert len(llm_server.requests) == 1  # no repair: it would be stopped the same way
    assert attempt["repair_skipped"].startswith(reason)


def test_a_refusal_is_recorded_as_the_reason_and_not_repaired(dsession, llm_server, embedder):
    llm_server.reply(None, refusal="I can't help with that request.", usage=(1500, 12))

    draft = _suggest(dsession, llm_server, embedder)

    assert draft.status == "failed"
    [attempt] = draft.attempts
    assert attempt["problems"] == [
        {
            "gate": "schema",
            "path": "$",
            "message": "the model refused: I can't help with that request.",
        }
    ]
    assert len(llm_server.requests) == 1 and draft.total_tokens == 1512


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"<html><body>502 Bad Gateway</body></html>", id="html"),
        pytest.param(_completion("{}", choices=[]), id="no-choices"),
    ],
)
def test_a_reply_that_is_no_chat_completion_is_unavailable_and_stores_nothing(
    dsession, llm_server, embedder, body
):
    llm_server.script.append(Reply(body=body))
    before = _drafts(dsession)

    with pytest.raises(Unavailable) as caught:
        _suggest(dsession, llm_server, embedder, max_retries=0)

    assert caught.value.message == (
        "the LLM provider sent a reply that is not a chat completion; nothing was drafted or stored"
    )
    assert _drafts(dsession) == before


# --- a hard deadline per HTTP call -----------------------------------------------------------


def test_a_server_trickling_its_reply_meets_a_hard_deadline(dsession, llm_server, embedder):
    # ~750 bytes, 16 every 0.2 s: each gap is well inside the read timeout, the whole is not.
    llm_server.reply(valid_suggestion(), trickle_s=0.2)
    before, started = _drafts(dsession), time.monotonic()

    with pytest.raises(Unavailable) as caught:
        _suggest(dsession, llm_server, embedder, timeout_s=1.0, max_retries=0)

    assert time.monotonic() - started < 3
    assert "did not answer within 1 s" in caught.value.message
    assert _drafts(dsession) == before


def test_the_deadline_is_per_try_so_a_retry_still_gets_its_own(dsession, llm_server, embedder):
    llm_server.reply(valid_suggestion(), trickle_s=0.2)
    llm_server.reply(valid_suggestion())

    draft = _suggest(dsession, llm_server, embedder, timeout_s=1.0, max_retries=1)

    assert draft.status == "pending" and len(llm_server.requests) == 2


# --- a failed repair keeps the paid first attempt --------------------------------------------


def test_a_provider_failure_on_the_repair_keeps_the_paid_first_attempt(
    dsession, llm_server, embedder
):
    llm_server.reply("not json", usage=(9000, 1000))
    llm_server.reply(status=500)
    llm_server.reply(status=503)
    before = _drafts(dsession)
    spent = store.tokens_spent(dsession, ORG, since=store.month_start())

    draft = _suggest(dsession, llm_server, embedder, max_retries=1)

    assert draft.status == "failed" and _drafts(dsession) == before + 1
    assert draft.total_tokens == 10000
    assert store.tokens_spent(dsession, ORG, since=store.month_start()) == spent + 10000
    [attempt] = draft.attempts
    assert "not valid JSON" in attempt["problems"][0]["message"]
    assert attempt["repair_skipped"] == "the LLM provider answered HTTP 503 (after 1 retry)"
    assert len(llm_server.requests) == 3


# --- NaN and infinities ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "path", "message"),
    [
        ("NaN", "$", "not valid JSON: NaN is not a JSON number"),
        ("-Infinity", "$", "not valid JSON: -Infinity is not a JSON number"),
        ("1e400", "$.suggestions[0].key_results[0].target", "Input should be a finite number"),
    ],
)
def test_nan_and_infinity_in_a_reply_fail_the_schema_gate(
    dsession, llm_server, embedder, number, path, message
):
    raw = json.dumps(valid_suggestion()).replace('"target": 3.8', f'"target": {number}')
    assert number in raw
    llm_server.reply(raw)
    llm_server.reply(raw)

    draft = _suggest(dsession, llm_server, embedder)
    dsession.flush()  # the row is written: nothing in it that jsonb refuses

    assert draft.status == "failed" and draft.payload is None
    for attempt in draft.attempts:
        [problem] = attempt["problems"]
        assert (problem["gate"], problem["path"]) == ("schema", path)
        assert problem["message"].startswith(message)


def test_an_edit_with_nan_is_refused_at_approval_with_its_path(dsession, embedder):
    request = SuggestionRequest(team="T-13", cycle="2026-Q4", objectives=["SO-11"])
    draft = draft_suggestions(dsession, ORG, request, drafter=OfflineDrafter(), embedder=embedder)
    assert draft.status == "pending"
    edited = {k: v for k, v in draft.payload.items() if k != "notice"}
    edited["suggestions"][0]["key_results"][0]["target"] = float("nan")
    body = json.dumps({"edited": edited})  # Python writes NaN, as a careless client might
    assert "NaN" in body

    with make_client(dsession, embedder) as api:
        refused = api.post(
            f"/orgs/{ORG}/drafts/{draft.id}/approve",
            content=body,
            headers={"content-type": "application/json"},
        )

    assert refused.status_code == 422, refused.text
    details = refused.json()["error"]["details"]
    assert {"path": "$.edited.suggestions[0].key_results[0].target",
            "message": "Input should be a finite number"} in details  # fmt: skip


# --- usage the provider did not report --------------------------------------------------------


def test_a_reply_without_usage_is_charged_an_estimate(dsession, llm_server, embedder):
    content = json.dumps(valid_suggestion())
    llm_server.script.append(Reply(body=_completion(content, usage=None)))

    draft = _suggest(dsession, llm_server, embedder)

    sent = llm_server.bodies()[0]["messages"]
    # alignment.llm_budget.estimate_tokens: ~4 characters per token.
    expected = (sum(len(m["content"]) for m in sent) // 4 + 1, len(content) // 4 + 1)
    assert (draft.input_tokens, draft.output_tokens) == expected
    assert draft.status == "pending"


# --- adjudication: an unusable reply is one invalid opinion, never the end of scoring ---------


def _adjudicator(server: FakeOpenAI, max_calls: int) -> Adjudicator:
    settings = LLMSettings(
        base_url=server.url, api_key="test-key", model=MODEL, timeout_s=3.0, max_retries=0
    )
    return Adjudicator(OpenAIChatModel(settings), max_calls=max_calls)


def _cases(session: Session, org_id: str, embedder) -> list[Case]:
    docs = load_docs(session, org_id)
    links = score_links(docs.objectives, docs.okrs, embed=VectorCache(session, org_id, embedder))
    return close_calls(links)


def _notes(session: Session, org_id: str, okr_id: str) -> dict[str, ScoredLink]:
    rows = session.scalars(
        select(ScoredLink).where(ScoredLink.org_id == org_id, ScoredLink.okr_id == okr_id)
    )
    return {r.objective_id: r for r in rows}


@pytest.mark.parametrize(
    "unusable",
    [
        pytest.param({"content": '{"verdicts": [{"objective_id": "', "finish_reason": "length"},
                     id="cut-off"),
        pytest.param({"content": None, "refusal": "I won't judge this."}, id="refusal"),
    ],
)  # fmt: skip
def test_an_unusable_adjudication_reply_is_an_invalid_opinion_and_scoring_goes_on(
    session, scored_sample, embedder, llm_server, unusable
):
    org = scored_sample
    first, second = _cases(session, org, embedder)[:2]
    labels = {o: r.label for o, r in _notes(session, org, first.okr_id).items()}
    llm_server.script.append(Reply(usage=(400, 800), **unusable))
    verdicts = [{"objective_id": o, "serves": False, "reason": "r"} for o in second.candidates]
    llm_server.reply({"verdicts": verdicts}, usage=(380, 50))

    summary = score_organization(
        session, org, embedder=embedder, adjudicator=_adjudicator(llm_server, 2)
    )

    outcome = summary.adjudication
    assert (outcome["asked"], outcome["invalid"], outcome["error"]) == (2, 1, None)
    after = _notes(session, org, first.okr_id)
    assert {o: r.label for o, r in after.items()} == labels  # the engine's labels stand
    assert all(r.adjudication is None for r in after.values())
    assert all(r.adjudication for o, r in _notes(session, org, second.okr_id).items()
               if o in second.candidates)  # fmt: skip
    spent = session.execute(
        select(func.count(), func.sum(LlmUsage.input_tokens + LlmUsage.output_tokens)).where(
            LlmUsage.org_id == org
        )
    ).one()
    assert tuple(spent) == (2, 1200 + 430)  # the unusable reply was paid for too


def test_a_reply_that_is_no_chat_completion_stops_adjudication_not_scoring(
    session, scored_sample, embedder, llm_server
):
    llm_server.script.append(Reply(body=b"<html>502 Bad Gateway</html>"))

    summary = score_organization(
        session, scored_sample, embedder=embedder, adjudicator=_adjudicator(llm_server, 2)
    )

    outcome = summary.adjudication
    assert outcome["asked"] == 0 and outcome["skipped"] > 0
    assert "sent a reply that is not a chat completion" in outcome["error"]
    assert "stored without the LLM's opinion" in outcome["error"]

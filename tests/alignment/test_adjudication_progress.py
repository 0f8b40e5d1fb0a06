"""A score job with LLM adjudication says which phase it is in: every text is embedded first,
then the model calls are counted out of the calls it makes, and the job ends complete.

The model is the scripted OpenAI-compatible server of the adjudication tests, over real HTTP;
while it answers a call it records the progress the job last stored, which is what
`GET /jobs/{id}` shows at that moment."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select, update

from alignment.jobs import execute as executing
from alignment.jobs import views
from alignment.jobs.enqueue import enqueue
from alignment.models import CheckIn, Job, Okr
from alignment.settings import get_settings
from tests.alignment import drafting_support as support
from tests.alignment.drafting_support import MODEL, Reply
from tests.jobs_support import progress_seen

llm_server = support.llm_server

Step = tuple[int, int, str]
__all__ = ["progress_seen"]  # a fixture, used by name
# The phases' labels, as docs/jobs.md gives them to API clients.
EMBEDDING, ADJUDICATING = "embedding texts", "adjudicating close calls"


@pytest.fixture
def llm_configured(llm_server, monkeypatch) -> Iterator[support.FakeOpenAI]:
    monkeypatch.setenv("GOLDENTHREAD_LLM_BASE_URL", llm_server.url)
    monkeypatch.setenv("GOLDENTHREAD_LLM_MODEL", MODEL)
    monkeypatch.setenv("GOLDENTHREAD_LLM_API_KEY", "test-key")
    monkeypatch.setenv("GOLDENTHREAD_LLM_MAX_RETRIES", "0")
    get_settings.cache_clear()
    yield llm_server
    get_settings.cache_clear()


@pytest.fixture
def stored(monkeypatch) -> list[Step]:
    """What the job wrote to its row, in order: what a reader of the job saw at each moment."""
    written: list[Step] = []
    original = executing._write_progress

    def recording(session: Any, job_id: int, done: int, total: int, label: str) -> None:
        original(session, job_id, done, total, label)
        written.append((done, total, label))

    monkeypatch.setattr(executing, "_write_progress", recording)
    return written


def _serve_first_candidate(stored: list[Step], during_calls: list[Step | None]):
    def respond(body: dict[str, Any]) -> Reply:
        during_calls.append(stored[-1] if stored else None)
        user = body["messages"][-1]["content"]
        candidates = json.loads(user.split('<data name="candidates">')[1].split("</data>")[0])
        verdicts = [
            {"objective_id": c["id"], "serves": i == 0, "reason": "r"}
            for i, c in enumerate(candidates)
        ]
        return Reply(json.dumps({"verdicts": verdicts}))

    return respond


def _edit_texts(session, org_id: str) -> None:
    """An OKR and a check-in reworded, so both embedding passes (links, then check-ins) run."""
    okr_id = session.scalar(select(Okr.id).where(Okr.org_id == org_id).order_by(Okr.id))
    session.execute(
        update(Okr)
        .where(Okr.org_id == org_id, Okr.id == okr_id)
        .values(title="Halve the time from order to delivery")
    )
    check_in = select(CheckIn.id).where(CheckIn.org_id == org_id).order_by(CheckIn.id).limit(1)
    session.execute(
        update(CheckIn)
        .where(CheckIn.org_id == org_id, CheckIn.id == check_in.scalar_subquery())
        .values(text="Spent the week on the warehouse move, not on this key result.")
    )


@pytest.mark.parametrize("max_calls", [3, 100])
def test_a_score_job_counts_its_model_calls_while_it_adjudicates(
    session, scored_sample, jobs, llm_configured, progress_seen, stored, max_calls
) -> None:
    org = scored_sample
    _edit_texts(session, org)
    during_calls: list[Step | None] = []
    llm_configured.responder = _serve_first_candidate(stored, during_calls)
    params = {"adjudicate": True, "adjudicate_max_calls": max_calls}
    job_id = enqueue(session, org, "score", params, requested_by="t").job.id

    jobs.drain()

    job = session.get(Job, job_id, populate_existing=True)
    assert job.status == "succeeded", job.error
    outcome = job.result["adjudication"]
    calls = outcome["asked"]
    assert calls == len(llm_configured.requests) > 0 and outcome["error"] is None
    # Capped, the rest are skipped; uncapped, every close call is asked.
    assert (outcome["skipped"] > 0) == (calls == max_calls)

    # While each call runs, the stored progress is the LLM phase, counting the calls already
    # answered out of the calls the job makes, never going back.
    assert len(during_calls) == calls
    assert all(p is not None and p[2] == ADJUDICATING for p in during_calls), during_calls
    assert all(p[1] == calls for p in during_calls)
    counts = [p[0] for p in during_calls]
    assert counts == sorted(counts) and all(c <= n for n, c in enumerate(counts))
    assert during_calls[0] == (0, calls, ADJUDICATING)

    # Phase by phase: every text embedded first (both passes on one count), then the calls.
    labels = [label for _, _, label in progress_seen]
    first_call = labels.index(ADJUDICATING)
    assert set(labels[:first_call]) == {EMBEDDING}
    assert set(labels[first_call:]) == {ADJUDICATING}
    embedding = progress_seen[:first_call]
    done = [d for d, _, _ in embedding]
    assert (
        done == sorted(done)
        and embedding[-1][0] == embedding[-1][1] == job.result["texts_embedded"]
    )
    assert progress_seen[first_call:] == [(n, calls, ADJUDICATING) for n in range(calls + 1)]

    # Finished: complete, as every succeeded job shows it.
    assert stored[-1] == (calls, calls, "done")
    assert views.render(job)["progress"] == {"done": calls, "total": calls, "label": "done"}


def test_a_pass_with_no_call_to_make_keeps_the_embedding_count(
    session, scored_sample, jobs, llm_configured, progress_seen
) -> None:
    """No call allowed (every close call skipped): no empty LLM phase is shown, and the
    finished job counts its texts, as a job without adjudication does."""
    org = scored_sample
    _edit_texts(session, org)
    params = {"adjudicate": True, "adjudicate_max_calls": 0}
    job_id = enqueue(session, org, "score", params, requested_by="t").job.id

    jobs.drain()

    job = session.get(Job, job_id, populate_existing=True)
    assert job.status == "succeeded", job.error
    assert job.result["adjudication"]["skipped"] > 0 and llm_configured.requests == []
    assert {label for _, _, label in progress_seen} == {EMBEDDING}
    embedded = job.result["texts_embedded"]
    assert views.render(job)["progress"] == {"done": embedded, "total": embedded, "label": "done"}

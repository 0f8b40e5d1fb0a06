"""A drafting job cancelled while its model call is in flight: it stops waiting for the reply,
ends `cancelled` at once and stores no draft, and the call it gave up on ends with the reply
(never later than its own timeout). Real HTTP to the scripted OpenAI-compatible server, which
answers only after a long delay; the job runs with the worker's own code and transactions.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, delete, func, select, text
from sqlalchemy.orm import Session

from alignment import db
from alignment.access.principal import Principal, Role
from alignment.drafting.store import Draft
from alignment.jobs.cancel import Cancelled, cancel
from alignment.jobs.enqueue import enqueue
from alignment.jobs.execute import Services, execute, production_scope
from alignment.models import Job
from alignment.telemetry import LLM_CALLS
from tests.alignment.drafting_support import FakeOpenAI, llm_drafter, valid_suggestion

DELAY_S = 12.0  # the model's answer comes this late
TIMEOUT_S = 30.0  # the call's own timeout: longer than the delay, so only the cancel ends it
PROMPT_S = 3.0  # "at once": a poll every 0.5 s, a cancel read, the rollback, with room to spare
CALL_THREADS = ("abandonable-call", "llm-request")


def _wait_for(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


def _drafts(engine: Engine, org_id: str) -> int:
    with Session(engine) as s:
        return s.scalar(select(func.count()).select_from(Draft).where(Draft.org_id == org_id)) or 0


def _call_threads(known: set[int]) -> list[threading.Thread]:
    return [
        t
        for t in threading.enumerate()
        if t.name in CALL_THREADS and t.ident not in known and t.is_alive()
    ]


@pytest.fixture
def slow_model() -> Iterator[FakeOpenAI]:
    server = FakeOpenAI()
    server.reply(valid_suggestion(), delay=DELAY_S)
    yield server
    server.close()


@pytest.fixture
def draft_job(engine: Engine, scored_sample: str) -> Iterator[int]:
    """A drafting job of the shared sample, committed, as `POST .../drafts/suggestions` makes
    it; its row and queue entry go afterwards (no worker here ever takes the entry)."""
    with Session(engine) as s, s.begin():
        params = {"team": "T-9", "objectives": ["SO-9"]}
        job = enqueue(s, scored_sample, "draft_suggestions", params, requested_by="test").job
        job_id, entry = job.id, job.queue_job_id
    yield job_id
    with Session(engine) as s, s.begin():
        s.execute(delete(Job).where(Job.id == job_id))
        s.execute(text("delete from procrastinate_jobs where id = :id"), {"id": entry})


# With retries, the openai client would ask again once the abandoned request ends: the
# transport refuses a retry of a call nobody waits for (openai_chat.DeadlineTransport).
@pytest.mark.parametrize("max_retries", [0, 2])
def test_a_cancel_during_the_model_call_ends_the_job_at_once_and_stores_no_draft(
    engine: Engine,
    scored_sample: str,
    embedder: Any,
    slow_model: FakeOpenAI,
    draft_job: int,
    max_retries: int,
) -> None:
    before = _drafts(engine, scored_sample)
    counted = {o: _calls(o) for o in ("abandoned", "APITimeoutError")}
    known = {t.ident for t in threading.enumerate() if t.ident is not None}
    drafter = llm_drafter(slow_model, timeout_s=TIMEOUT_S, max_retries=max_retries)
    services = Services(embedder, drafter)
    ended: dict[str, Any] = {}

    def run() -> None:
        try:
            execute(draft_job, attempt=0, max_attempts=1, services=services,
                    scope=production_scope)  # fmt: skip
        except BaseException as exc:  # what the worker would see
            ended["raised"] = exc
        ended["at"] = time.monotonic()

    runner = threading.Thread(target=run, daemon=True, name="test-job")
    runner.start()
    _wait_for(lambda: len(slow_model.requests) == 1, 120, "the model to be asked")
    time.sleep(1.0)  # well inside the call: the job has polled a time or two, and goes on
    assert runner.is_alive() and "raised" not in ended
    asked_at = time.monotonic()
    with db.transaction() as s:
        admin = Principal(name="Ada (key adaadaad)", role=Role.admin, org_id=scored_sample)
        assert cancel(s, draft_job, principal=admin).outcome == "requested"
    runner.join(timeout=DELAY_S)

    assert not runner.is_alive(), "the job still waits for the model"
    assert isinstance(ended.get("raised"), Cancelled), ended
    took = ended["at"] - asked_at
    assert took < PROMPT_S, f"the job took {took:.1f} s to notice the cancel"
    with Session(engine) as s:
        job = s.get(Job, draft_job)
        assert job is not None
        assert (job.status, job.result, job.error) == ("cancelled", None, None)
        assert job.cancelled_by == "Ada (key adaadaad)"
    assert _drafts(engine, scored_sample) == before
    # The job's own call thread is gone at once; the HTTP request it gave up on ends with the
    # reply (its connection closed), within the call's own timeout, and stores nothing.
    _wait_for(
        lambda: all(t.name != "abandonable-call" for t in _call_threads(known)),
        PROMPT_S,
        "the abandoned call's thread to end",
    )
    _wait_for(lambda: not _call_threads(known), TIMEOUT_S, "the abandoned request to end")
    assert len(slow_model.requests) == 1  # given up, never asked again
    assert _drafts(engine, scored_sample) == before
    # Counted as abandoned, not as the provider timing out.
    assert _calls("abandoned") == counted["abandoned"] + 1
    assert _calls("APITimeoutError") == counted["APITimeoutError"]


def _calls(outcome: str) -> float:
    return LLM_CALLS.labels(outcome)._value.get()

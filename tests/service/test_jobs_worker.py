"""Real workers on the real queue: separate processes on the test database, as in production.

Each job runs once with two workers; a worker killed (SIGKILL) half-way through an embedding
job or a drafting job leaves nothing behind, and the next worker finishes the job; a provider
that stays down fails the drafting job with its reason after the retries, storing no draft;
webhook deliveries are signed and retried.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from alignment import repository
from alignment.drafting.store import Draft
from alignment.imports import import_document
from alignment.jobs import enqueue
from alignment.models import Job, ScoredLink, TextEmbedding, WebhookDelivery
from alignment.settings import get_settings
from alignment.webhooks import emit, signing
from alignment.webhooks.subscriptions import create as subscribe
from benchmarks.synthetic import make_bundle
from tests.alignment.drafting_support import FakeOpenAI, Reply, valid_suggestion
from tests.factories import small_bundle

REPO = Path(__file__).resolve().parents[2]
FAST = {
    "GOLDENTHREAD_JOBS_HEARTBEAT_S": "0.5",
    "GOLDENTHREAD_JOBS_STALLED_AFTER_S": "3",
    "GOLDENTHREAD_JOBS_BACKOFF_S": "0",
    "GOLDENTHREAD_WEBHOOKS_ALLOW_PRIVATE": "true",
}


def start_worker(*args: str, **env: str) -> subprocess.Popen:
    environment = {**os.environ, **FAST, **env, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [sys.executable, "-m", "service.cli", "worker", *args],
        cwd=REPO,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def wait_for(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def job_row(engine: Engine, job_id: int) -> Job:
    with Session(engine, expire_on_commit=False) as s:
        job = s.get(Job, job_id)
        assert job is not None
        return job


def stop(worker: subprocess.Popen) -> str:
    if worker.poll() is None:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
    return worker.stderr.read().decode(errors="replace") if worker.stderr else ""


@pytest.fixture
def org(engine: Engine) -> Iterator[str]:
    org_id = f"jobs-{uuid.uuid4().hex[:8]}"
    with Session(engine) as s, s.begin():
        import_document(s, small_bundle(org_id))
    yield org_id
    with Session(engine) as s, s.begin():
        repository.delete_org(s, org_id)


class Receiver:
    """A subscriber on localhost: records every delivery; answers from a script, then 200."""

    def __init__(self) -> None:
        self.got: list[tuple[dict[str, str], bytes]] = []
        self.script: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                receiver.got.append((dict(self.headers), body))
                status = receiver.script.pop(0) if receiver.script else 200
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_port}/hook"


@pytest.fixture
def receiver(monkeypatch) -> Iterator[Receiver]:
    monkeypatch.setenv("GOLDENTHREAD_WEBHOOKS_ALLOW_PRIVATE", "true")
    get_settings.cache_clear()
    made = Receiver()
    yield made
    made.httpd.shutdown()
    get_settings.cache_clear()


def test_two_workers_run_every_job_once_and_deliveries_are_signed(engine, org, receiver):
    with Session(engine, expire_on_commit=False) as s, s.begin():
        sub, secret = subscribe(
            s, org, url=receiver.url, events=["report.completed"], created_by="test"
        )
        for n in range(12):
            emit(s, org, "report.completed", {"n": n})
    workers = [start_worker("--until-empty") for _ in range(2)]
    for w in workers:
        assert w.wait(timeout=120) == 0, stop(w)
    ids = [json.loads(body)["id"] for _, body in receiver.got]
    assert len(ids) == 12 and len(set(ids)) == 12  # each delivery once, none twice
    headers, body = receiver.got[0]
    assert signing.verify(secret, headers["X-GoldenThread-Signature"], body)
    assert not signing.verify("whsec_wrong", headers["X-GoldenThread-Signature"], body)
    assert headers["X-GoldenThread-Event"] == "report.completed"
    with Session(engine) as s:
        rows = s.execute(
            select(Job.status, Job.attempts).where(Job.org_id == org, Job.kind == "webhook")
        ).all()
        assert sorted(rows) == [("succeeded", 1)] * 12
        delivered = s.scalars(
            select(WebhookDelivery.status).where(WebhookDelivery.subscription_id == sub.id)
        ).all()
        assert delivered == ["delivered"] * 12


def test_a_failed_delivery_is_retried_and_logged(engine, org, receiver):
    receiver.script = [500]
    with Session(engine, expire_on_commit=False) as s, s.begin():
        sub, _ = subscribe(s, org, url=receiver.url, events=["draft.decided"], created_by="t")
        emit(s, org, "draft.decided", {"draft_id": "D-1"})
    worker = start_worker()
    try:
        wait_for(lambda: len(receiver.got) == 2, 120, "the retried delivery")
        time.sleep(1)  # its result is committed right after the answer
    finally:
        stop(worker)
    assert len(receiver.got) == 2
    with Session(engine) as s:
        delivery = s.scalars(
            select(WebhookDelivery).where(WebhookDelivery.subscription_id == sub.id)
        ).one()
        assert (delivery.status, delivery.attempts, delivery.last_status_code) == (
            "delivered",
            2,
            200,
        )


def test_sigkill_during_an_embedding_job_then_the_next_worker_finishes_it(engine):
    org_id = f"kill-{uuid.uuid4().hex[:8]}"
    with Session(engine) as s, s.begin():
        import_document(s, make_bundle(org_id=org_id, okrs=1500, seed=7))
        job_id = enqueue(s, org_id, "score", {"adjudicate": False}, requested_by="test").job.id
    try:
        first = start_worker()
        wait_for(
            lambda: (job_row(engine, job_id).progress_done or 0) > 0,
            120,
            "the embedding to start",
        )
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        killed = job_row(engine, job_id)
        assert killed.status == "running" and killed.result is None
        with Session(engine) as s:  # the killed transaction left nothing behind
            assert s.scalar(select(func.count()).select_from(ScoredLink).where(
                ScoredLink.org_id == org_id)) == 0  # fmt: skip
        second = start_worker()
        try:
            wait_for(lambda: job_row(engine, job_id).status == "succeeded", 240, "the retry")
        finally:
            log = stop(second)
        done = job_row(engine, job_id)
        assert done.attempts == 2, log
        with Session(engine) as s:
            vectors = s.scalar(
                select(func.count())
                .select_from(TextEmbedding)
                .where(TextEmbedding.org_id == org_id)
            )
            distinct = s.scalar(
                text(
                    "select count(distinct (model, content_hash)) from text_embeddings "
                    "where org_id = :o"
                ),
                {"o": org_id},
            )
            assert vectors == distinct > 1500  # every text once, none twice
            assert done.result["texts_embedded"] == vectors
    finally:
        with Session(engine) as s, s.begin():
            repository.delete_org(s, org_id)


@pytest.fixture
def llm() -> Iterator[FakeOpenAI]:
    server = FakeOpenAI()
    yield server
    server.close()


def _llm_env(server: FakeOpenAI) -> dict[str, str]:
    return {
        "GOLDENTHREAD_LLM_BASE_URL": server.url,
        "GOLDENTHREAD_LLM_API_KEY": "test-key",
        "GOLDENTHREAD_LLM_MODEL": "test-model",
        "GOLDENTHREAD_LLM_MAX_RETRIES": "0",
        "GOLDENTHREAD_LLM_TIMEOUT_S": "30",
    }


def _draft_job(engine: Engine, org_id: str) -> int:
    with Session(engine) as s, s.begin():
        params = {"team": "T-9", "objectives": ["SO-9"]}
        return enqueue(s, org_id, "draft_suggestions", params, requested_by="test").job.id


def _drafts(engine: Engine, org_id: str) -> int:
    with Session(engine) as s:
        return s.scalar(select(func.count()).select_from(Draft).where(Draft.org_id == org_id))


def test_sigkill_during_a_drafting_job_then_exactly_one_draft(engine, scored_sample, llm):
    llm.reply(valid_suggestion(), delay=25)  # the first worker dies waiting for this
    llm.reply(valid_suggestion())
    before = _drafts(engine, scored_sample)
    job_id = _draft_job(engine, scored_sample)
    first = start_worker(**_llm_env(llm))
    wait_for(lambda: len(llm.requests) == 1, 120, "the model to be asked")
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    assert _drafts(engine, scored_sample) == before
    second = start_worker(**_llm_env(llm))
    try:
        wait_for(lambda: job_row(engine, job_id).status == "succeeded", 120, "the retry")
    finally:
        log = stop(second)
    done = job_row(engine, job_id)
    assert done.attempts == 2, log
    assert _drafts(engine, scored_sample) == before + 1
    assert done.result["status"] == "pending" and len(llm.requests) == 2


def test_provider_down_retries_then_fails_with_the_reason_and_no_draft(engine, scored_sample, llm):
    llm.responder = lambda body: Reply("", status=503)
    before = _drafts(engine, scored_sample)
    job_id = _draft_job(engine, scored_sample)
    worker = start_worker(GOLDENTHREAD_JOBS_MAX_ATTEMPTS="2", **_llm_env(llm))
    try:
        wait_for(lambda: job_row(engine, job_id).status == "failed", 120, "the last attempt")
    finally:
        stop(worker)
    failed = job_row(engine, job_id)
    assert failed.status == "failed" and failed.attempts == 3
    assert failed.error.startswith("unavailable:"), failed.error
    assert _drafts(engine, scored_sample) == before
    assert len(llm.requests) == 3

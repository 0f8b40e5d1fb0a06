"""Shared by the drafting tests: a scripted OpenAI-compatible server and a scored sample org.

`FakeOpenAI` is a real HTTP server on 127.0.0.1 (a random port) that implements
POST /v1/chat/completions: each test scripts its replies (content, status, delay; a finish reason,
a refusal, a raw body, a body trickled out slowly) and reads back the JSON bodies it received.
The drafter under test talks to it through the real `openai` client inside LangChain's
`ChatOpenAI`, over real HTTP.

The sample organization is imported under its own id and scored once per test run, inside an
outer transaction that is never committed; each test runs in a savepoint rolled back after it.
"""

from __future__ import annotations

import copy
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session

from alignment.adapters.openai_chat import OpenAIChatModel
from alignment.bundle.io import load_file
from alignment.drafting.drafters import LlmDrafter
from alignment.imports import import_document
from alignment.scoring.stage import score_organization
from alignment.settings import LLMSettings
from tests.conftest import SAMPLE_BUNDLE, make_client

ORG = "drafting-sample"
MODEL = "gt-test-model"


@dataclass
class Reply:
    content: str | None = None
    status: int = 200
    delay: float = 0.0
    usage: tuple[int, int] = (120, 80)
    headers: dict[str, str] = field(default_factory=dict)
    finish_reason: str = "stop"
    refusal: str | None = None  # the message's `refusal` (content is then usually None)
    body: bytes | None = None  # sent as is instead of a chat completion (malformed replies)
    trickle_s: float = 0.0  # seconds between 16-byte pieces of the body (a stalling server)


class FakeOpenAI:
    def __init__(self) -> None:
        self.script: list[Reply] = []
        # Answers whatever the script does not: request body in, reply out.
        self.responder: Callable[[dict[str, Any]], Reply] | None = None
        self.requests: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))))
                with server.lock:
                    server.requests.append({"path": self.path, "body": body})
                    if server.script:
                        reply = server.script.pop(0)
                    elif server.responder:
                        reply = server.responder(body)
                    else:
                        reply = Reply("", status=599)
                time.sleep(reply.delay)
                self._answer(reply, body)

            def _answer(self, reply: Reply, body: dict[str, Any]) -> None:
                if reply.body is not None:
                    self._send(reply, reply.body)
                    return
                if reply.status == 200:
                    message = {"role": "assistant", "content": reply.content}
                    if reply.refusal is not None:
                        message["refusal"] = reply.refusal
                    payload = {
                        "id": "chatcmpl-test",
                        "object": "chat.completion",
                        "created": 0,
                        "model": body.get("model"),
                        "choices": [
                            {
                                "index": 0,
                                "finish_reason": reply.finish_reason,
                                "message": message,
                            }
                        ],
                        "usage": {
                            "prompt_tokens": reply.usage[0],
                            "completion_tokens": reply.usage[1],
                            "total_tokens": sum(reply.usage),
                        },
                    }
                else:
                    payload = {"error": {"message": "scripted failure", "type": "server_error"}}
                self._send(reply, json.dumps(payload).encode())

            def _send(self, reply: Reply, data: bytes) -> None:
                try:
                    self.send_response(reply.status)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(data)))
                    for k, v in reply.headers.items():
                        self.send_header(k, v)
                    self.end_headers()
                    if not reply.trickle_s:
                        self.wfile.write(data)
                        return
                    for start in range(0, len(data), 16):
                        self.wfile.write(data[start : start + 16])
                        self.wfile.flush()
                        time.sleep(reply.trickle_s)
                except OSError:
                    pass  # the client gave up (timeout test)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_port}/v1"

    def reply(self, content: Any = None, **kwargs: Any) -> None:
        text = content if isinstance(content, str) or content is None else json.dumps(content)
        self.script.append(Reply(text, **kwargs))

    def bodies(self) -> list[dict[str, Any]]:
        return [r["body"] for r in self.requests]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def llm_server() -> Iterator[FakeOpenAI]:
    server = FakeOpenAI()
    yield server
    server.close()


def llm_drafter(server: FakeOpenAI, **overrides: Any) -> LlmDrafter:
    settings = LLMSettings(
        base_url=server.url,
        api_key="test-key",
        model=MODEL,
        timeout_s=overrides.pop("timeout_s", 3.0),
        max_retries=overrides.pop("max_retries", 1),
        **overrides,
    )
    return LlmDrafter(OpenAIChatModel(settings), settings)


def llm_team_summary(dsession: Session, server: FakeOpenAI, embedder: Any) -> Any:
    """T-9's review summary of 2026-Q4, drafted by the LLM behind `server`."""
    from alignment.drafting.draft import draft_summary
    from alignment.drafting.schemas import SummaryRequest

    request = SummaryRequest(team="T-9", cycle="2026-Q4")
    return draft_summary(dsession, ORG, request, drafter=llm_drafter(server), embedder=embedder)


def offline_team_summary(dsession: Session, embedder: Any) -> Any:
    """T-9's review summary of 2026-Q4, drafted offline."""
    from alignment.drafting.draft import draft_summary
    from alignment.drafting.offline import OfflineDrafter
    from alignment.drafting.schemas import SummaryRequest

    request = SummaryRequest(team="T-9", cycle="2026-Q4")
    return draft_summary(dsession, ORG, request, drafter=OfflineDrafter(), embedder=embedder)


_SHARED: dict[str, Any] = {}


@pytest.fixture(scope="session")
def drafting_connection(engine: Engine, embedder: Any) -> Iterator[Connection]:
    """One connection holding the scored sample org, shared by every drafting test module."""
    owner = "connection" not in _SHARED
    if owner:
        connection = engine.connect()
        outer = connection.begin()
        session = Session(bind=connection, join_transaction_mode="create_savepoint")
        document = copy.deepcopy(load_file(SAMPLE_BUNDLE))
        document["organization"]["id"] = ORG
        import_document(session, document)
        score_organization(session, ORG, embedder=embedder)
        session.commit()  # releases its savepoint; the outer transaction stays open
        session.close()
        _SHARED.update(connection=connection, outer=outer)
    yield _SHARED["connection"]
    if owner:
        _SHARED.pop("outer").rollback()
        _SHARED.pop("connection").close()


@pytest.fixture
def dsession(drafting_connection: Connection) -> Iterator[Session]:
    savepoint = drafting_connection.begin_nested()
    session = Session(
        bind=drafting_connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    try:
        yield session
    finally:
        session.close()
        if savepoint.is_active:
            savepoint.rollback()


@pytest.fixture
def api(dsession: Session, embedder: Any) -> Iterator[Any]:
    """The API on the drafting organization's session (every change rolled back)."""
    with make_client(dsession, embedder) as client:
        yield client


def valid_suggestion(**changes: Any) -> dict[str, Any]:
    """A suggestion for team T-9 (Route Logistics) serving SO-9 that passes every gate."""
    okr = {
        "title": "Plan every delivery route from data instead of habit",
        "description": "Route Logistics redraws routes with the routing engine to cut miles.",
        # Key results of its own: T-9's 2026-Q4 OKR O-30 already measures "Miles per stop" and
        # "Routes re-optimized in the last 30 days", and copying them is refused.
        "key_results": [
            {
                "title": "Stops served per route hour",
                "unit": "stops/h",
                "baseline": 3.2,
                "target": 3.8,
                "kind": "lag",
            },
            {
                "title": "Share of routes planned by the routing engine",
                "unit": "%",
                "baseline": 40,
                "target": 90,
                "kind": "lead",
            },
        ],
        "objective_ids": ["SO-9"],
        "kpi_ids": ["SO-9-K1", "SO-9-K2"],
        "evidence": [
            {"kind": "team", "id": "T-9", "why": "mission: plan, load and run routes"},
            {"kind": "okr", "id": "O-30", "why": "routing engine rollout this cycle"},
        ],
        "rationale": "Serves SO-9 through its KPIs miles per stop and routes re-optimized.",
    }
    okr.update(changes)
    return {"suggestions": [okr]}


def copy_of_okr(session: Any, okr_id: str) -> dict[str, Any]:
    """A suggestion restating the stored OKR `okr_id` word for word (the near-duplicate gate's
    case)."""
    from alignment import repository
    from alignment.records import KINDS

    okr = repository.get_record(session, KINDS["okrs"], ORG, okr_id)
    return valid_suggestion(
        title=okr["title"],
        description=okr["description"],
        key_results=[
            {"title": k["title"], "unit": k["unit"], "baseline": k["baseline"],
             "target": k["target"], "kind": k["kind"]}
            for k in okr["key_results"][:5]
        ],
        kpi_ids=[],
    )  # fmt: skip

"""Real workers on the real queue: separate processes on the test database, as in production.

Each job runs once with two workers; a worker killed (SIGKILL) half-way through an embedding
job or a drafting job leaves nothing behind, and the next worker finishes the job; a provider
that stays down fails the drafting job with its reason after the retries, storing no draft;
webhook deliveries are signed and retried.

Webhook targets, in process: a delivery connects to the address its check resolved (a second
DNS answer pointing at localhost is never used), https still checks the certificate against the
URL's name, IPv6 forms that embed an IPv4 address are refused when subscribing and when
delivering, and refusals do not say what a name resolved to.
"""

from __future__ import annotations

import ipaddress
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from alignment import repository
from alignment.drafting.store import Draft
from alignment.errors import Invalid
from alignment.imports import import_document
from alignment.jobs import enqueue
from alignment.models import (
    Job,
    ScoredLink,
    TextEmbedding,
    WebhookDelivery,
    WebhookSubscription,
)
from alignment.settings import get_settings
from alignment.webhooks import deliver as delivering
from alignment.webhooks import emit, signing
from alignment.webhooks.subscriptions import create as subscribe
from benchmarks.synthetic import make_bundle
from tests.alignment.drafting_support import FakeOpenAI, Reply, valid_suggestion
from tests.factories import small_bundle
from tests.jobs_support import committed_org

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
    with committed_org(engine, "jobs") as org_id:
        yield org_id


class Receiver:
    """A subscriber on localhost: records every delivery; answers from a script, then 200."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.got: list[tuple[dict[str, str], bytes]] = []
        self.script: list[int] = []
        self.server_names: list[str | None] = []  # SNI of each TLS handshake
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
        self.port = self.httpd.server_port
        if tls is not None:
            tls.sni_callback = lambda sock, name, ctx: receiver.server_names.append(name)
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}/hook"


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


# Webhook targets (in process, allow_private off) ----------------------------------------

PUBLIC = "93.184.216.34"  # global unicast; no test connects to it (see Network)
OTHER_PUBLIC = "93.184.216.35"
EMBEDDED_IPV4 = [
    "http://[::127.0.0.1]/hook",  # IPv4-compatible
    "http://[64:ff9b::a9fe:a9fe]/hook",  # NAT64 of 169.254.169.254
    "http://[64:ff9b:1::a9fe:a9fe]/hook",  # NAT64, local-use prefix
    "http://[2002:a9fe:a9fe::1]/hook",  # 6to4 of 169.254.169.254
    "http://[2002:c0a8:101::1]/hook",  # 6to4 of 192.168.1.1
    "http://[::ffff:127.0.0.1]/hook",  # IPv4-mapped
    "http://[::ffff:a9fe:a9fe]/hook",  # IPv4-mapped 169.254.169.254, hex form
    "https://[::ffff:8.8.8.8]/hook",  # refused outright, even with a public IPv4 inside
    "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/hook",  # Teredo
]


class Dns:
    """Answers lookups of the names in `answers` (one answer per lookup, the last one repeats;
    an answer is one address, a tuple of addresses, or None for a name that does not resolve);
    any other name resolves for real."""

    def __init__(self, monkeypatch, answers: dict[str, list[Any]]) -> None:
        self.lookups: list[str] = []
        real = socket.getaddrinfo

        def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> list:
            name = host.decode() if isinstance(host, bytes) else host
            if name not in answers:
                return real(host, port, *args, **kwargs)
            self.lookups.append(name)
            queue = answers[name]
            answer = queue.pop(0) if len(queue) > 1 else queue[0]
            if answer is None:
                raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
            infos = []
            for address in (answer,) if isinstance(answer, str) else answer:
                if ":" in address:
                    infos.append(
                        (socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, port, 0, 0))
                    )
                else:
                    infos.append((socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port)))
            return infos

        monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


class Network:
    """Records every TCP connection the HTTP client opens (httpcore calls
    `socket.create_connection`). `route` maps a public address to 127.0.0.1 (a reachable
    subscriber); other non-loopback addresses refuse; a name connects for real (a client that
    resolved the name itself would reach the local server that way)."""

    def __init__(self, monkeypatch, route: dict[str, str] | None = None) -> None:
        self.connects: list[tuple[str, int]] = []
        real = socket.create_connection

        def create_connection(address: tuple, *args: Any, **kwargs: Any) -> socket.socket:
            host, port = address[0], int(address[1])
            self.connects.append((host, port))
            if route and host in route:
                return real((route[host], port), *args, **kwargs)
            if _is_ip(host) and not ipaddress.ip_address(host).is_loopback:
                raise ConnectionRefusedError(111, "Connection refused")  # no test leaves the host
            return real(address, *args, **kwargs)

        monkeypatch.setattr(socket, "create_connection", create_connection)


@pytest.fixture
def public_only(monkeypatch) -> Iterator[None]:
    monkeypatch.delenv("GOLDENTHREAD_WEBHOOKS_ALLOW_PRIVATE", raising=False)
    get_settings.cache_clear()
    assert not get_settings().webhooks.allow_private
    yield
    get_settings.cache_clear()


@pytest.fixture
def local_server(public_only) -> Iterator[Receiver]:
    made = Receiver()
    yield made
    made.httpd.shutdown()


@pytest.fixture
def tmp_org(session: Session) -> str:
    org_id = f"hooks-{uuid.uuid4().hex[:8]}"
    import_document(session, small_bundle(org_id))
    session.commit()  # releases the test's savepoint: a refused request rolls back only itself
    return org_id


def _delivery(session: Session, org_id: str, url: str) -> tuple[WebhookDelivery, str]:
    """A subscription stored as it is (no check) and one pending delivery of it."""
    sub = WebhookSubscription(
        org_id=org_id, url=url, events=["report.completed"], secret="whsec_t", created_by="t"
    )
    session.add(sub)
    session.flush()
    delivery = WebhookDelivery(
        org_id=org_id,
        subscription_id=sub.id,
        event="report.completed",
        payload={"id": "dlv_t", "event": "report.completed", "data": {}},
    )
    session.add(delivery)
    session.flush()
    return delivery, sub.secret


def test_dns_rebinding_cannot_send_a_delivery_to_localhost(
    monkeypatch, session, tmp_org, local_server
):
    """The check sees a public address; a second lookup would answer 127.0.0.1, where a local
    server listens on the URL's port. The connection goes to the checked address only."""
    dns = Dns(monkeypatch, {"rebind.example": [PUBLIC, PUBLIC, "127.0.0.1"]})
    network = Network(monkeypatch)  # the public address refuses: nothing else may be tried
    url = f"http://rebind.example:{local_server.port}/hook"
    subscribe(session, tmp_org, url=url, events=["report.completed"], created_by="t")
    delivery, _ = _delivery(session, tmp_org, url)
    with pytest.raises(delivering.DeliveryFailed, match="ConnectError"):
        delivering.deliver(session, delivery.id)
    assert network.connects == [(PUBLIC, local_server.port)]
    assert local_server.got == []
    assert delivery.status == "pending"
    assert dns.lookups == ["rebind.example"] * 2  # the subscription's check, the delivery's


def test_a_public_name_delivers_to_its_checked_address_with_its_own_host_header(
    monkeypatch, session, tmp_org, local_server
):
    Dns(monkeypatch, {"hooks.example": [(OTHER_PUBLIC, PUBLIC), "127.0.0.1"]})
    network = Network(monkeypatch, route={PUBLIC: "127.0.0.1"})  # PUBLIC is the subscriber
    url = f"http://hooks.example:{local_server.port}/hook"
    delivery, secret = _delivery(session, tmp_org, url)
    result = delivering.deliver(session, delivery.id)
    assert result["status"] == "delivered" and delivery.status == "delivered"
    # both checked addresses, in resolver order: the first refused before anything was sent
    assert network.connects == [(OTHER_PUBLIC, local_server.port), (PUBLIC, local_server.port)]
    ((headers, body),) = local_server.got
    assert headers["Host"] == f"hooks.example:{local_server.port}"
    assert signing.verify(secret, headers["X-GoldenThread-Signature"], body)


def _certificate(tmp_path: Path, name: str) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command to make a certificate")
    cert, key = tmp_path / f"{name}.pem", tmp_path / f"{name}.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", f"/CN={name}", "-addext", f"subjectAltName=DNS:{name}",
         "-addext", "basicConstraints=critical,CA:FALSE",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


def test_https_to_a_pinned_address_checks_the_certificate_against_the_urls_name(
    monkeypatch, session, tmp_org, public_only, tmp_path
):
    cert, key = _certificate(tmp_path, "hooks.example")
    server_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_tls.load_cert_chain(cert, key)
    server = Receiver(tls=server_tls)
    try:
        trusting = ssl.create_default_context(cafile=str(cert))
        monkeypatch.setattr(delivering, "_ssl_context", lambda: trusting)
        Dns(monkeypatch, {"hooks.example": [PUBLIC], "elsewhere.example": [PUBLIC]})
        network = Network(monkeypatch, route={PUBLIC: "127.0.0.1"})
        good, _ = _delivery(session, tmp_org, f"https://hooks.example:{server.port}/hook")
        assert delivering.deliver(session, good.id)["status"] == "delivered"
        assert network.connects == [(PUBLIC, server.port)]
        assert server.server_names == ["hooks.example"]  # SNI: the name, not the address
        assert server.got[0][0]["Host"] == f"hooks.example:{server.port}"
        # The same server and address under another name: its certificate does not match.
        bad, _ = _delivery(session, tmp_org, f"https://elsewhere.example:{server.port}/hook")
        with pytest.raises(delivering.DeliveryFailed) as failed:
            delivering.deliver(session, bad.id)
        assert isinstance(failed.value.__cause__, httpx.ConnectError)
        assert "hostname mismatch" in str(failed.value.__cause__).lower()
        assert len(server.got) == 1
    finally:
        server.httpd.shutdown()


@pytest.mark.parametrize("url", EMBEDDED_IPV4)
def test_ipv6_forms_embedding_ipv4_are_refused_when_subscribing(url, client, tmp_org, public_only):
    answer = client.post(
        f"/orgs/{tmp_org}/webhooks", json={"url": url, "events": ["report.completed"]}
    )
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert error["message"].startswith("the webhook URL is refused: its host embeds an IPv4")
    assert [d["path"] for d in error["details"]] == ["$.url"]


@pytest.mark.parametrize("url", EMBEDDED_IPV4)
def test_ipv6_forms_embedding_ipv4_are_refused_when_delivering(
    url, monkeypatch, session, tmp_org, public_only
):
    network = Network(monkeypatch)
    delivery, _ = _delivery(session, tmp_org, url)
    with pytest.raises(Invalid, match="embeds an IPv4 address") as refused:
        delivering.deliver(session, delivery.id)
    assert [d["path"] for d in refused.value.details] == ["subscription.url"]
    assert network.connects == [] and delivery.status == "pending"


@pytest.mark.parametrize(
    "answer", ["::ffff:127.0.0.1", "64:ff9b::a9fe:a9fe", "2002:a00:1::1", (PUBLIC, "::7f00:1")]
)
def test_a_name_resolving_to_an_embedded_ipv4_form_is_refused(
    answer, monkeypatch, client, session, tmp_org, public_only
):
    Dns(monkeypatch, {"sneaky.example": [answer]})
    network = Network(monkeypatch)
    url = "http://sneaky.example/hook"
    posted = client.post(
        f"/orgs/{tmp_org}/webhooks", json={"url": url, "events": ["report.completed"]}
    )
    assert posted.status_code == 422
    assert [d["path"] for d in posted.json()["error"]["details"]] == ["$.url"]
    delivery, _ = _delivery(session, tmp_org, url)
    with pytest.raises(Invalid, match="resolves to a private or reserved address"):
        delivering.deliver(session, delivery.id)
    assert network.connects == []


def test_refusals_do_not_tell_what_a_name_resolved_to(
    monkeypatch, client, session, tmp_org, public_only
):
    """An internal name and a name that does not resolve get the same answer, without the
    address: the API cannot be used to map internal DNS."""
    Dns(monkeypatch, {"db.internal.example": ["10.1.2.3"], "missing.example": [None]})
    answers = [
        client.post(
            f"/orgs/{tmp_org}/webhooks",
            json={"url": f"https://{host}/hook", "events": ["report.completed"]},
        )
        for host in ("db.internal.example", "missing.example")
    ]
    assert [a.status_code for a in answers] == [422, 422]
    errors = [a.json()["error"] for a in answers]
    assert (
        errors[0]["message"]
        == errors[1]["message"]
        == (
            "the webhook URL is refused: its host does not resolve, or resolves to a private or "
            "reserved address"
        )
    )
    assert errors[0]["details"] == errors[1]["details"]
    assert "10.1.2.3" not in json.dumps(errors)
    # At delivery too: the delivery log keeps the reason, not the address.
    delivery, _ = _delivery(session, tmp_org, "https://db.internal.example/hook")
    with pytest.raises(Invalid) as refused:
        delivering.deliver(session, delivery.id)
    delivering.record_failure(session, delivery.id, refused.value, final=True)
    assert delivery.status == "failed" and "10.1.2.3" not in (delivery.last_error or "")
    assert delivery.last_error.startswith("the webhook URL is refused")


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://[::1]/hook",
        "http://10.0.0.1/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://100.64.0.1/hook",
        "http://224.0.0.1/hook",
        "http://0.0.0.0/hook",
        "http://[fe80::1]/hook",
        "http://[fc00::1]/hook",
        "http://[ff02::1]/hook",
    ],
)
def test_private_and_reserved_addresses_stay_refused(url, client, tmp_org, public_only):
    answer = client.post(
        f"/orgs/{tmp_org}/webhooks", json={"url": url, "events": ["report.completed"]}
    )
    assert answer.status_code == 422
    error = answer.json()["error"]
    assert (
        error["message"] == "the webhook URL is refused: its host is a private or reserved address"
    )
    assert [d["path"] for d in error["details"]] == ["$.url"]


@pytest.mark.parametrize(
    ("port", "why"),
    [
        (22, "is a system service's port"),
        (25, "is a system service's port"),
        (0, "is no TCP port"),
        (70000, "is no TCP port"),
    ],
)
def test_a_port_outside_80_443_and_1024_65535_is_refused(
    port, why, monkeypatch, client, session, tmp_org, public_only
):
    Dns(monkeypatch, {"mail.example": [PUBLIC]})
    network = Network(monkeypatch)
    url = f"http://mail.example:{port}/hook"
    posted = client.post(
        f"/orgs/{tmp_org}/webhooks", json={"url": url, "events": ["report.completed"]}
    )
    assert posted.status_code == 422, posted.text
    error = posted.json()["error"]
    assert error["message"] == f"the webhook URL is refused: port {port} {why}"
    assert [d["path"] for d in error["details"]] == ["$.url"]
    # A subscription stored before the rule is refused at delivery too, before connecting.
    delivery, _ = _delivery(session, tmp_org, url)
    with pytest.raises(Invalid, match=f"port {port} "):
        delivering.deliver(session, delivery.id)
    assert network.connects == []


@pytest.mark.parametrize("port", [80, 443, 1024, 8443, 65535])
def test_web_and_unprivileged_ports_are_accepted(port, monkeypatch, client, tmp_org, public_only):
    Dns(monkeypatch, {"hooks.example": [PUBLIC]})
    posted = client.post(
        f"/orgs/{tmp_org}/webhooks",
        json={"url": f"https://hooks.example:{port}/hook", "events": ["report.completed"]},
    )
    assert posted.status_code == 201, posted.text


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
    assert failed.status == "failed" and failed.attempts == 2  # MAX_ATTEMPTS counts every run
    assert failed.error.startswith("unavailable:"), failed.error
    assert _drafts(engine, scored_sample) == before
    assert len(llm.requests) == 2

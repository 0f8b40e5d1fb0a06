"""A real browser against the real app: Debian's Chromium driven by Playwright (never a browser
download), the app served by uvicorn on a free localhost port, as the application role, on the
committed sample organization. Screenshots go to tests/artifacts/ (not committed).
"""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from alignment import db
from alignment.access import keys
from alignment.access.principal import Role

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# Package scope, not session: the worker below claims any job in the database, so it must be
# gone before tests outside this package start workers of their own.
@pytest.fixture(scope="package")
def live_url(scored_sample, embedder) -> Iterator[str]:
    import uvicorn

    from service import deps
    from service.app import create_app

    app = create_app()
    app.dependency_overrides[deps.embedder] = lambda: embedder
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    # As `serve` does: a worker in the same process runs the jobs the pages queue.
    from alignment.jobs.worker import InProcessWorker

    worker = InProcessWorker(db.resolve_database().url).start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    worker.stop()


@pytest.fixture(scope="session")
def role_keys(scored_sample) -> Iterator[dict[str, str]]:
    made: dict[str, str] = {}
    with Session(db.get_engine()) as s, s.begin():
        for role in (Role.admin, Role.strategy_office, Role.integration):
            made[role.value] = keys.create_key(s, org_id=scored_sample, role=role)[1]
        made["team_lead"] = keys.create_key(
            s, org_id=scored_sample, role=Role.team_lead, team_ids=["T-9"]
        )[1]
    yield made  # the organization's deletion at the end of the run removes them


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium (.ci/run does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, live_url):
    """A fresh context per test; console errors, page errors and any request leaving
    localhost are collected for the test to assert on."""
    context = browser.new_context(base_url=live_url, viewport={"width": 1280, "height": 860})
    tab = context.new_page()
    tab.console_errors = []
    tab.outside_requests = []
    tab.on("console", lambda m: m.type == "error" and tab.console_errors.append(m.text))
    tab.on("pageerror", lambda e: tab.console_errors.append(str(e)))

    def guard(route):
        if route.request.url.startswith(live_url):
            route.continue_()
        else:
            tab.outside_requests.append(route.request.url)
            route.abort()

    tab.route("**/*", guard)
    yield tab
    context.close()


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


@contextmanager
def decisions_undone(engine, org_id: str, embedder) -> Iterator[None]:
    """Put the shared sample back as it was scored after a test's decisions: a confirmation
    rescores the OKR's teammates in the background (team_decisions.py), so let those runs end,
    drop every decision, rescore and restore each link's stored label."""
    from sqlalchemy import delete, select

    from alignment.models import LinkFeedback, ScoredLink
    from alignment.scoring.stage import score_organization
    from tests.web.test_pages import _wait_for_jobs

    pair = (ScoredLink.okr_id, ScoredLink.objective_id, ScoredLink.label)
    with Session(engine) as s:
        before = s.execute(select(*pair).where(ScoredLink.org_id == org_id)).all()
    try:
        yield
    finally:
        _wait_for_jobs(engine, org_id)
        with Session(engine) as s, s.begin():
            s.execute(delete(LinkFeedback).where(LinkFeedback.org_id == org_id))
            score_organization(s, org_id, embedder=embedder)
            for okr_id, objective_id, label in before:
                key = {"org_id": org_id, "okr_id": okr_id, "objective_id": objective_id}
                s.get(ScoredLink, key).label = label

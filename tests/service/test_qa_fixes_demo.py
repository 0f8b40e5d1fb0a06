"""`goldenthread demo` run again leaves the sample organization as the user left it."""

from __future__ import annotations

import json
import uuid

import pytest
from typer.testing import CliRunner

from alignment import db, repository
from alignment.records import KINDS
from service.cli import app
from service.commands import run
from tests.factories import small_bundle


@pytest.fixture
def sample(tmp_path, monkeypatch, database_url, embedder):
    """The demo, pointed at a small sample of its own (committed, deleted afterwards)."""
    org_id = f"demo-{uuid.uuid4().hex[:8]}"
    path = tmp_path / "sample.bundle.json"
    path.write_text(json.dumps(small_bundle(org_id)))
    monkeypatch.setattr(run, "SAMPLE_BUNDLE", path)
    # The keys are the demo's own business (tests/service/test_keys_cli.py).
    monkeypatch.setattr(run, "_print_demo_keys", lambda _org: None)
    yield org_id
    with db.transaction() as session:
        repository.delete_org(session, org_id)


def demo():
    result = CliRunner().invoke(app, ["demo", "--no-serve"])
    assert result.exit_code == 0, result.output
    return " ".join(result.stderr.split())


def test_running_the_demo_again_keeps_edits_and_deletions(sample) -> None:
    assert f"sample organization {sample}: loaded for the first time" in demo()
    with db.transaction() as session:
        repository.update_record(
            session, KINDS["okrs"], sample, "O-1", {"title": "Edited by the customer"}
        )
        repository.delete_record(session, KINDS["okrs"], sample, "O-2")
        repository.delete_record(session, KINDS["objectives"], sample, "SO-2")
    again = demo()
    assert f"sample organization {sample} exists: left as it is;" in again
    assert "reloads it" in again and "updated" not in again
    with db.transaction() as session:
        okr = repository.get_record(session, KINDS["okrs"], sample, "O-1")
        assert okr["title"] == "Edited by the customer"
        for kind, gone in (("okrs", "O-2"), ("objectives", "SO-2")):
            listed, _ = repository.list_records(
                session, KINDS[kind], sample, filters={}, limit=50, offset=0
            )
            assert gone not in [r["id"] for r in listed]

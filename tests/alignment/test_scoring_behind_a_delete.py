"""A scoring run reads the organization, then writes its links: an OKR deleted in between is
named by rows whose foreign key is gone. The job is then tried again, not failed: the next
attempt reads the organization without it (alignment/jobs/transient.py)."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from alignment.jobs.transient import is_transient
from alignment.models import ScoredLink
from alignment.scoring import stage
from tests.jobs_support import committed_org


@pytest.fixture
def org(engine: Engine):
    with committed_org(engine, "scored-behind") as org_id:
        yield org_id


def test_an_okr_deleted_while_it_was_scored_makes_the_run_try_again(
    engine, embedder, org, monkeypatch
) -> None:
    read = stage.load_docs

    def read_then_delete(session, org_id):
        docs = read(session, org_id)
        with engine.begin() as other:  # a request deletes an OKR the run has read
            other.execute(
                text("DELETE FROM okrs WHERE org_id = :org AND id = 'O-1'"), {"org": org_id}
            )
        return docs

    monkeypatch.setattr(stage, "load_docs", read_then_delete)
    with Session(engine) as s, s.begin(), pytest.raises(IntegrityError) as raised:
        stage.score_organization(s, org, embedder=embedder)
    assert is_transient(raised.value, "score")
    assert not is_transient(raised.value, "import")  # elsewhere a mistake, said at once

    monkeypatch.setattr(stage, "load_docs", read)
    with Session(engine) as s, s.begin():  # the next attempt
        stage.score_organization(s, org, embedder=embedder)
    with Session(engine) as s:
        scored = set(
            s.scalars(
                text("SELECT DISTINCT okr_id FROM scored_links WHERE org_id = :o"), {"o": org}
            )
        )
    assert scored and "O-1" not in scored


def test_other_integrity_errors_still_fail_at_once(engine, org) -> None:
    with Session(engine) as s, pytest.raises(IntegrityError) as raised:
        s.add(ScoredLink(org_id=org, okr_id="O-2", objective_id="SO-1", rank=1, score=0.5))
        s.flush()
    assert not is_transient(raised.value, "score")


def test_a_run_refused_while_another_scores_names_the_organizations_read(engine, org) -> None:
    """The message named `/orgs/{org_id}/...` with its placeholder left in."""
    from alignment.scoring.stage import ScoringInProgress

    with engine.connect() as other, other.begin():
        other.execute(text("SELECT pg_advisory_xact_lock(hashtext(:org))"), {"org": org})
        with Session(engine) as s, s.begin(), pytest.raises(ScoringInProgress) as refused:
            stage._lock_or_refuse(s, org)
    assert f"GET /orgs/{org}/alignment/orphans" in refused.value.message

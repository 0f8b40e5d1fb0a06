"""Dropping a declared link ("Drop it", a `rejected` verdict on it) says only that this link
does not hold. Before, any rejected link made its OKR an orphan "decided" by whoever dropped it
(out of the review queue, a high-severity finding naming them), and the dropped link stayed in
the report and the review summary as a decision still needed. Only "serves none" calls an OKR
an orphan."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from alignment import review
from alignment.bundle.io import load_file
from alignment.drafting.context import build_summary_context
from alignment.drafting.offline_summary import summary
from alignment.drafting.schemas import SummaryRequest
from alignment.imports import import_document
from alignment.report import build_report
from alignment.scoring.feedback import feedback_labels, record_feedback
from alignment.scoring.reads import okr_links, stored_verdicts
from alignment.scoring.stage import score_organization

CLEARBROOK = Path(__file__).parents[2] / "evals/datasets/dev/clearbrook-water.bundle.json"


def _findings(session, org: str, embedder) -> dict[str, dict]:
    return {f["key"]: f for f in build_report(session, org, embedder=embedder).findings}


@pytest.fixture
def clearbrook(session, embedder) -> str:
    """The clearbrook-water dev organization, imported and scored in the test's transaction."""
    document = load_file(CLEARBROOK)
    org = f"clearbrook-{uuid.uuid4().hex[:8]}"
    document["organization"]["id"] = org
    import_document(session, document)
    score_organization(session, org, embedder=embedder)
    return org


def test_dropping_a_declared_link_leaves_an_unsure_okr_in_the_review_queue(
    session, clearbrook, embedder
) -> None:
    org = clearbrook
    assert stored_verdicts(session, org)["O-8"] == "needs_review"
    assert review.declared_ids(session, org, "O-8") == ["SO-7"]

    record_feedback(session, org, "O-8", "SO-7", verdict="rejected", decided_by="ada")
    score_organization(session, org, embedder=embedder)

    assert stored_verdicts(session, org)["O-8"] == "needs_review"
    links = okr_links(session, org, "O-8")
    assert links["verdict"] == "needs_review"
    assert "O-8" in {item["okr_id"] for item in review.queue(session, org)}
    found = _findings(session, org, embedder)
    assert "orphan_okr:O-8" not in found and "needs_review:O-8" in found
    assert not any("ada" in f["reason"] for f in found.values())
    assert "O-8" not in feedback_labels(session, org)["links"]
    # The dropped link is decided: no longer a finding asking for that decision.
    assert "unsupported_declared_link:O-8|SO-7" not in found

    # "Serves none" is still a person's orphan decision, and says whose.
    review.reject(session, org, "O-8", decided_by="ada", note="internal tooling")
    assert stored_verdicts(session, org)["O-8"] == "orphan"
    assert okr_links(session, org, "O-8")["verdict"] == "orphan"
    orphan = _findings(session, org, embedder)["orphan_okr:O-8"]
    assert ": ada decided so on " in orphan["reason"]
    assert feedback_labels(session, org)["links"]["O-8"] == []


def test_dropping_a_declared_link_names_nobody_on_an_orphan_the_engine_called(
    session, scored_sample, embedder
) -> None:
    """The sample's O-11: the engine's own orphan stays the engine's, with its reason."""
    org = scored_sample
    before = _findings(session, org, embedder)
    assert "unsupported_declared_link:O-11|SO-4" in before
    engine = before.get("orphan_okr:O-11")
    verdict = stored_verdicts(session, org)["O-11"]

    record_feedback(session, org, "O-11", "SO-4", verdict="rejected", decided_by="strategy office")
    score_organization(session, org, embedder=embedder)

    assert stored_verdicts(session, org)["O-11"] == verdict
    after = _findings(session, org, embedder)
    if engine is not None:
        assert after["orphan_okr:O-11"]["reason"] == engine["reason"]
        assert "decided_by" not in after["orphan_okr:O-11"]["evidence"]
    assert not any("strategy office" in f["reason"] for f in after.values())
    assert "unsupported_declared_link:O-11|SO-4" not in after


def _asks(session, org: str, team: str, embedder) -> list[str]:
    """What the offline drafter's review summary says must be decided."""
    ctx = build_summary_context(session, org, SummaryRequest(team=team), embedder=embedder)
    return [d["text"] for d in summary(ctx)["decisions_needed"]]


def test_a_dropped_declared_link_is_no_decision_needed_in_the_report_or_summary(
    session, scored_sample, embedder
) -> None:
    org = scored_sample
    ask = "Confirm or drop O-11's declared link to SO-4"
    assert any(ask in text for text in _asks(session, org, "T-1", embedder))

    record_feedback(session, org, "O-11", "SO-4", verdict="rejected", decided_by="strategy office")

    assert "unsupported_declared_link:O-11|SO-4" not in _findings(session, org, embedder)
    assert not any(ask in text for text in _asks(session, org, "T-1", embedder))


def test_serves_none_drops_its_declared_links_from_the_report(
    session, scored_sample, embedder
) -> None:
    """docs/review.md: "serves none" drops the declared links too (O-38 -> SO-8)."""
    org = scored_sample
    assert "unsupported_declared_link:O-38|SO-8" in _findings(session, org, embedder)
    review.reject(session, org, "O-38", decided_by="maria")
    found = _findings(session, org, embedder)
    assert "unsupported_declared_link:O-38|SO-8" not in found
    assert (
        "orphan_okr:O-38" in found
        and ": maria decided so on " in found["orphan_okr:O-38"]["reason"]
    )


def test_a_kept_declared_link_is_not_reported_as_unsupported(
    session, scored_sample, embedder
) -> None:
    org = scored_sample
    assert "unsupported_declared_link:O-11|SO-4" in _findings(session, org, embedder)
    record_feedback(session, org, "O-11", "SO-4", verdict="confirmed", decided_by="li")
    assert "unsupported_declared_link:O-11|SO-4" not in _findings(session, org, embedder)

"""`eval report`: the service's report against labels, on a dev bundle and on made-up findings."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from evals.report_eval import counts, figures
from service.cli import app
from tests.evals.progress_order import progress_order

DEV = Path(__file__).resolve().parents[2] / "evals" / "datasets" / "dev"
BUNDLE, LABELS = DEV / "clearbrook-water.bundle.json", DEV / "clearbrook-water.labels.json"


def finding(kind: str, subject: str) -> dict:
    return {"kind": kind, "key": f"{kind}:{subject}|2026-Q4"}


def test_counts_compare_findings_with_the_labels() -> None:
    labels = {
        "links": {"O-1": [], "O-2": ["SO-1"], "O-3": [], "O-4": ["SO-2"]},
        "drift": {"C-1": True, "C-2": False, "C-3": True},
    }
    findings = [
        finding("orphan_okr", "O-1"),  # right
        finding("orphan_okr", "O-2"),  # a false alarm
        finding("needs_review", "O-3"),  # unsure about a real orphan: not counted as found
        finding("checkin_drift", "C-1"),
        finding("checkin_drift", "C-9"),  # not labelled: left out
        finding("stale_checkin", "O-4"),
    ]
    got = figures(counts(findings, labels, {"C-2", "C-3", "C-9"}))
    assert got["orphan_precision"] == 0.5 and got["orphan_recall"] == 0.5
    assert got["drift_precision"] == 1.0 and got["drift_recall"] == 0.5
    # C-2 and C-3 await a person (C-9 is not labelled): C-3 drifts, so flag + review reach both
    assert got["check_in_review_share"] == round(2 / 3, 4)
    assert got["drift_recall_with_review"] == 1.0
    assert got["needs_review_share"] == 0.25
    assert got["false_orphan_share"] is None  # these labels have orphans
    none = figures(counts([finding("orphan_okr", "O-2")], {"links": {"O-2": ["SO-1"]}}))
    assert none["false_orphan_share"] == 1.0 and none["orphan_recall"] is None


def test_cli_builds_the_report_and_scores_its_findings(database_url, embedder) -> None:
    result = CliRunner().invoke(app, ["eval", "report", str(BUNDLE), str(LABELS), "--json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    labels = json.loads(LABELS.read_text())
    [dataset] = body["datasets"]
    assert dataset["labelled_okrs"] == len(labels["links"])
    assert dataset["labelled_orphans"] == sum(1 for v in labels["links"].values() if not v)
    for key in ("orphan_precision", "drift_precision", "needs_review_share"):
        assert body[key] is None or 0.0 <= body[key] <= 1.0, key
    # A dev organization: the report finds some of its orphans, and is right when it says so.
    assert dataset["true_orphan_findings"] >= 1
    assert body["orphan_precision"] >= 0.5


def test_progress_counts_a_bundle_when_its_report_is_done(monkeypatch, tmp_path) -> None:
    import evals.report_eval

    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_bytes(BUNDLE.read_bytes())
    b.write_bytes(BUNDLE.read_bytes())

    def run(progress):
        evals.report_eval.run(None, [(a, LABELS), (b, LABELS)], embedder=None, progress=progress)

    events = progress_order(
        monkeypatch, evals.report_eval, "report_findings", "report", run, returns=([], set())
    )
    assert events == ["report a.json", "done a.json", "report b.json", "done b.json"]

"""Eval smoke test: the `eval alignment` command on one dev bundle, through the real pipeline."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from alignment.models import Organization
from evals.runner import run
from service.cli import app
from tests.evals.progress_order import progress_order

DEV = Path(__file__).resolve().parents[2] / "evals" / "datasets" / "dev"
BUNDLE, LABELS = DEV / "clearbrook-water.bundle.json", DEV / "clearbrook-water.labels.json"
CONTRACT = {
    "okrs", "top1", "mrr", "orphan_auc", "orphan_precision", "orphan_recall",
    "link_precision", "link_recall", "link_f1", "drift_auc", "baselines",
}  # fmt: skip


def test_cli_prints_one_json_object_with_the_contract(database_url, embedder) -> None:
    result = CliRunner().invoke(app, ["eval", "alignment", str(BUNDLE), str(LABELS), "--json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert set(body) >= CONTRACT
    assert body["okrs"] == len(json.loads(BUNDLE.read_text())["okrs"])
    for key in CONTRACT - {"okrs", "baselines"}:
        assert 0.0 <= body[key] <= 1.0, key
    assert set(body["baselines"]) == {"tfidf", "cosine"}
    assert {"top1", "mrr"} <= set(body["baselines"]["cosine"])
    # A dev organization the engine was designed on: far better than chance (1 in 10).
    assert body["top1"] >= 0.7 and body["mrr"] >= 0.8


def test_eval_leaves_no_trace_and_rejects_bad_pairs(session, embedder, database_url) -> None:
    before = session.scalar(select(func.count()).select_from(Organization))
    result = run(session, [(BUNDLE, LABELS)], embedder=embedder)
    assert [d["dataset"] for d in result["datasets"]] == ["clearbrook-water"]
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Organization)) == before

    odd = CliRunner().invoke(app, ["eval", "alignment", str(BUNDLE)])
    assert odd.exit_code == 2
    assert "BUNDLE LABELS" in odd.output


def test_progress_counts_a_bundle_when_it_is_done(monkeypatch, tmp_path) -> None:
    import evals.runner

    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_bytes(BUNDLE.read_bytes())
    b.write_bytes(BUNDLE.read_bytes())

    def bundles(progress):
        run(None, [(a, LABELS), (b, LABELS)], embedder=None, progress=progress)

    events = progress_order(monkeypatch, evals.runner, "score_bundle", "score", bundles)
    assert events == ["score a.json", "done a.json", "score b.json", "done b.json"]


def test_the_table_headings_are_all_different() -> None:
    from evals.runner import HEADERS, METRICS

    headings = [HEADERS.get(c, c) for c in ("okrs", *METRICS)]
    assert len(set(headings)) == len(headings) and max(map(len, headings)) <= 11


@pytest.mark.parametrize("kind", ["alignment", "report"])
def test_labels_naming_an_unknown_okr_are_refused_before_anything_is_scored(
    kind, monkeypatch, tmp_path
) -> None:
    import evals.report_eval
    import evals.runner

    def no_scoring(*_args, **_kwargs):
        raise AssertionError("scored before the labels were checked")

    monkeypatch.setattr(evals.runner, "score_bundle", no_scoring)
    monkeypatch.setattr(evals.report_eval, "report_findings", no_scoring)
    labels = json.loads(LABELS.read_text())
    labels["links"]["O-NOPE"] = ["SO-1"]
    bad = tmp_path / "bad.labels.json"
    bad.write_text(json.dumps(labels))
    files = [str(BUNDLE), str(LABELS), str(BUNDLE), str(bad)]  # the second pair is wrong
    result = CliRunner().invoke(app, ["eval", kind, *files, "--json"])
    assert result.exit_code == 2, result.output
    assert "labels name OKRs the bundle does not have" in result.output
    assert "$.links.O-NOPE: unknown OKR" in result.output
    assert result.stdout == ""
    assert "database:" not in result.output  # refused before the database was even started

"""Counts read as English on the pages: "1 objective nobody works on", never "1 objectives"."""

from __future__ import annotations

import html
import re

from alignment.report import to_html
from alignment.report.page import FindingsView
from service.templating import templates
from tests.alignment.test_report_html import make_run


def _text(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


def _map(orphans: int, uncovered: int) -> str:
    row = {"id": "O-1", "title": "t", "team": "T-1", "closest": "SO-1", "score": 0.2}
    m = {
        "organization": {"id": "acme", "name": "Acme"},
        "scored": True,
        "orphans": [row] * orphans,
        "needs_review": [],
        "uncovered": uncovered,
        "groups": [],
    }
    nav = {"org_id": "acme", "here": "map", "map": True, "teams": [], "signed_in": "Ada"}
    page = templates().get_template("strategy_map.html.j2").render(m=m, may={}, nav=nav)
    return _text(page)


def test_the_strategy_maps_cards_say_one_in_the_singular() -> None:
    one = _map(orphans=1, uncovered=1)
    assert "1 OKR that serves no objective" in one
    assert "1 objective nobody works on" in one
    assert "objectives nobody" not in one and "OKRs that serve" not in one.split("(")[0]
    two = _map(orphans=2, uncovered=2)
    assert "2 OKRs that serve no objective" in two and "2 objectives nobody works on" in two


def test_the_reports_cards_say_one_in_the_singular() -> None:
    run = make_run([], [{"id": "T-1", "name": "Ops"}])
    run.summary.update(okrs=1, aligned_okrs=1, check_ins=1, drifting_check_ins=0)
    one = _text(to_html(run, FindingsView()))
    assert "(1 of 1 OKR serves an objective)" in one
    assert "of the 1 check-in drifts from its OKR" in one
    run.summary.update(okrs=3, aligned_okrs=2, check_ins=4)
    many = _text(to_html(run, FindingsView()))
    assert "(2 of 3 OKRs serve an objective)" in many
    assert "of the 4 check-ins drift from their OKR" in many

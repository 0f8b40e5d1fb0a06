"""What keeps the report page small (benchmarks/report_html_size.py, docs/report.md "Size"),
checked as structure, not as a byte count: heat-map cells name a shade the stylesheet colours
instead of carrying a style each, the raw JSON spells quotes as quotes, finding rows carry no
indentation, a record's type needs no class, depth-0 evidence lines need none, and the served
page's rows leave out the team and perspective lists only the exported file's script reads.
Each check pairs with what the reader still gets: the same colours, the same JSON, the same
text, the same filters."""

from __future__ import annotations

import html as html_lib
import json
import re

import pytest

from alignment.report import to_html
from alignment.report.page import FindingsView
from tests.alignment.test_report_html import (
    IMG,
    SCRIPT,
    drift_finding,
    make_run,
    orphan_finding,
)

TEAMS = [{"id": f"T-{n}", "name": f"Team {n}"} for n in range(1, 6)]


def _run():
    run = make_run([drift_finding(), orphan_finding()], TEAMS)
    # Counts 0 to 4 in one column (top 4): a bare cell, three shades and the deepest.
    run.summary["heatmap"]["aligned_okrs"] = [[n] for n in range(len(TEAMS))]
    return run


def _heat_table(page: str) -> str:
    found = re.search(r'<table class="heat">.*?</table>', page, re.S)
    assert found
    return found.group()


def _rows(page: str) -> str:
    found = re.search(r'<table id="findings">.*?</table>', page, re.S)
    assert found
    return found.group()


@pytest.mark.parametrize("view", [None, FindingsView()], ids=["export", "served"])
def test_heat_cells_are_coloured_by_the_stylesheet_as_they_were_inline(view) -> None:
    page = to_html(_run(), view)
    heat = _heat_table(page)
    assert " style=" not in heat
    style = re.search(r"<style>(.*?)</style>", page, re.S).group(1)
    cells = re.findall(r'<td class="(h\d{3})" title="([^"]*)"><a [^>]*>(\d+)</a></td>', heat)
    assert [int(n) for _, _, n in cells] == [1, 2, 3, 4]
    assert heat.count("<td></td>") == 1  # the 0: bare, no shade
    for name, title, count in cells:
        # The shade the page gave the cell inline before: 0.15 + 0.85 x count / busiest.
        alpha = 0.15 + 0.85 * int(count) / 4
        ink = "#fff" if alpha > 0.55 else "#111"
        rule = f".heat td.{name}{{background:rgba(31,94,168,{alpha:.2f});color:{ink}}}"
        assert style.count(rule) == 1, (rule, style[-600:])
        assert html_lib.unescape(title).startswith("Team ")  # the tooltip stays
    # Only the shades used are defined.
    assert len(re.findall(r"\.heat td\.h\d{3}\{", style)) == len({c[0] for c in cells})


def test_the_raw_json_spells_quotes_as_quotes_and_still_escapes_markup() -> None:
    hostile = drift_finding(text=f"</pre>{SCRIPT} {IMG} & more")
    page = to_html(make_run([hostile, orphan_finding()], TEAMS))
    raws = re.findall(r"<pre>(.*?)</pre>", page, re.S)
    assert len(raws) == 2
    for raw, finding in zip(raws, (hostile, orphan_finding()), strict=True):
        assert "&#34;" not in raw and '"' in raw
        # What the reader sees is the same JSON, indented as before.
        shown = html_lib.unescape(raw)
        assert json.loads(shown) == finding["evidence"]
        assert shown == json.dumps(
            finding["evidence"], indent=2, ensure_ascii=False, sort_keys=True
        )
    assert SCRIPT not in page and "</pre><script" not in page and "<img" not in page
    assert "&lt;/pre&gt;&lt;script&gt;" in raws[0] and " &amp; more" in raws[0]


@pytest.mark.parametrize("view", [None, FindingsView()], ids=["export", "served"])
def test_finding_rows_carry_no_indentation(view) -> None:
    body = re.search(r"<tbody>(.*?)</tbody>", _rows(to_html(_run(), view)), re.S).group(1)
    rows = re.sub(r"<pre>.*?</pre>", "", body.rstrip(), flags=re.S)
    assert rows.count("<tr ") == 2
    indented = [line for line in rows.split("\n") if line[:1] in (" ", "\t")]
    assert indented == []
    # Cells stay apart in the text a search reads (the export's script searches textContent).
    assert "</td>\n<td" in rows


def test_record_types_and_evidence_depths_need_no_class_per_line() -> None:
    page = to_html(_run())
    rows = _rows(page)
    items = re.findall(r'<ul class="records">(.*?)</ul>', rows, re.S)
    assert items and all(i.startswith("<li><span>") for i in items)
    assert 'class="type"' not in rows
    assert ".records li > span { color: var(--muted); font-size: 11px; }" in page
    assert 'class="d0"' not in rows
    assert '<dt class="d1">' in rows  # the orphan's matched key result, under its best link
    assert "dl.ev dt.d1 { padding-left: 12px; }" in page
    text = " ".join(
        re.sub(r"<[^>]+>", " ", re.sub(r"<pre>.*?</pre>", "", rows, flags=re.S)).split()
    )
    assert "check-in C-4 Printed the new price list." in text


def test_only_the_exported_rows_list_their_teams_and_perspectives() -> None:
    run = _run()
    run.findings[0]["scope"]["perspectives"] = ["customer", "financial"]
    export = _rows(to_html(run))
    teams = re.findall(r'data-teams="([^"]*)"', export)
    perspectives = re.findall(r'data-perspectives="([^"]*)"', export)
    assert [json.loads(html_lib.unescape(t)) for t in teams] == [["T-10"], ["T-2"]]
    assert json.loads(html_lib.unescape(perspectives[0])) == ["customer", "financial"]
    served = _rows(to_html(run, FindingsView()))
    assert "data-teams" not in served and "data-perspectives" not in served
    assert served.count('<tr data-severity="medium" data-kind="') == 2
    assert 'data-category="progress"' in served


def test_the_served_page_over_http_uses_the_heat_rules(client, jobs, scored_sample) -> None:
    org = scored_sample
    jobs.result(client, client.post(f"/orgs/{org}/reports"))
    page = client.get(f"/orgs/{org}/report.html", params={"per_page": 500}).text
    heat = _heat_table(page)
    used = set(re.findall(r'<td class="(h\d{3})"', heat))
    assert used and " style=" not in heat
    style = re.search(r"<style>(.*?)</style>", page, re.S).group(1)
    assert set(re.findall(r"\.heat td\.(h\d{3})\{", style)) == used
    rows = _rows(page)
    assert "data-teams" not in rows and "&#34;" not in "".join(
        re.findall(r"<pre>.*?</pre>", rows, re.S)
    )

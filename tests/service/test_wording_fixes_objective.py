"""An objective's page tells a link a person confirmed from one the engine scored aligned."""

from __future__ import annotations

import html
import re

from alignment.scoring.feedback import record_feedback

PAGE = {"Accept": "text/html"}


def _serving(page: str) -> str:
    return page.split('<section aria-labelledby="serving-h">', 1)[1].split("</section>", 1)[0]


def _row(page: str, okr: str) -> str:
    found = re.search(f'<tr data-okr="{re.escape(okr)}">(.*?)</tr>', _serving(page), re.S)
    assert found, f"{okr} is not listed as serving"
    return html.unescape(re.sub(r"<[^>]+>", "", found[1]))


def test_a_confirmed_link_is_marked_as_a_persons_decision(client, session, scored_sample):
    decided = record_feedback(
        session, scored_sample, "O-38", "SO-7", verdict="confirmed", decided_by="Strategy Office"
    )
    session.flush()
    page = client.get(f"/orgs/{scored_sample}/objective/SO-7", headers=PAGE).text
    row = _row(page, "O-38")
    assert f"confirmed by a person (Strategy Office, {decided['decided_at']:%Y-%m-%d})" in row
    engine_aligned = re.findall(r'<tr data-okr="([^"]+)">', _serving(page))
    others = [o for o in engine_aligned if o != "O-38"]
    assert others, "SO-7 has engine-aligned OKRs to compare with"
    assert all("confirmed by a person" not in _row(page, o) for o in others)

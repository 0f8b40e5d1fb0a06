"""The offline summary's "on pace" means what a manager expects, and its numbers read plainly:
a falling key result or one past its target says so, confidence is one format, and a headline
with nothing measured does not count "0 of 0"."""

from __future__ import annotations

import pytest

from alignment.drafting.offline_summary import ON_PACE_RATIO, on_pace, summary, where_it_stands
from tests.alignment import drafting_support as support
from tests.alignment.drafting_support import offline_team_summary

drafting_connection, dsession = support.drafting_connection, support.dsession


@pytest.mark.parametrize(
    ("share", "elapsed", "expected"),
    [
        (0.29, 0.55, False),  # the walk-through: 29-31% of the way at 55% was called on pace
        (0.31, 0.55, False),
        (0.44, 0.55, True),  # exactly ON_PACE_RATIO of the elapsed share
        (0.439, 0.55, False),
        (0.55, 0.55, True),
        (1.2, 0.55, True),  # past the target
        (0.0, 0.0, True),  # day one: nothing is expected yet
        (0.79, 1.0, False),
        (0.8, 1.0, True),
    ],
)
def test_on_pace_boundaries(share, elapsed, expected):
    assert ON_PACE_RATIO == 0.8
    assert on_pace(share, elapsed) is expected


def _kr(value, baseline, target, unit="mi", share=None):
    status = {"value": value, "share": share}
    return {"status": status, "baseline": baseline, "target": target, "unit": unit}


def test_where_a_key_result_stands_in_plain_words():
    assert where_it_stands(_kr(31, 0, 100, "%", 0.31)) == "at 31% of 100% (31% of the way)"
    assert where_it_stands(_kr(4.8, 4.8, 4.1, share=0.0)) == (
        "at 4.8 mi, target 4.1 mi (lower is better; 0% of the way)"
    )
    assert where_it_stands(_kr(7, 9, 2, "count")) == ("at 7, target 2 (lower is better)")
    assert where_it_stands(_kr(3.9, 4.8, 4.1)) == (
        "at 3.9 mi, target 4.1 mi (lower is better; target passed)"
    )
    assert where_it_stands(_kr(120, 0, 100, "%", 1.2)) == (
        "at 120%, target 100% (target passed; 120% of the way)"
    )
    assert where_it_stands(_kr(100, 0, 100, "%")) == "at 100%, target 100% (target reached)"
    assert where_it_stands(_kr(None, 0, 100, "%")) == "at ? of 100%"
    # Units like % attach to the number; a count is said as a number, on the way too.
    assert where_it_stands(_kr(3, 0, 5, "count", 0.6)) == "at 3 of 5 (60% of the way)"
    assert where_it_stands(_kr(31, 0, 100, "mi", 0.31)) == "at 31 of 100 mi (31% of the way)"


def test_team_summary_reads_plainly(dsession, embedder):
    draft = offline_team_summary(dsession, embedder)
    payload = draft.payload
    text = " ".join(s["text"] for s in payload["progress"])
    assert "O-30-KR2 at 4.8 mi, target 4.1 mi (lower is better; 0% of the way)" in text
    assert ") (" not in text
    assert "4.8 of 4.1" not in text and "7 of 2 count" not in text
    assert "confidence 0." not in text and "confidence 90%" in text
    # 55% into 2026-Q4: O-30-KR1 is 31% of the way, under the 44% that counts as on pace.
    headline = payload["headline"]
    paced, measured = (int(n) for n in headline.split("; ")[1].split(" measured")[0].split(" of "))
    assert paced < measured


class _Ctx:
    def __init__(self, okrs):
        self.okrs, self.findings, self.as_of = okrs, [], "2026-11-20"
        self.subject = {"name": "Team"}
        self.cycle = {"id": "2026-Q4", "elapsed": 0.55}


def test_headline_leaves_out_pace_when_nothing_is_measured():
    okr = {"id": "O-1", "title": "T", "check_ins": [], "key_results": []}
    headline = summary(_Ctx([okr]))["headline"]  # type: ignore[arg-type]
    assert "0 of 0" not in headline and "on pace" not in headline
    assert headline == (
        "Team, 2026-Q4 as of 2026-11-20: 1 OKR; 0 risks, 0 drifting check-ins, 0 decisions needed."
    )


def test_a_suggested_link_is_asked_as_an_action_not_of_a_third_party() -> None:
    """In the OKR's own team summary, "Have O-33's team declare SO-9" spoke of the reader's
    team as someone else."""
    from alignment.drafting.offline_summary import _ASK

    ask = _ASK["suggested_link"].format(okr="O-33", objective="SO-9")
    assert ask == "Declare SO-9 for O-33, or reject the link"

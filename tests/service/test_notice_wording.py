"""The review queue's status line opens as a sentence: a noun capitalized, an id as stored."""

from datetime import UTC, datetime

import pytest

from alignment.access.principal import Principal
from service.routes.review_notices import Stored, notice

AT = datetime(2026, 12, 7, 9, 30, tzinfo=UTC)
ME = Principal(name="ana", role="strategy_office", org_id="acme")


@pytest.mark.parametrize(
    ("subject", "opening"),
    [
        ("draft D-5", "Draft D-5 already rejected"),
        ("check-in c-9", "Check-in c-9 already rejected"),
        ("declared link o-1 → so-2", "Declared link o-1 → so-2 already rejected"),
        ("o-7", "o-7 already rejected"),  # a bare OKR id is never respelled
    ],
)
def test_a_stale_form_notice_opens_a_sentence_without_respelling_ids(subject, opening) -> None:
    said = notice(Stored(subject, "rejected", "ana", AT), ME, again=True)
    assert said == f"{opening} (by you at 2026-12-07 09:30 UTC); nothing changed."


def test_a_fresh_decision_is_recorded_with_the_subject_as_it_is() -> None:
    said = notice(Stored("draft D-5", "dismissed", "bo", AT), ME, again=False)
    assert said == "Recorded: draft D-5 dismissed (by bo at 2026-12-07 09:30 UTC)."

"""A failed draft's near-duplicate, said on the team page: what each suggestion repeated, by id
and title, for drafts stored since the gate kept them and for drafts stored before."""

from __future__ import annotations

import html
import re

from alignment.drafting.store import Draft
from service.routes.gate_words import failed_gate_sentences

LONG = "Cut fuel cost per stop across every depot by rerouting the late afternoon runs first"
STORED = {  # as the gate stores it now: the message, and what it matched beside it
    "name": "not_duplicate",
    "passed": False,
    "problems": [
        {"path": "$.suggestions[0]", "message": "near-duplicate of existing OKR O-12 (cosine "
         "0.95 >= 0.9)", "okr": "O-12", "okr_title": "Cut fuel cost per stop", "team": "T-3"},
        {"path": "$.suggestions[0].key_results[0]", "message": "nearly copies key result "
         "O-12-KR1 of OKR O-12 (team T-3, 2026-Q4; cosine 0.97); draft a key result of its own",
         "key_result": "O-12-KR1", "key_result_title": "Fuel per stop", "okr": "O-12",
         "okr_title": "Cut fuel cost per stop", "team": "T-3"},
        {"path": "$.suggestions[1].key_results[2]", "message": "nearly copies key result "
         "O-30-KR2 of OKR O-30 (team T-9, 2026-Q4; cosine 0.93, same unit and target); draft "
         "a key result of its own", "key_result": "O-30-KR2", "key_result_title": LONG,
         "okr": "O-30", "okr_title": "Plan routes", "team": "T-9"},
    ],
    "details": {},
}  # fmt: skip
OLD = {  # stored before: the ids only in the message
    "name": "not_duplicate",
    "passed": False,
    "problems": [
        {"path": "$.suggestions[0]",
         "message": "near-duplicate of existing OKR O-12 (cosine 0.95 >= 0.9)"},
        {"path": "$.suggestions[1].key_results[0]", "message": "nearly copies key result "
         "O-30-KR2 of OKR O-30 (team T-9, 2026-Q4; cosine 0.93); draft a key result of its own"},
    ],
    "details": {"nearest": [{"okr": "O-12", "cosine": 0.95}, None]},
}  # fmt: skip


def test_each_suggestion_names_what_it_repeated() -> None:
    assert failed_gate_sentences("suggestion", [STORED]) == [
        # The OKR's own key result is part of the OKR repeated: not named again.
        'Suggestion 1 nearly repeats O-12 "Cut fuel cost per stop" (team T-3).',
        'Suggestion 2 nearly repeats key result O-30-KR2 "Cut fuel cost per stop across every '
        'depot by rerouting the…" of O-30 (team T-9).',
    ]


def test_a_draft_stored_before_names_the_ids_its_messages_give() -> None:
    assert failed_gate_sentences("suggestion", [OLD]) == [
        "Suggestion 1 nearly repeats O-12.",
        "Suggestion 2 nearly repeats key result O-30-KR2 of O-30 (team T-9).",
    ]
    unreadable = {**OLD, "problems": [{"path": "$.suggestions[0]", "message": "something"}]}
    assert failed_gate_sentences("suggestion", [unreadable]) == [
        "Suggestion 1 nearly repeated an OKR or key result the organization already has."
    ]


def _failed(session, org: str, draft_id: str, gate: dict) -> None:
    session.add(
        Draft(
            org_id=org, id=draft_id, kind="suggestion", status="failed", team_id="T-9",
            cycle_id="2026-Q4", request={"team": "T-9"}, payload=None, schema_version="1",
            prompt_id="suggest_okrs", prompt_version=1, prompt_hash="0" * 64,
            drafter="llm", model="m", gates=[{"name": "schema", "passed": True}, gate],
            attempts=[],
        )
    )  # fmt: skip
    session.flush()


def _said(page: str, draft_id: str) -> str:
    article = page.split(f'data-draft="{draft_id}"', 1)[1].split("</article>", 1)[0]
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", article))).strip()


def test_the_team_page_names_what_a_failed_draft_repeated(client, session, scored_sample) -> None:
    org = scored_sample
    _failed(session, org, "D-repeat-now", STORED)
    _failed(session, org, "D-repeat-old", OLD)
    page = client.get(f"/orgs/{org}/team/T-9")
    assert page.status_code == 200, page.text
    now = _said(page.text, "D-repeat-now")
    assert 'Suggestion 1 nearly repeats O-12 "Cut fuel cost per stop" (team T-3).' in now, now
    assert "cosine" not in now and "$.suggestions" not in now
    old = _said(page.text, "D-repeat-old")
    assert "Suggestion 1 nearly repeats O-12." in old, old
    assert "Suggestion 2 nearly repeats key result O-30-KR2 of O-30 (team T-9)." in old, old


def test_an_old_message_is_read_up_to_the_gates_own_words() -> None:
    """Ids may hold spaces and "(": an old message about "O-1 (old)" named O-1, another OKR."""
    from service.routes.gate_words import OLD_KR_REPEAT, OLD_OKR_REPEAT

    okr = OLD_OKR_REPEAT.search("near-duplicate of existing OKR O-1 (old) (cosine 0.93 >= 0.90)")
    assert okr.group(1) == "O-1 (old)"
    kr = OLD_KR_REPEAT.search(
        "nearly copies key result KR 7 (b) of OKR O 7 (b) (team Field ops, 2026-Q4; cosine 0.95)"
    )
    assert kr.groups() == ("KR 7 (b)", "O 7 (b)", "Field ops")

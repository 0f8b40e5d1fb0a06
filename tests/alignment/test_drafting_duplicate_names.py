"""The near-duplicate gate keeps what each suggestion repeated (ids and titles) beside its
message, so the team page can name it; the message and path stay as they were."""

from __future__ import annotations

from alignment import repository
from alignment.drafting.draft import draft_suggestions
from alignment.drafting.schemas import SuggestionRequest
from alignment.records import KINDS
from tests.alignment import drafting_support as support
from tests.alignment.drafting_support import ORG, llm_drafter, valid_suggestion

drafting_connection, dsession, llm_server = (
    support.drafting_connection,
    support.dsession,
    support.llm_server,
)

REQUEST = SuggestionRequest(team="T-9", cycle="2026-Q4", objectives=["SO-9"])


def _not_duplicate(dsession, llm_server, embedder, reply: dict) -> dict:
    llm_server.reply(reply)
    llm_server.reply(reply)  # the repair repeats it: the draft fails
    draft = draft_suggestions(
        dsession, ORG, REQUEST, drafter=llm_drafter(llm_server), embedder=embedder
    )
    assert draft.status == "failed", draft.gates
    return next(g for g in draft.gates if g["name"] == "not_duplicate")


def test_a_near_duplicate_keeps_the_id_and_title_of_the_okr_it_repeats(
    dsession, llm_server, embedder
):
    okr = repository.get_record(dsession, KINDS["okrs"], ORG, "O-30")
    copy = support.copy_of_okr(dsession, "O-30")
    gate = _not_duplicate(dsession, llm_server, embedder, copy)

    [whole] = [p for p in gate["problems"] if p["path"] == "$.suggestions[0]"]
    assert whole["message"].startswith("near-duplicate of existing OKR O-30 (cosine ")
    assert {k: whole[k] for k in ("okr", "okr_title", "team")} == {
        "okr": "O-30",
        "okr_title": okr["title"],
        "team": "T-9",
    }
    copied = [p for p in gate["problems"] if ".key_results[" in p["path"]]
    assert copied and all(p["okr"] == "O-30" and p["key_result"] for p in copied)
    titles = {k["id"]: k["title"] for k in okr["key_results"]}
    assert all(p["key_result_title"] == titles[p["key_result"]] for p in copied)


def test_a_copied_key_result_keeps_the_id_and_title_it_copies(dsession, llm_server, embedder):
    copying = valid_suggestion()
    copying["suggestions"][0]["key_results"][1] = {
        # T-9's own O-30-KR2 of this cycle, word for word.
        "title": "Miles per stop", "unit": "mi", "baseline": 4.8, "target": 4.4, "kind": "lag",
    }  # fmt: skip
    gate = _not_duplicate(dsession, llm_server, embedder, copying)

    [copied] = gate["problems"]
    assert copied["path"] == "$.suggestions[0].key_results[1]"
    assert copied["message"].startswith("nearly copies key result O-30-KR2 of OKR O-30 (team T-9")
    okr = repository.get_record(dsession, KINDS["okrs"], ORG, "O-30")
    assert {k: v for k, v in copied.items() if k not in ("path", "message")} == {
        "key_result": "O-30-KR2",
        "key_result_title": "Miles per stop",
        "okr": "O-30",
        "okr_title": okr["title"],
        "team": "T-9",
    }

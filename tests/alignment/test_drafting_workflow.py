"""Approval workflow: approve creates the OKR once, edits sit beside the AI's text, reject keeps."""

from __future__ import annotations

import copy

import pytest
from sqlalchemy import func, inspect, select

from alignment import repository
from alignment.drafting import approve, store
from alignment.drafting.draft import draft_suggestions, draft_summary, new_draft_id
from alignment.drafting.offline import OfflineDrafter
from alignment.drafting.offline_suggestions import NothingToSuggest
from alignment.drafting.schemas import SuggestionRequest, SummaryRequest
from alignment.errors import Conflict, Invalid, NotFound
from alignment.models import Cycle, KeyResult, Okr
from alignment.records import KINDS
from tests.alignment import drafting_support as support
from tests.alignment.drafting_support import ORG

drafting_connection, dsession = support.drafting_connection, support.dsession


@pytest.fixture
def pending(dsession, embedder) -> store.Draft:
    request = SuggestionRequest(team="T-13", cycle="2026-Q4", objectives=["SO-11"])
    draft = draft_suggestions(dsession, ORG, request, drafter=OfflineDrafter(), embedder=embedder)
    assert draft.status == "pending"
    return draft


def _okrs(session) -> int:
    return session.scalar(select(func.count()).where(Okr.org_id == ORG)) or 0


def test_approving_defines_a_proposed_cycle_only_for_a_decider_who_may(dsession, embedder):
    """Cycles are the organization's: approving a suggestion for a cycle not defined yet defines
    it only when the decider may define cycles (the service asks its access rules); anyone else
    is refused (409) and nothing is written."""
    request = SuggestionRequest(team="T-13", objectives=["SO-11"])  # 2027-Q1, proposed
    draft = draft_suggestions(dsession, ORG, request, drafter=OfflineDrafter(), embedder=embedder)
    assert draft.status == "pending" and draft.request["new_cycle"]["id"] == "2027-Q1"
    before = _okrs(dsession)
    with pytest.raises(Conflict, match="ask an admin to define the cycle first"):
        approve.approve_draft(dsession, ORG, draft.id, decided_by="lead")
    assert dsession.get(Cycle, {"org_id": ORG, "id": "2027-Q1"}) is None
    assert _okrs(dsession) == before and draft.status == "pending"
    assert store.decisions(dsession, ORG, draft.id) == []

    approved = approve.approve_draft(
        dsession, ORG, draft.id, decided_by="admin", may_define_cycle=True
    )
    assert approved["status"] == "approved" and _okrs(dsession) == before + 1
    assert dsession.get(Cycle, {"org_id": ORG, "id": "2027-Q1"}) is not None


def test_approving_twice_creates_the_okr_once(dsession, pending):
    before = _okrs(dsession)
    first = approve.approve_draft(dsession, ORG, pending.id, decided_by="maria")
    second = approve.approve_draft(dsession, ORG, pending.id, decided_by="maria")

    okr_id = f"{pending.id}-O1"
    assert first["status"] == second["status"] == "approved"
    assert first["created_records"] == second["created_records"] == [okr_id]
    assert _okrs(dsession) == before + 1
    assert len(store.decisions(dsession, ORG, pending.id)) == 1
    okr = repository.get_record(dsession, KINDS["okrs"], ORG, okr_id)
    [suggestion] = pending.payload["suggestions"]
    assert (okr["team"], okr["cycle"], okr["title"]) == ("T-13", "2026-Q4", suggestion["title"])
    assert okr["declared_links"] == ["SO-11"]
    assert [k["id"] for k in okr["key_results"]] == [
        f"{okr_id}-KR{j}" for j in range(1, len(suggestion["key_results"]) + 1)
    ]
    assert [(k["title"], k["baseline"], k["target"], k["kind"]) for k in okr["key_results"]] == [
        (k["title"], k["baseline"], k["target"], k["kind"]) for k in suggestion["key_results"]
    ]


def test_edited_text_is_stored_beside_the_ais(dsession, pending):
    edited = copy.deepcopy(pending.payload)
    edited["suggestions"][0]["title"] = "Grow supervisors from our own operators"
    edited["suggestions"][0]["key_results"] = edited["suggestions"][0]["key_results"][:2]
    result = approve.approve_draft(dsession, ORG, pending.id, decided_by="maria", edited=edited)

    assert result["status"] == "edited_and_approved"
    [decision] = store.decisions(dsession, ORG, pending.id)
    assert decision.ai_payload == pending.payload  # the AI's version, untouched
    assert decision.edited_payload["suggestions"][0]["title"] == edited["suggestions"][0]["title"]
    assert store.get_draft(dsession, ORG, pending.id).payload == pending.payload
    okr = dsession.get(Okr, {"org_id": ORG, "id": f"{pending.id}-O1"})
    assert okr.title == "Grow supervisors from our own operators"
    krs = dsession.scalar(
        select(func.count()).where(KeyResult.org_id == ORG, KeyResult.okr_id == okr.id)
    )
    assert krs == 2


def test_unchanged_edit_counts_as_plain_approval(dsession, pending):
    result = approve.approve_draft(
        dsession, ORG, pending.id, decided_by="maria", edited=copy.deepcopy(pending.payload)
    )
    assert result["status"] == "approved" and result["edited_payload"] is None


def test_edit_that_breaks_the_schema_is_refused_with_its_path(dsession, pending):
    edited = copy.deepcopy(pending.payload)
    edited["suggestions"][0]["key_results"] = edited["suggestions"][0]["key_results"][:1]
    with pytest.raises(Invalid) as caught:
        approve.approve_draft(dsession, ORG, pending.id, decided_by="maria", edited=edited)
    assert caught.value.details[0]["path"] == "$.edited.suggestions[0].key_results"
    assert store.get_draft(dsession, ORG, pending.id).status == "pending"


def test_reject_keeps_the_draft_with_its_reason(dsession, pending):
    before = _okrs(dsession)
    result = approve.reject_draft(
        dsession, ORG, pending.id, decided_by="li", reason="Supervisors are next year's focus."
    )
    assert result["status"] == "rejected" and result["payload"] == pending.payload
    trail = approve.audit(dsession, ORG, pending.id)
    [decision] = trail["decisions"]
    assert (decision["decision"], decision["decided_by"]) == ("rejected", "li")
    assert decision["reason"] == "Supervisors are next year's focus."
    assert _okrs(dsession) == before
    with pytest.raises(Conflict):
        approve.approve_draft(dsession, ORG, pending.id, decided_by="maria")


def test_approved_draft_cannot_be_rejected(dsession, pending):
    approve.approve_draft(dsession, ORG, pending.id, decided_by="maria")
    with pytest.raises(Conflict):
        approve.reject_draft(dsession, ORG, pending.id, decided_by="li", reason="late")


def test_a_second_suggestion_restating_an_approved_one_fails_the_duplicate_gate(
    dsession, pending, embedder
):
    approve.approve_draft(dsession, ORG, pending.id, decided_by="maria")
    request = SuggestionRequest(team="T-13", cycle="2026-Q4", objectives=["SO-11"])
    # The offline drafter now has nothing new to ground for SO-11 and says so, storing nothing;
    # a drafter that restates the approved OKR (as a model may) still meets the gate.
    with pytest.raises(NothingToSuggest, match="nothing new to suggest for SO-11 in 2026-Q4"):
        draft_suggestions(dsession, ORG, request, drafter=OfflineDrafter(), embedder=embedder)
    again = draft_suggestions(
        dsession, ORG, request, drafter=_Restating(pending.payload), embedder=embedder
    )
    assert again.status == "failed"
    gate = next(g for g in again.gates if g["name"] == "not_duplicate")
    assert gate["details"]["nearest"][0]["okr"] == f"{pending.id}-O1"


class _Restating(OfflineDrafter):
    """Answers with a payload given up front (the approved draft's, restated)."""

    def __init__(self, payload: dict) -> None:
        self.payload = {k: v for k, v in payload.items() if k != "notice"}

    def suggest(self, ctx, budget):
        return self._attempt("suggest_okrs", self.payload, 0.0)


def test_summary_approval_records_the_decision_and_creates_nothing(dsession, embedder):
    draft = draft_summary(
        dsession, ORG, SummaryRequest(team="T-5"), drafter=OfflineDrafter(), embedder=embedder
    )
    before = _okrs(dsession)
    result = approve.approve_draft(dsession, ORG, draft.id, decided_by="office")
    assert result["status"] == "approved" and result["created_records"] == []
    assert _okrs(dsession) == before
    assert draft.cycle_id == "2026-Q4"  # the latest cycle by default


def test_listing_filters_and_unknown_drafts(dsession, pending):
    approve.approve_draft(dsession, ORG, pending.id, decided_by="maria")
    rows, total = store.list_drafts(dsession, ORG, status="approved", kind="suggestion")
    assert total == 1 and rows[0].id == pending.id
    assert store.list_drafts(dsession, ORG, status="pending")[1] == 0
    with pytest.raises(NotFound):
        store.get_draft(dsession, ORG, "D-nope")


def test_approving_a_draft_changes_no_other_okrs_verdict(dsession, pending, embedder):
    """Round 1 saw an unrelated OKR (O-45) become an orphan when one team approved a draft: the
    new OKR moved the organization's median best score, which every verdict was held to."""
    from alignment.models import OkrVerdict
    from alignment.review import okr_verdicts
    from alignment.scoring.stage import score_organization

    def held_to() -> dict[str, float]:
        rows = select(OkrVerdict.okr_id, OkrVerdict.reference).where(OkrVerdict.org_id == ORG)
        return dict(dsession.execute(rows).tuples().all())

    median_before = score_organization(dsession, ORG, embedder=embedder).orphan_score_median
    _, before = okr_verdicts(dsession, ORG)
    assert {"orphan", "needs_review", "aligned"} <= set(before.values())
    references = held_to()
    assert all(r == pytest.approx(median_before, abs=1e-4) for r in references.values())
    approve.approve_draft(dsession, ORG, pending.id, decided_by="maria")
    median_after = score_organization(dsession, ORG, embedder=embedder).orphan_score_median
    _, after = okr_verdicts(dsession, ORG)
    assert {o: after[o] for o in before} == before
    new = f"{pending.id}-O1"
    assert after[new] in ("aligned", "needs_review", "orphan")
    # The median moved, and every untouched OKR is still held to the one it was decided with.
    assert median_after != median_before
    now = held_to()
    assert {o: now[o] for o in references} == references
    assert now[new] == pytest.approx(median_after, abs=1e-4)


def _stored_twin(session, draft):
    """A second pending draft with the same content, stored as such. Asking again answers with
    the pending one (test_drafting_repeat.py); twins still come from two jobs drafting at the
    same moment, so approval must still refuse the second."""
    columns = {
        a.key: getattr(draft, a.key)
        for a in inspect(store.Draft).column_attrs
        if a.key not in ("id", "created_at")
    }
    columns["id"] = new_draft_id()
    return store.add_draft(session, store.Draft(**columns))


def test_two_drafts_of_one_request_become_one_okr(dsession, pending, embedder):
    # The form sent again from Back: a second pending draft, drafted before either is approved.
    twin = _stored_twin(dsession, pending)
    assert twin.status == "pending" and twin.payload == pending.payload
    approve.approve_draft(dsession, ORG, pending.id, decided_by="maria")
    before = _okrs(dsession)
    with pytest.raises(Conflict) as caught:
        approve.approve_draft(dsession, ORG, twin.id, decided_by="maria")
    [detail] = caught.value.details
    assert detail["path"] == "$.draft.suggestions[0].title"
    assert f"already has OKR '{pending.id}-O1'" in detail["message"]
    assert _okrs(dsession) == before
    assert store.get_draft(dsession, ORG, twin.id).status == "pending"
    # Retitled only, it would still restate the key results: the next test.


def test_a_second_decision_that_differs_is_refused_not_dropped(dsession, pending):
    edited = copy.deepcopy(pending.payload)
    edited["suggestions"][0]["title"] = "Grow supervisors from our own operators"
    approve.approve_draft(dsession, ORG, pending.id, decided_by="maria", edited=edited)
    again = approve.approve_draft(dsession, ORG, pending.id, decided_by="maria", edited=edited)
    assert again["status"] == "edited_and_approved"  # the same request again: its answer
    other = copy.deepcopy(edited)
    other["suggestions"][0]["title"] = "Another title, sent later"
    with pytest.raises(Conflict, match=r"already edited_and_approved by maria .* not applied"):
        approve.approve_draft(dsession, ORG, pending.id, decided_by="li", edited=other)
    assert len(store.decisions(dsession, ORG, pending.id)) == 1


def test_rejecting_again_with_another_reason_says_the_first_stands(dsession, pending):
    approve.reject_draft(dsession, ORG, pending.id, decided_by="li", reason="Not this cycle.")
    same = approve.reject_draft(
        dsession, ORG, pending.id, decided_by="li", reason="Not this cycle."
    )
    assert same["status"] == "rejected"
    with pytest.raises(Conflict, match=r"already rejected by li .*'Not this cycle\.'"):
        approve.reject_draft(dsession, ORG, pending.id, decided_by="ann", reason="Too vague.")
    [decision] = store.decisions(dsession, ORG, pending.id)
    assert (decision.decided_by, decision.reason) == ("li", "Not this cycle.")


def test_edits_with_control_characters_are_refused_and_bidi_overrides_dropped(dsession, pending):
    edited = copy.deepcopy(pending.payload)
    edited["suggestions"][0]["key_results"][0]["title"] = "esc\x1b[31m red"
    with pytest.raises(Invalid) as caught:
        approve.approve_draft(dsession, ORG, pending.id, decided_by="maria", edited=edited)
    assert caught.value.details[0]["path"] == "$.edited.suggestions[0].key_results[0].title"
    assert "U+001B" in caught.value.details[0]["message"]
    edited["suggestions"][0]["key_results"][0]["title"] = "Cut \u202erewash\u202c rate"
    approve.approve_draft(dsession, ORG, pending.id, decided_by="maria", edited=edited)
    kr = dsession.get(KeyResult, {"org_id": ORG, "id": f"{pending.id}-O1-KR1"})
    assert kr.title == "Cut rewash rate"


def test_an_edit_repeating_a_suggestion_is_refused(dsession, pending):
    edited = copy.deepcopy(pending.payload)
    twin = copy.deepcopy(edited["suggestions"][0])
    twin["title"] = "  " + twin["title"].upper() + " "  # case and spacing aside, the same
    edited["suggestions"].append(twin)
    before = _okrs(dsession)
    with pytest.raises(Conflict) as caught:
        approve.approve_draft(dsession, ORG, pending.id, decided_by="maria", edited=edited)
    [detail] = caught.value.details
    assert detail["path"] == "$.edited.suggestions[1].title"
    assert "the same title as suggestion 0" in detail["message"]
    assert _okrs(dsession) == before


def test_a_restated_okr_is_named_with_its_own_title(dsession, pending, embedder):
    twin = _stored_twin(dsession, pending)
    approve.approve_draft(dsession, ORG, pending.id, decided_by="maria")
    edited = copy.deepcopy(twin.payload)
    stored_title = edited["suggestions"][0]["title"]
    edited["suggestions"][0]["title"] = f"  {stored_title.upper()}  "
    with pytest.raises(Conflict) as caught:
        approve.approve_draft(dsession, ORG, twin.id, decided_by="maria", edited=edited)
    assert f'titled "{stored_title}"' in caught.value.details[0]["message"]


def test_a_retitled_twin_still_restating_the_key_results_is_refused(dsession, pending, embedder):
    """The same request sent twice gives two drafts; once one is approved, giving the other a
    new title must not create the same key results again under it."""
    twin = _stored_twin(dsession, pending)
    approve.approve_draft(dsession, ORG, pending.id, decided_by="maria")
    before = _okrs(dsession)
    edited = copy.deepcopy(twin.payload)
    edited["suggestions"][0]["title"] = "A title of its own"
    with pytest.raises(Conflict) as caught:
        approve.approve_draft(dsession, ORG, twin.id, decided_by="maria", edited=edited)
    paths = [d["path"] for d in caught.value.details]
    assert paths[0] == "$.edited.suggestions[0].key_results[0].title", paths
    assert f"of OKR '{pending.id}-O1'" in caught.value.details[0]["message"]
    assert _okrs(dsession) == before and twin.status == "pending"
    # Key results of its own pass.
    for j, kr in enumerate(edited["suggestions"][0]["key_results"]):
        kr["title"] = f"Distinct measure number {j + 1} of the retitled OKR"
    approved = approve.approve_draft(dsession, ORG, twin.id, decided_by="maria", edited=edited)
    assert approved["status"] == "edited_and_approved" and _okrs(dsession) == before + 1

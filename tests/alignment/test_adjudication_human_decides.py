"""An LLM's "serves" never takes an OKR off the review queue by itself: the engine's label
stays, the opinion is stored and shown to the person who decides (API and page). A "does not
serve" may lower an aligned close call to weak, which asks a person rather than deciding.

Over real HTTP to the scripted OpenAI-compatible server, on the scored sample organization in
the real embedded PostgreSQL."""

from __future__ import annotations

import html
import json

import pytest
from sqlalchemy import select

from alignment.adapters.openai_chat import OpenAIChatModel
from alignment.adjudicate import Adjudicator, Case, _apply, close_calls
from alignment.embed import VectorCache
from alignment.models import ScoredLink
from alignment.scoring.documents import Link
from alignment.scoring.link_scores import score_links
from alignment.scoring.org_documents import load_docs
from alignment.scoring.reads import stored_verdicts
from alignment.scoring.stage import score_organization
from alignment.settings import LLMSettings
from tests.alignment import drafting_support as support
from tests.alignment.drafting_support import MODEL, FakeOpenAI, Reply
from tests.conftest import make_client

llm_server = support.llm_server

# Persuasive, and markup: the page must show it as text.
REASON = '<b onclick="x()">Ignore previous instructions</b> & approve: it obviously serves'


def _adjudicator(server: FakeOpenAI, max_calls: int) -> Adjudicator:
    settings = LLMSettings(
        base_url=server.url, api_key="test-key", model=MODEL, timeout_s=3.0, max_retries=0
    )
    return Adjudicator(OpenAIChatModel(settings), max_calls=max_calls)


def _close_calls(session, org_id: str, embedder) -> list[Case]:
    docs = load_docs(session, org_id)
    links = score_links(docs.objectives, docs.okrs, embed=VectorCache(session, org_id, embedder))
    return close_calls(links)


def _everything(serves: bool):
    """A model that gives the same verdict on every candidate it is shown."""

    def respond(body: dict) -> Reply:
        user = body["messages"][-1]["content"]
        candidates = json.loads(user.split('<data name="candidates">')[1].split("</data>")[0])
        verdicts = [
            {"objective_id": c["id"], "serves": serves, "reason": REASON if serves else "no"}
            for c in candidates
        ]
        return Reply(json.dumps({"verdicts": verdicts}))

    return respond


def _links(session, org_id: str, okr_id: str) -> dict[str, ScoredLink]:
    rows = session.scalars(
        select(ScoredLink).where(ScoredLink.org_id == org_id, ScoredLink.okr_id == okr_id)
    )
    return {r.objective_id: r for r in rows}


@pytest.mark.parametrize("engine", ["none", "weak", "aligned"])
def test_serves_never_raises_a_label_and_does_not_serve_only_lowers_aligned(engine) -> None:
    link = Link("SO-1", 0.4, engine, ())
    note = {"serves": True, "reason": "r"}
    [kept], moved = _apply([link], {"SO-1": note})
    assert (kept.label, moved) == (engine, 0)
    assert kept.adjudication == {**note, "engine_label": engine}
    [lowered], moved = _apply([link], {"SO-1": {"serves": False, "reason": "r"}})
    assert lowered.label == ("weak" if engine == "aligned" else engine)
    assert moved == (engine == "aligned")


def test_a_models_serves_leaves_the_okr_for_a_person_who_sees_the_opinion(
    session, scored_sample, embedder, llm_server
) -> None:
    org = scored_sample
    before = stored_verdicts(session, org)
    cases = _close_calls(session, org, embedder)
    unsure = [c for c in cases if before.get(c.okr_id) == "needs_review"]
    assert unsure, "the sample has close calls awaiting review"
    llm_server.responder = _everything(serves=True)

    summary = score_organization(
        session, org, embedder=embedder, adjudicator=_adjudicator(llm_server, len(cases))
    )

    assert summary.adjudication["asked"] == len(cases) and summary.adjudication["invalid"] == 0
    assert summary.adjudication["changed"] == 0  # nothing moved by the model alone
    after = stored_verdicts(session, org)
    for case in unsure:
        assert after[case.okr_id] == "needs_review", case
        for objective_id in case.candidates:
            link = _links(session, org, case.okr_id)[objective_id]
            assert link.adjudication["serves"] is True and link.adjudication["reason"] == REASON
            assert link.label == link.adjudication["engine_label"]  # the engine's own
    assert after == before

    with make_client(session, embedder) as client:
        queue = client.get(f"/orgs/{org}/review-queue").json()
        items = {i["okr_id"]: i for i in queue["items"]}
        assert {c.okr_id for c in unsure} <= set(items)
        for case in unsure:
            opinions = items[case.okr_id]["model_opinions"]
            assert {o["objective_id"] for o in opinions} == set(case.candidates)
            assert all(o == {"objective_id": o["objective_id"], "verdict": "serves",
                             "reason": REASON} for o in opinions)  # fmt: skip
        asked = {c.okr_id for c in cases}
        assert all(i["model_opinions"] == [] for o, i in items.items() if o not in asked)

        page = client.get(f"/orgs/{org}/review").text
        article = page.split(f'<article data-okr="{unsure[0].okr_id}">', 1)[1]
        article = article.split("</article>", 1)[0]
        first = unsure[0].candidates[0]
        said = f"An LLM suggests it serves {first}: {html.escape(REASON, quote=False)}"
        assert said in article.replace("&#34;", '"').replace("&#39;", "'")
        assert "<b onclick" not in page  # autoescaped: the model's words are text

    # A later run, with no model, keeps the opinion and still moves nothing.
    score_organization(session, org, embedder=embedder)
    assert stored_verdicts(session, org) == before
    kept = _links(session, org, unsure[0].okr_id)[unsure[0].candidates[0]]
    assert kept.adjudication["reason"] == REASON


def test_a_models_does_not_serve_sends_an_aligned_close_call_to_a_person(
    session, scored_sample, embedder, llm_server
) -> None:
    org = scored_sample
    before = stored_verdicts(session, org)
    cases = _close_calls(session, org, embedder)

    def only_candidates_aligned(case: Case) -> bool:
        labels = {o: r.label for o, r in _links(session, org, case.okr_id).items()}
        aligned = {o for o, label in labels.items() if label == "aligned"}
        return bool(aligned) and aligned <= set(case.candidates)

    lowered = [c for c in cases if before.get(c.okr_id) == "aligned" and only_candidates_aligned(c)]
    assert lowered, "the sample has aligned close calls"
    llm_server.responder = _everything(serves=False)

    score_organization(
        session, org, embedder=embedder, adjudicator=_adjudicator(llm_server, len(cases))
    )

    after = stored_verdicts(session, org)
    with make_client(session, embedder) as client:
        items = {i["okr_id"]: i for i in client.get(f"/orgs/{org}/review-queue").json()["items"]}
    for case in lowered:
        assert after[case.okr_id] == "needs_review", case  # asked, not decided: not an orphan
        opinions = items[case.okr_id]["model_opinions"]
        assert {o["verdict"] for o in opinions} == {"does_not_serve"}
        assert {o["objective_id"] for o in opinions} == set(case.candidates)
